// Package engine_test exercises internal/docker against the real Docker engine: helper lifecycle, exec,
// file copy and the Bolt tunnel. No registry is needed: TestMain builds a small image FROM scratch
// out of the host's bash, coreutils and find (with their libraries) and a static echo server.
package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

const (
	testImage = "infrahubdb-e2e-engine:test"
	// testLabel marks every container these tests create, so TestMain can remove leftovers.
	testLabel = "org.opsmill.infrahubdb.e2e-engine"
)

// hostTools are copied into the test image; the neo4j image has all of them (id: the conformance
// suite's exec as a given user).
var hostTools = []string{"bash", "sleep", "cat", "find", "timeout", "mkdir", "mv", "rm", "chmod", "chown", "stat", "id"}

func TestMain(m *testing.M) {
	if err := buildImage(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e/engine: building the test image:", err)
		os.Exit(1)
	}
	code := m.Run()
	removeTestContainers()
	os.Exit(code)
}

func newAPI() (client.APIClient, error) {
	return client.New(client.FromEnv)
}

func newEngine(t *testing.T) (*docker.Engine, client.APIClient) {
	t.Helper()
	api, err := newAPI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Close() })
	return docker.New(api), api
}

// buildImage imports a root filesystem made of the host tools, their shared libraries and the
// echo server as testImage.
func buildImage() error {
	tmp, err := os.MkdirTemp("", "e2e-engine")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	echo := filepath.Join(tmp, "echoserver")
	build := exec.Command("go", "build", "-o", echo, "./echoserver")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build echoserver: %v: %s", err, out)
	}

	files := map[string]string{"/echoserver": echo} // path in image -> path on host
	for _, tool := range hostTools {
		bin, err := exec.LookPath(tool)
		if err != nil {
			return err
		}
		files["/usr/bin/"+tool] = bin
		libs, err := sharedLibraries(bin)
		if err != nil {
			return err
		}
		for _, lib := range libs {
			files[lib] = lib
		}
	}

	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	for _, dir := range []string{"/tmp", "/data", "/etc"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir[1:] + "/", Typeflag: tar.TypeDir, Mode: 0o1777}); err != nil {
			return err
		}
	}
	for dst, src := range files {
		content, err := os.ReadFile(src) // follows symlinks
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: dst[1:], Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(content))}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}

	api, err := newAPI()
	if err != nil {
		return err
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := api.ImageImport(ctx, client.ImageImportSource{Source: &rootfs, SourceName: "-"}, testImage, client.ImageImportOptions{})
	if err != nil {
		return err
	}
	defer res.Close()
	out, err := io.ReadAll(res)
	if err != nil {
		return err
	}
	if strings.Contains(string(out), `"error"`) {
		return fmt.Errorf("import: %s", out)
	}
	return nil
}

var lddPath = regexp.MustCompile(`(/\S+) \(0x`)

// sharedLibraries lists the absolute paths of the libraries (and loader) bin needs, from ldd.
func sharedLibraries(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	var libs []string
	for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
		libs = append(libs, m[1])
	}
	return libs, nil
}

func removeTestContainers() {
	api, err := newAPI()
	if err != nil {
		return
	}
	defer api.Close()
	ctx := context.Background()
	res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", testLabel)})
	if err != nil {
		return
	}
	for _, c := range res.Items {
		_, _ = api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
}
