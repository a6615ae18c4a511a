package cli

import (
	"errors"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
)

// --yes without a guardian is refused where the run would stop something
// (the consent point that --yes skipped), not before: a run that reaches
// no consent point (an Enterprise online backup) goes on.
func TestRefuseUnguardedStandsForTheSkippedQuestion(t *testing.T) {
	refusal := withCode(ExitEnvironment, errors.New("no guardian can watch this run"))

	ask := refuseUnguarded[*backup.DumpPlan](nil, refusal)
	assert.Assert(t, ask != nil, "--yes and no guardian: the outage is refused")
	ok, err := ask(&backup.DumpPlan{})
	assert.Check(t, !ok)
	assert.Check(t, is.Equal(exitCode(err), ExitEnvironment))

	assert.Check(t, refuseUnguarded[*backup.DumpPlan](nil, nil) == nil, "a guardian, or --no-guardian: --yes stands")

	asked := false
	question := func(*backup.DumpPlan) (bool, error) { asked = true; return true, nil }
	ask = refuseUnguarded(question, refusal)
	ok, err = ask(&backup.DumpPlan{})
	assert.Check(t, ok && err == nil && asked, "without --yes the operator answers, after the warning")
}
