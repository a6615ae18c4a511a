package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
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

// The question pauses the live display: no redraw lands on it while the
// operator reads, and the display goes on below the answer.
func TestConfirmPausesTheDisplay(t *testing.T) {
	var errOut lockedBuffer
	stdin, operator := io.Pipe()
	dockerCli, err := command.NewDockerCli(command.WithInputStream(io.NopCloser(stdin)), command.WithErrorStream(&errOut))
	assert.NilError(t, err)
	pw, err := progress.New(progress.ModeTTY, dockerCli.Err())
	assert.NilError(t, err)
	pw.Event(progress.Event{ID: "plan", Text: "Check the folder"}) // working: its spinner redraws

	answered := make(chan bool, 1)
	go func() {
		ok, err := pausedFor(pw, func() (bool, error) {
			return confirm(context.Background(), dockerCli, &restore.Plan{DatabaseContainer: "db"})
		})
		assert.Check(t, err)
		answered <- ok
	}()
	const question = "Continue? [y/N] "
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.HasSuffix(errOut.String(), question) {
			return poll.Success()
		}
		return poll.Continue("waiting for the question")
	})
	time.Sleep(350 * time.Millisecond) // three redraws of a display that would not pause
	assert.Check(t, strings.HasSuffix(errOut.String(), question), "drawn over the question: %q", errOut.String())

	_, _ = operator.Write([]byte("y\n"))
	assert.Check(t, <-answered)
	pw.Event(progress.Event{ID: "plan", Status: progress.Done})
	pw.Close()
	_, after, _ := strings.Cut(errOut.String(), question)
	assert.Check(t, strings.HasPrefix(after, "\r\x1b[J⠋ Check the folder"), "the display goes on below the answer: %q", after)
	assert.Check(t, is.Contains(after, "\x1b[1A\r\x1b[J✔ Check the folder"), "moving up over its own block only: %q", after)
}

// Ctrl-C at the question resumes the display (the restore then reports its
// cleanup) and ends as interrupted.
func TestCtrlCAtTheQuestionResumesTheDisplay(t *testing.T) {
	stdin, _ := io.Pipe()
	dockerCli, _ := promptCli(t, stdin)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var pw pauseRecorder
	_, err := pausedFor(&pw, func() (bool, error) { return confirm(ctx, dockerCli, &restore.Plan{DatabaseContainer: "db"}) })
	assert.Check(t, is.Equal(exitCode(err), ExitInterrupted))
	assert.Check(t, is.DeepEqual(pw.calls, []string{"pause", "resume"}))
}

type pauseRecorder struct {
	progress.Writer
	calls []string
}

func (p *pauseRecorder) Pause() func() {
	p.calls = append(p.calls, "pause")
	return func() { p.calls = append(p.calls, "resume") }
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The dry run says when the cache and the message queue are emptied: on
// Community, beside the safety dump.
func TestDryRunSaysWhenTheTransientServicesAreEmptied(t *testing.T) {
	for method, want := range map[string]string{
		"load":    "Emptied and started again before the applications: infrahub-cache-1, infrahub-message-queue-1 (stopped once the database and the task manager are, emptied side by side beside the safety dump)",
		"restore": "Emptied and started again before the applications: infrahub-cache-1, infrahub-message-queue-1 (stopped after the applications, emptied side by side before anything is restored)",
	} {
		var out bytes.Buffer
		dockerCli, err := command.NewDockerCli(command.WithOutputStream(&out))
		assert.NilError(t, err)
		p := &restore.Plan{DatabaseContainer: "db", Method: method, AppNames: []string{"infrahub-cache-1", "infrahub-message-queue-1", "infrahub-server-1"}, Apps: []docker.Container{
			{Name: "infrahub-cache-1", ComposeService: "cache"},
			{Name: "infrahub-message-queue-1", ComposeService: "message-queue"},
			{Name: "infrahub-server-1", ComposeService: "infrahub-server"},
		}}
		assert.NilError(t, printRestore(dockerCli, "table", &restore.Result{Plan: p, DryRun: true}))
		assert.Check(t, is.Contains(out.String(), want+"\n"), method)
	}
}
