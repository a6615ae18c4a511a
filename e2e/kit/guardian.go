package kit

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// Labels of the plugin's run lock (guardian) containers and of the records
// its guardians leave (internal/docker, internal/guardian/agent).
const (
	GuardianLabel = "org.opsmill.infrahubdb.guardian"
	RecordLabel   = "org.opsmill.infrahubdb.record"
)

// Kill is kill -9 of the client: SIGKILL to the plugin process and to the
// docker CLI that runs it, as when a laptop's session, an ssh connection
// or cron's timeout ends them; nothing of the plugin's own cleanup runs.
func (r *Running) Kill(t testing.TB) {
	t.Helper()
	r.signalGroup(t, syscall.SIGKILL)
}

// Guardians lists the run lock (guardian) containers of this database,
// running or not.
func (d *Database) Guardians(t testing.TB) []string {
	t.Helper()
	return strings.Fields(MustDocker(t, "ps", "-aq", "--no-trunc", "--filter", "label="+GuardianLabel+"="+d.ID))
}

// Records lists the volumes in which guardians recorded what they did for
// this database.
func (d *Database) Records(t testing.TB) []string {
	t.Helper()
	return strings.Fields(MustDocker(t, "volume", "ls", "-q", "--filter", "label="+RecordLabel+"="+d.ID))
}

// WaitUntil polls cond every half second until it holds or timeout passes
// (then the test fails with what, and the last state).
func WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kit: %s did not happen within %s: %s", what, timeout, state)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// removeGuardians removes what the plugin's run locks and guardians left
// for a database container: their containers and records.
func removeGuardians(t testing.TB, id string) {
	if ids := strings.Fields(Docker("ps", "-aq", "--no-trunc", "--filter", "label="+GuardianLabel+"="+id).Stdout()); len(ids) > 0 {
		removeContainers(t, ids...)
	}
	for _, v := range strings.Fields(Docker("volume", "ls", "-q", "--filter", "label="+RecordLabel+"="+id).Stdout()) {
		Docker("volume", "rm", "-f", v)
	}
}
