// Package release tests `make release`: the binaries a user downloads. It
// needs Go and make, not Docker; it lives under e2e/ because cross-compiling
// six platforms takes minutes, too long for `make test`.
package release

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// TestMakeRelease runs `make release` and checks that each binary is built
// for the platform its name says, that SHA256SUMS matches every file, and
// that the version given to make is stamped into the binary.
//
// It builds one architecture per operating system, this machine's and the
// other one for the two others (INFRAHUBDB_RELEASE_PLATFORMS=all: the six
// of a release): each build compiles every dependency for its platform,
// minutes of CPU the end-to-end tests beside it wait for, and what breaks a
// build is the operating system (syscalls, build tags), which this covers,
// and arm64 too, with the Linux arm64 guardian every release embeds. It
// runs niced, for the same reason.
func TestMakeRelease(t *testing.T) {
	dir := t.TempDir()
	const version = "v0.0.0-releasetest"
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	platforms := []string{"linux/" + runtime.GOARCH, "darwin/" + other, "windows/" + other}
	if os.Getenv("INFRAHUBDB_RELEASE_PLATFORMS") == "all" {
		platforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}
	}
	cmd := exec.Command("nice", "-n", "15", "make", "-C", "../..", "release", "RELEASE_DIR="+dir, "VERSION="+version)
	cmd.Env = append(os.Environ(), "PLATFORMS="+strings.Join(platforms, " "))
	out, err := cmd.CombinedOutput()
	assert.NilError(t, err, string(out))

	formats := map[string]string{ // file -> executable format and machine
		"docker-infrahubdb-linux-amd64":       "elf/" + elf.EM_X86_64.String(),
		"docker-infrahubdb-linux-arm64":       "elf/" + elf.EM_AARCH64.String(),
		"docker-infrahubdb-darwin-amd64":      "macho/" + macho.CpuAmd64.String(),
		"docker-infrahubdb-darwin-arm64":      "macho/" + macho.CpuArm64.String(),
		"docker-infrahubdb-windows-amd64.exe": "pe/amd64",
		"docker-infrahubdb-windows-arm64.exe": "pe/arm64",
	}
	want := map[string]string{}
	for _, p := range platforms {
		name := "docker-infrahubdb-" + strings.ReplaceAll(p, "/", "-")
		if strings.HasPrefix(p, "windows/") {
			name += ".exe"
		}
		want[name] = formats[name]
	}
	sums := readSums(t, filepath.Join(dir, "SHA256SUMS"))
	assert.Equal(t, len(sums), len(want), "SHA256SUMS: %v", sums)
	for name, arch := range want {
		path := filepath.Join(dir, name)
		assert.Equal(t, architecture(t, path), arch, name)
		assert.Equal(t, sums[name], sha256File(t, path), "SHA256SUMS line of %s", name)
	}

	// The version is stamped in: the binary of this machine's platform says
	// it in its plugin metadata, as the docker CLI reads it.
	host := "docker-infrahubdb-" + runtime.GOOS + "-" + runtime.GOARCH
	if runtime.GOOS == "windows" {
		host += ".exe"
	}
	meta, err := exec.Command(filepath.Join(dir, host), "docker-cli-plugin-metadata").Output()
	assert.NilError(t, err)
	var m struct{ Version string }
	assert.NilError(t, json.Unmarshal(meta, &m))
	assert.Equal(t, m.Version, version)

	// install.sh installs the downloaded binary without Go, checked against
	// SHA256SUMS, where the docker CLI finds it; a damaged download is refused.
	config := t.TempDir()
	install := exec.Command("../../install.sh", filepath.Join(dir, host))
	install.Env = append(withoutGo(os.Environ()), "DOCKER_CONFIG="+config)
	out, err = install.CombinedOutput()
	assert.NilError(t, err, string(out))
	assert.Assert(t, strings.Contains(string(out), "checked "+host+" against"), string(out))
	docker := exec.Command("docker", "infrahubdb", "version", "--format", "json")
	docker.Env = append(os.Environ(), "DOCKER_CONFIG="+config)
	out, err = docker.CombinedOutput()
	assert.NilError(t, err, string(out))
	assert.Assert(t, strings.Contains(string(out), `"version":"`+version+`"`), string(out))

	f, err := os.OpenFile(filepath.Join(dir, host), os.O_APPEND|os.O_WRONLY, 0)
	assert.NilError(t, err)
	_, err = f.WriteString("damaged")
	assert.NilError(t, err)
	assert.NilError(t, f.Close())
	install = exec.Command("../../install.sh", filepath.Join(dir, host))
	install.Env = append(withoutGo(os.Environ()), "DOCKER_CONFIG="+t.TempDir())
	out, err = install.CombinedOutput()
	assert.Assert(t, err != nil, string(out))
	assert.Assert(t, strings.Contains(string(out), "does not match its SHA256SUMS line"), string(out))
}

// withoutGo is the environment with a PATH that has no go command: the
// binary must install without it.
func withoutGo(env []string) []string {
	var out []string
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			var keep []string
			for _, d := range filepath.SplitList(path) {
				if _, err := os.Stat(filepath.Join(d, "go")); err != nil {
					keep = append(keep, d)
				}
			}
			kv = "PATH=" + strings.Join(keep, string(filepath.ListSeparator))
		}
		out = append(out, kv)
	}
	return out
}

// architecture names a binary's format and machine, read with Go's own
// debug packages.
func architecture(t *testing.T, path string) string {
	t.Helper()
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		return "elf/" + f.Machine.String()
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		return "macho/" + f.Cpu.String()
	}
	f, err := pe.Open(path)
	assert.NilError(t, err, "%s is neither ELF, Mach-O nor PE", path)
	defer f.Close()
	switch f.Machine {
	case pe.IMAGE_FILE_MACHINE_AMD64:
		return "pe/amd64"
	case pe.IMAGE_FILE_MACHINE_ARM64:
		return "pe/arm64"
	}
	return "pe/unknown"
}

func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	assert.NilError(t, err)
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		assert.Assert(t, ok, "SHA256SUMS line %q", sc.Text())
		sums[name] = sum
	}
	assert.NilError(t, sc.Err())
	return sums
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	assert.NilError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	assert.NilError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}
