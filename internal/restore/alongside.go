package restore

import (
	"context"
	"os"
	"sync"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// basesRun is the full safety backups taken while the chains are put into
// the helper (basesAlongside).
type basesRun struct {
	cancel context.CancelFunc
	done   chan error
	ended  bool
	err    error
}

// basesAlongside starts the full safety backups (safetyBases) beside the
// upload of the chains, when the run goes on without asking anyone once
// its checks pass: neo4j-admin writes them while the files go in, instead
// of after. It returns once neo4j-admin runs (an exec started before the
// upload: Docker 20.10 makes every exec wait for an archive transfer into
// the same container, docker.ExecSpec.Started), or with the error that
// came first. nil when the backups wait for the confirmation, or for the
// applications' step of a whole-deployment restore (handoff).
func (r *runner) basesAlongside(ctx context.Context) (*basesRun, error) {
	if r.opts.DryRun || r.opts.Confirm != nil || r.opts.handoff != nil || r.plan.SafetyDir == "" {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	b := &basesRun{cancel: cancel, done: make(chan error, 1)}
	started := make(chan struct{})
	var once sync.Once
	go func() {
		b.done <- r.safetyBases(ctx, func() { once.Do(func() { close(started) }) })
	}()
	select {
	case <-started:
		return b, nil
	case err := <-b.done: // before neo4j-admin started (nothing to take, or a failed check)
		b.ended, b.err = true, err
		cancel()
		return b, err
	}
}

// wait waits until the backups are in the safety folder and returns their
// error.
func (b *basesRun) wait() error {
	if b == nil {
		return nil
	}
	if !b.ended {
		b.err, b.ended = <-b.done, true
	}
	b.cancel()
	return b.err
}

// stop cancels the backups and waits until they have given up.
func (b *basesRun) stop() {
	if b != nil {
		b.cancel()
		_ = b.wait()
	}
}

// dropBases removes the full safety backups of a run that stopped before
// anything else changed: they are copies of data left as it was.
func (r *runner) dropBases() {
	if r.safety == nil || len(r.bases) == 0 {
		return
	}
	m, err := r.safety.ReadManifest()
	if err != nil {
		return
	}
	var names []string
	for _, sc := range r.bases {
		names = append(names, sc.files...)
	}
	if r.safety.Delete(m, names...) != nil {
		return
	}
	r.bases = nil
	if len(m.Files) == 0 {
		// Nothing else in it: closeSession removes the folder once empty.
		_ = os.Remove(r.safety.Path(backupset.ManifestName))
	}
}
