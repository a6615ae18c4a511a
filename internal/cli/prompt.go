package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/cli/command"

	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// pausedFor asks a question with the progress display paused: pausing is
// the display's business (progress.Pause), which alone knows how to stop
// drawing over the question and go on below the answer. The display
// resumes however ask returns, Ctrl-C included.
func pausedFor(pw progress.Writer, ask func() (bool, error)) (bool, error) {
	resume := progress.Pause(pw)
	defer resume()
	return ask()
}

// askContinue asks "Continue? [y/N]" on the terminal and reads the answer.
// Ctrl-C ends the wait (the command's context is cancelled) instead of being
// swallowed: a read of stdin cannot be cancelled, so it is left behind.
func askContinue(ctx context.Context, dockerCli command.Cli) (bool, error) {
	out := dockerCli.Err()
	fmt.Fprint(out, "Continue? [y/N] ")
	type reply struct {
		line string
		err  error
	}
	replies := make(chan reply, 1)
	go func() {
		line, err := bufio.NewReader(dockerCli.In()).ReadString('\n')
		replies <- reply{line, err}
	}()
	var r reply
	select {
	case <-ctx.Done():
		fmt.Fprintln(out)
		return false, ctx.Err()
	case r = <-replies:
	}
	if r.err != nil && r.err != io.EOF {
		return false, r.err
	}
	answer := strings.ToLower(strings.TrimSpace(r.line))
	return answer == "y" || answer == "yes", nil
}
