package helper_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// neo4j-admin's exec stream breaks: the error names why. A helper removed
// from outside is said so; an engine that stopped answering (the ssh link
// to a remote engine cut) is not taken for a removed helper, which may
// still run there; a helper still running leaves the error as it is.
func TestAdminNamesWhyTheHelperWentAway(t *testing.T) {
	unreachable := fmt.Errorf("%w at ssh://infra@host: error during connect: EOF", docker.ErrDaemonUnreachable)
	for _, tc := range []struct {
		name      string
		lose      func(e *helpertest.Engine)
		want, not []string
	}{
		{
			name: "removed from outside", lose: func(e *helpertest.Engine) { e.Helpers[0].Lose() },
			want: []string{"the helper container infrahubdb-backup-x was removed or stopped from outside while neo4j-admin database dump ran", "exec stream ended"},
			not:  []string{"answering"},
		},
		{
			name: "engine unreachable", lose: func(e *helpertest.Engine) { e.Unreachable = unreachable },
			want: []string{"the Docker engine stopped answering while neo4j-admin database dump ran in the helper container infrahubdb-backup-x", "cannot reach the Docker daemon", "check the link to the Docker host", "exec stream ended"},
			not:  []string{"removed", "from outside"},
		},
		{
			name: "still running", lose: func(*helpertest.Engine) {},
			want: []string{"exec stream ended"},
			not:  []string{"removed", "answering"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			eng := helpertest.New()
			h, err := eng.StartHelper(ctx, docker.HelperSpec{Name: "infrahubdb-backup-x"})
			assert.NilError(t, err)
			eng.Faults["database dump"] = &helpertest.Fault{Err: errors.New("exec stream ended: EOF"), Hook: func() { tc.lose(eng) }}
			_, err = helper.On(h, progress.Nop).Admin(ctx, helper.AdminRun{ID: "dump", Text: "dump", Args: []string{"database", "dump", "neo4j"}})
			assert.Assert(t, err != nil)
			for _, w := range tc.want {
				assert.Check(t, is.ErrorContains(err, w))
			}
			for _, n := range tc.not {
				assert.Check(t, !strings.Contains(err.Error(), n), "%v", err)
			}
		})
	}
}
