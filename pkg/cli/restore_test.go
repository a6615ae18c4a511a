package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/pkg/restore"
)

func promptCli(t *testing.T, in io.Reader) (command.Cli, *bytes.Buffer) {
	t.Helper()
	var errOut bytes.Buffer
	dockerCli, err := command.NewDockerCli(command.WithInputStream(io.NopCloser(in)), command.WithErrorStream(&errOut))
	assert.NilError(t, err)
	return dockerCli, &errOut
}

// Ctrl-C at the confirmation prompt (the command context is cancelled)
// ends the wait at once: the restore cleans up and exits as interrupted.
func TestConfirmHonoursCtrlC(t *testing.T) {
	stdin, _ := io.Pipe() // an operator who never answers
	dockerCli, _ := promptCli(t, stdin)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)

	done := make(chan error, 1)
	go func() {
		_, err := confirm(ctx, dockerCli, &restore.Plan{DatabaseContainer: "db"})
		done <- err
	}()
	select {
	case err := <-done:
		assert.Check(t, errors.Is(err, context.Canceled), "got %v", err)
		assert.Check(t, is.Equal(exitCode(err), ExitInterrupted))
	case <-time.After(5 * time.Second):
		t.Fatal("the prompt ignored Ctrl-C")
	}
}

func TestConfirmReadsTheAnswer(t *testing.T) {
	for answer, want := range map[string]bool{"y\n": true, "YES\n": true, "n\n": false, "\n": false, "": false} {
		dockerCli, errOut := promptCli(t, strings.NewReader(answer))
		ok, err := confirm(context.Background(), dockerCli, &restore.Plan{DatabaseContainer: "db"})
		assert.NilError(t, err)
		assert.Check(t, is.Equal(ok, want), "%q", answer)
		assert.Check(t, is.Contains(errOut.String(), "Continue? [y/N] "))
	}
}
