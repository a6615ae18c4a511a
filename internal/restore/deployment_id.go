package restore

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// resetDeploymentID gives the restored graph in db a new deployment
// identity (--new-deployment-id): a copy of production restored into
// staging must not present itself as production. It runs while the
// applications are still stopped, so none reads and caches the old id
// (OpsMill's tool does the same, before it starts them). A database with
// no Root node is not Infrahub's graph: its identity is left as it is.
func (r *runner) resetDeploymentID(ctx context.Context, db string) error {
	if !r.opts.NewDeploymentID {
		return nil
	}
	if r.res.DeploymentID == "" {
		r.res.DeploymentID = newUUID()
	}
	step := progress.Event{ID: "deployment-id " + db, Text: "Give the graph in " + db + " a new deployment id"}
	return progress.RunStep(r.pw, step, func(s *progress.Step) error {
		n, err := r.admin.ResetDeploymentID(ctx, db, r.res.DeploymentID, time.Now().UTC().Format(time.RFC3339))
		switch {
		case err != nil:
			return err
		case n == 0:
			s.End(progress.Done, "no Root node: not Infrahub's graph, left as it is")
		default:
			s.End(progress.Done, r.res.DeploymentID)
		}
		return nil
	})
}

// newUUID is a random (version 4) UUID, the form of Infrahub's ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
