package restore

import (
	"context"
	"slices"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// A handoff carries a whole-deployment restore's graph checks to its graph
// run (RunSet): the helper the checks started, with the chains or dumps
// they put into it (checked as they went in), is the helper the run goes on
// with. The graph then goes into the helper once, before anything stops,
// rather than a second time inside the applications' outage; and a restore
// that reads its run from a location streams it from there once.
type handoff struct {
	session *helper.Session
	staged  map[string][]string // database -> the files put into the helper for it
	// takeBases, set by checks that passed on Neo4j Enterprise, takes the
	// full safety backups in the helper (runner.safetyBases), before the
	// applications stop; bases and safety are what it took, for the run.
	takeBases func(ctx context.Context, safetyDir string) error
	bases     map[string]*safetyCopy
	safety    *backupset.Folder
}

// keep takes the helper of checks that passed; the run takes it next.
func (h *handoff) keep(s *helper.Session) {
	h.session = s
}

// safetyBases takes the full safety backups of the graph's databases
// into safetyDir and the helper kept, before anything stops (a no-op
// without such a helper: Neo4j Community's dumps are taken offline).
func (h *handoff) safetyBases(ctx context.Context, safetyDir string) error {
	if h == nil || h.session == nil || h.takeBases == nil || safetyDir == "" {
		return nil
	}
	if running, err := h.session.Helper.Running(ctx); err != nil || !running {
		// Gone meanwhile: the run starts its own helper (take), and
		// takes its safety backup whole, as without a handoff.
		return nil
	}
	return h.takeBases(ctx, safetyDir)
}

// record notes that files were put into the helper for database db.
func (h *handoff) record(db string, files []string) {
	if h == nil {
		return
	}
	if h.staged == nil {
		h.staged = map[string][]string{}
	}
	h.staged[db] = slices.Clone(files)
}

// take gives the run the helper the checks kept, if it still runs; nil
// when there is none (the run starts its own and puts everything in again).
// A helper that is gone (removed or stopped from outside meanwhile) is
// released here and what it held forgotten.
func (h *handoff) take(ctx context.Context) *helper.Session {
	if h == nil || h.session == nil {
		return nil
	}
	s := h.session
	h.session = nil
	if running, err := s.Helper.Running(ctx); err != nil || !running {
		s.Close(ctx)
		h.staged, h.bases = nil, nil
		return nil
	}
	return s
}

// has says whether the helper taken holds exactly files for database db.
func (h *handoff) has(db string, files []string) bool {
	if h == nil {
		return false
	}
	got, ok := h.staged[db]
	return ok && slices.Equal(got, files)
}

// close removes a helper nobody took (the run failed or was declined
// before its graph step).
func (h *handoff) close(ctx context.Context) {
	if h != nil && h.session != nil {
		h.session.Close(ctx)
		h.session = nil
	}
}
