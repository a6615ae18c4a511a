package cli

import (
	"context"
	"errors"
	"fmt"
	"testing"

	dockercli "github.com/docker/cli/cli"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestInterruptedErrorsNameTheSignal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{context.Canceled, "Error: interrupted (Ctrl-C or SIGTERM)"},
		{fmt.Errorf("neo4j-admin database backup: %w", context.Canceled), "Error: interrupted (Ctrl-C or SIGTERM): neo4j-admin database backup: interrupted"},
		{errors.Join(context.Canceled, errors.New("restore of database neo4j failed\nthe database was rolled back")),
			"Error: interrupted (Ctrl-C or SIGTERM)\nrestore of database neo4j failed\nthe database was rolled back"},
	} {
		var se dockercli.StatusError
		assert.Assert(t, errors.As(toStatusError(tc.err), &se))
		assert.Check(t, is.Equal(se.StatusCode, ExitInterrupted))
		assert.Check(t, is.Equal(se.Status, tc.want))
	}
}
