package guardian

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// embedded returns the guardian binary built for linux/arch, or nil; it is
// set only in builds with the guardian_embed tag (make build), whose
// binaries are generated first.
var embedded func(arch string) []byte

// Binary returns a static guardian program for the daemon's platform and
// where it comes from: the one embedded by make build, else the plugin's
// own executable (which runs as the guardian with agent.Arg) when it is a
// static binary of that very platform.
func Binary(daemonOS, arch string) (bin *docker.Program, source string, err error) {
	if daemonOS != "linux" {
		return nil, "", fmt.Errorf("the Docker daemon runs %s containers; the guardian is a Linux program", daemonOS)
	}
	if embedded != nil {
		if b := embedded(arch); b != nil {
			return &docker.Program{Size: int64(len(b)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}, "embedded", nil
		}
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != arch {
		return nil, "", fmt.Errorf("this build of the plugin carries no guardian for linux/%s (the plugin runs on %s/%s); install a release built with 'make build', which embeds one per architecture", arch, runtime.GOOS, runtime.GOARCH)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("find the plugin's own binary: %w", err)
	}
	if err := static(exe); err != nil {
		return nil, "", err
	}
	st, err := os.Stat(exe)
	if err != nil {
		return nil, "", fmt.Errorf("read the plugin's own binary: %w", err)
	}
	// Opened when it is copied, and streamed: never held in memory.
	return &docker.Program{Size: st.Size(), Open: func() (io.ReadCloser, error) { return os.Open(exe) }}, "plugin binary", nil
}

// static fails unless the ELF file at path needs no dynamic loader: the
// guardian runs in whatever image is on the host, maybe FROM scratch.
func static(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("read the plugin's own binary: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("the plugin binary %s is dynamically linked and cannot run as the guardian in another image; build it with CGO_ENABLED=0 (make build)", path)
		}
	}
	return nil
}
