package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExecSpec is a command to run in a helper. Secrets go in Env, which reaches the process without
// appearing in its arguments, the container's config or the exec's inspect output.
type ExecSpec struct {
	Cmd        []string
	Env        []string
	User       string
	WorkingDir string
	Stdin      io.Reader // nil: no stdin
	Stdout     io.Writer // nil: discarded
	Stderr     io.Writer // nil: discarded
	// Started, when set, is called once the daemon started the command,
	// before its output is read. Docker 20.10 holds a container's lock
	// for the whole of an archive transfer, and an exec's create and
	// start wait for it: a caller that wants a command to run beside a
	// transfer into the same container starts the transfer after this.
	Started func()
}

// ExecIn runs a command in any running container, like Helper.Exec.
func (e *Engine) ExecIn(ctx context.Context, containerID string, spec ExecSpec) (int, error) {
	return (&Helper{id: containerID, engine: e}).Exec(ctx, spec)
}

// Exec runs a command in the helper and returns its exit code once its output has been copied.
// When ctx is cancelled it returns at once with ctx's error; the process keeps running until the
// helper is removed. If Stdin blocks after the command exited, the goroutine copying it stays
// blocked until the reader returns.
func (h *Helper) Exec(ctx context.Context, spec ExecSpec) (int, error) {
	if len(spec.Cmd) == 0 {
		return -1, fmt.Errorf("exec in %s: no command", h.name)
	}
	api := h.engine.api
	created, err := api.ExecCreate(ctx, h.id, client.ExecCreateOptions{
		Cmd:          spec.Cmd,
		Env:          spec.Env,
		User:         spec.User,
		WorkingDir:   spec.WorkingDir,
		AttachStdin:  spec.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return -1, fmt.Errorf("exec %s in %s: %w", spec.Cmd[0], h.name, h.engine.wrap(err))
	}
	att, err := api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("exec %s in %s: %w", spec.Cmd[0], h.name, h.engine.wrap(err))
	}
	defer att.Close()
	if spec.Started != nil {
		spec.Started()
	}
	// The hijacked connection ignores ctx once established; closing it unblocks the copies.
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()

	if spec.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, spec.Stdin)
			_ = att.CloseWrite()
		}()
	}
	_, err = stdcopy.StdCopy(orDiscard(spec.Stdout), orDiscard(spec.Stderr), att.Reader)
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if err != nil {
		return -1, fmt.Errorf("exec %s in %s: reading output: %w", spec.Cmd[0], h.name, err)
	}
	return h.exitCode(ctx, created.ID)
}

// exitCode waits for the exec to be reported as finished: its output may end a moment before the
// daemon records the exit code.
func (h *Helper) exitCode(ctx context.Context, execID string) (int, error) {
	delay := 5 * time.Millisecond
	for {
		res, err := h.engine.api.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return -1, h.engine.wrap(err)
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
