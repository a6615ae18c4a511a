package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestRecoveryStartsInReverseStopOrder(t *testing.T) {
	var s State
	for _, m := range []Message{
		{Op: OpHello, Target: "db", Owner: "h:1", Command: "backup"},
		{Op: OpStopping, ID: "w", Name: "task-worker", Role: RoleApp, StopTimeout: 30 * time.Second},
		{Op: OpStopping, ID: "s", Name: "infrahub-server", Role: RoleApp},
		{Op: OpStopping, ID: "s", Name: "infrahub-server", Role: RoleApp}, // told twice: once
		{Op: OpStopping, ID: "db", Name: "database", Role: RoleDatabase, StopTimeout: 2 * time.Minute},
	} {
		s.Apply(m)
	}
	var got []string
	for _, a := range s.Recovery() {
		got = append(got, a.Kind+" "+a.Target.Name)
	}
	assert.DeepEqual(t, got, []string{
		"stop-helpers ",
		"stop task-worker", "stop infrahub-server", "stop database",
		"start database", "start infrahub-server", "start task-worker",
	})
	assert.Check(t, is.Contains(s.DataState(), "old"))
}

func TestRecoveryForgetsWhatTheRunStartedAgain(t *testing.T) {
	var s State
	s.Apply(Message{Op: OpStopping, ID: "a", Name: "app"})
	s.Apply(Message{Op: OpStopping, ID: "db", Name: "database", Role: RoleDatabase})
	s.Apply(Message{Op: OpStarted, ID: "db"})
	s.Apply(Message{Op: OpStarted, ID: "a"})
	assert.Check(t, is.Len(s.Recovery(), 0), "nothing stopped: nothing to do")
}

// fakeEngine records the guardian's calls.
type fakeEngine struct {
	mu        sync.Mutex
	calls     []string
	timeouts  map[string]time.Duration // the stop timeout of each container stopped
	stopped   map[string]bool
	gone      map[string]bool // containers inspect no longer finds
	helpers   [][]string      // what each listing of helpers finds in turn (else helper1)
	volumes   map[string]map[string]string
	execFails bool
}

func (f *fakeEngine) log(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }
func (f *fakeEngine) inspect(_ context.Context, id string) (containerState, error) {
	var c containerState
	c.Name = "/" + id
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone[id] {
		return c, errors.New("no such container: " + id)
	}
	c.State.Running = !f.stopped[id]
	return c, nil
}
func (f *fakeEngine) stop(_ context.Context, id string, timeout time.Duration) error {
	f.log("stop " + id)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timeouts == nil {
		f.timeouts, f.stopped = map[string]time.Duration{}, map[string]bool{}
	}
	f.timeouts[id] = timeout
	f.stopped[id] = true
	return nil
}
func (f *fakeEngine) start(_ context.Context, id string) error {
	f.log("start " + id)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.stopped, id)
	return nil
}
func (f *fakeEngine) listIDs(_ context.Context, labels ...string) ([]string, error) {
	f.log("list " + strings.Join(labels, ","))
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.helpers) > 0 {
		ids := f.helpers[0]
		f.helpers = f.helpers[1:]
		return ids, nil
	}
	return []string{"helper1"}, nil
}
func (f *fakeEngine) createVolume(_ context.Context, name string, labels map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.volumes == nil {
		f.volumes = map[string]map[string]string{}
	}
	f.volumes[name] = labels
	return nil
}

func (f *fakeEngine) execState(_ context.Context, id string) (bool, int, string, error) {
	f.log("wait " + id)
	return false, 0, "neo4j-admin", nil
}
func (f *fakeEngine) execRun(_ context.Context, container string, c Command) (int, string, error) {
	f.log("exec " + container + " as " + c.User + ": " + strings.Join(c.Cmd, " "))
	if f.execFails {
		return 1, "find: cannot delete", nil
	}
	return 0, "", nil
}
func (f *fakeEngine) putArchive(_ context.Context, container, dir string, r io.Reader) error {
	b, err := io.ReadAll(r)
	f.log("put " + container + ":" + dir + " " + string(b))
	return err
}

func lines(ms ...Message) io.Reader {
	var b bytes.Buffer
	for _, m := range ms {
		_ = json.NewEncoder(&b).Encode(m)
	}
	return &b
}

func TestGuardActsWhenTheInputEnds(t *testing.T) {
	f := &fakeEngine{}
	in := lines(
		Message{Op: OpHello, Seq: 1, Target: "db", Owner: "h:1", Command: "backup", Socket: "/var/run/docker.sock"},
		Message{Op: OpStopping, Seq: 2, ID: "app", Name: "app", StopTimeout: 30 * time.Second},
		Message{Op: OpStopping, Seq: 3, ID: "db", Name: "database", Role: RoleDatabase},
	)
	var out bytes.Buffer
	err := Guard(in, &out, func(string) Engine { return f }, "self")
	assert.NilError(t, err)
	assert.Check(t, is.Contains(out.String(), `"armed":true`))
	helpers := "list " + LabelHelper + "," + LabelOwner + "=h:1"
	assert.DeepEqual(t, f.calls, []string{
		helpers, "stop helper1",
		"stop app", "stop db", "start db", "start app",
		helpers, // helper1 is stopped already
	})
	// A helper's PID 1 (sleep) ignores SIGTERM and its exec'd work never
	// gets it: a stop timeout would only lengthen the outage.
	assert.Check(t, is.Equal(f.timeouts["helper1"], time.Duration(0)))
	assert.Check(t, is.Equal(f.timeouts["app"], 30*time.Second), "the deployment's containers stop as the run stopped them")
	assert.Assert(t, is.Len(f.volumes, 1))
	for _, labels := range f.volumes {
		var rec Record
		assert.NilError(t, json.Unmarshal([]byte(labels[LabelRecordJSON]), &rec))
		assert.Check(t, is.Equal(labels[LabelRecord], "db"))
		assert.Check(t, is.DeepEqual(rec.Started, []string{"database", "app"}))
		assert.Check(t, is.DeepEqual(rec.Helpers, []string{"helper1"}))
		assert.Check(t, is.Contains(rec.Cause, "connection"))
	}
}

func TestGuardPutsTheSafetyCopyBackFirst(t *testing.T) {
	f := &fakeEngine{}
	load := Command{User: "7474:7474", Cmd: []string{"neo4j-admin", "database", "load", "--from-path=/backups/keep/neo4j", "neo4j"}}
	in := lines(
		Message{Op: OpHello, Seq: 1, Target: "db", Owner: "h:1", Command: "restore", Socket: "/s"},
		Message{Op: OpStopping, Seq: 2, ID: "db", Name: "database", Role: RoleDatabase},
		Message{Op: OpReplacing, Seq: 3, Helper: "helper1", PutBack: []Command{load}},
	)
	assert.NilError(t, Guard(in, io.Discard, func(string) Engine { return f }, "self"))
	assert.Assert(t, len(f.calls) > 2)
	assert.DeepEqual(t, f.calls[:1], []string{"exec helper1 as 7474:7474: " + strings.Join(load.Cmd, " ")})
	assert.Check(t, is.Equal(f.calls[len(f.calls)-2], "start db"))
	for _, labels := range f.volumes {
		assert.Check(t, is.Contains(labels[LabelRecordJSON], "old: the guardian put the safety copy back"))
	}
}

// TestGuardStopsAHelperThatStartedLate: a helper whose start the client
// sent just before it died can be up only after the guardian stopped the
// run's helpers; the guardian stops it once the deployment runs again.
func TestGuardStopsAHelperThatStartedLate(t *testing.T) {
	f := &fakeEngine{helpers: [][]string{{"helper1"}, {"helper1", "late", "removed"}}, gone: map[string]bool{"removed": true}}
	in := lines(
		Message{Op: OpHello, Seq: 1, Target: "db", Owner: "h:1", Command: "restore", Socket: "/s"},
		Message{Op: OpStopping, Seq: 2, ID: "db", Name: "database", Role: RoleDatabase},
	)
	assert.NilError(t, Guard(in, io.Discard, func(string) Engine { return f }, "self"))
	helpers := "list " + LabelHelper + "," + LabelOwner + "=h:1"
	assert.DeepEqual(t, f.calls, []string{helpers, "stop helper1", "stop db", "start db", helpers, "stop late"})
	assert.Check(t, is.Equal(f.timeouts["late"], time.Duration(0)))
	assert.Assert(t, is.Len(f.volumes, 1))
	for _, labels := range f.volumes {
		var rec Record
		assert.NilError(t, json.Unmarshal([]byte(labels[LabelRecordJSON]), &rec))
		assert.Check(t, is.DeepEqual(rec.Helpers, []string{"helper1", "late"}))
		assert.Check(t, is.Len(rec.Failed, 0), "a helper gone meanwhile is no failure")
	}
}

func TestRestoreDataStates(t *testing.T) {
	s := State{Hello: Message{Command: "restore"}}
	s.Apply(Message{Op: OpStopping, ID: "db", Role: RoleDatabase})
	assert.Check(t, is.Contains(s.DataState(), "old: the restore was lost before it replaced"))
	s.Apply(Message{Op: OpReplacing, Helper: "h"})
	assert.Check(t, is.Contains(s.DataState(), "without a safety copy"))
	s.Apply(Message{Op: OpReplacing, Helper: "h", PutBack: []Command{{Cmd: []string{"load"}}}})
	assert.Check(t, is.Contains(s.DataState(), "could not put the safety copy back"))
	s.PutBackDone = true
	assert.Check(t, is.Contains(s.DataState(), "old: the guardian put"))
}

func TestGuardDoesNothingWhenDone(t *testing.T) {
	f := &fakeEngine{}
	in := lines(
		Message{Op: OpHello, Seq: 1, Target: "db", Socket: "/s"},
		Message{Op: OpStopping, Seq: 2, ID: "db", Role: RoleDatabase},
		Message{Op: OpDone, Seq: 3},
	)
	assert.NilError(t, Guard(in, io.Discard, func(string) Engine { return f }, "self"))
	assert.Check(t, is.Len(f.calls, 0))
	assert.Check(t, is.Len(f.volumes, 0))
}

func TestGuardWithoutSocketIsOnlyALock(t *testing.T) {
	in := lines(Message{Op: OpHello, Seq: 1, Target: "db"}, Message{Op: OpStopping, Seq: 2, ID: "db"})
	var out bytes.Buffer
	assert.NilError(t, Guard(in, &out, func(string) Engine { t.Fatal("no socket: no engine"); return nil }, "self"))
	assert.Check(t, !strings.Contains(out.String(), `"armed":true`))
}

func TestGuardActsWhenTheHeartbeatStops(t *testing.T) {
	f := &fakeEngine{}
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan error, 1)
	go func() { done <- Guard(pr, io.Discard, func(string) Engine { return f }, "self") }()
	enc := json.NewEncoder(pw)
	assert.NilError(t, enc.Encode(Message{Op: OpHello, Seq: 1, Target: "db", Socket: "/s", Grace: 50 * time.Millisecond}))
	assert.NilError(t, enc.Encode(Message{Op: OpStopping, Seq: 2, ID: "db", Name: "database", Role: RoleDatabase}))
	// Then silence, with the connection open (a frozen client).
	assert.NilError(t, <-done)
	assert.Check(t, is.Contains(strings.Join(f.calls, ";"), "start db"))
}

// A whole-deployment restore lost while it replaced the storage, after the
// task manager: the record says the task manager holds the backup's data
// and the storage is torn, with the command that puts its safety copy back.
func TestComponentStatesOfALostWholeRestore(t *testing.T) {
	var s State
	s.Apply(Message{Op: OpHello, Command: "restore"})
	s.Apply(Message{Op: OpComponent, Component: "task-manager", State: ComponentReplacing, Safety: "/b/safety-1/task-manager-1.pgdump"})
	s.Apply(Message{Op: OpComponent, Component: "task-manager", State: ComponentNew})
	s.Apply(Message{Op: OpComponent, Component: "storage", State: ComponentReplacing, Safety: "/b/safety-1/storage-1.tar"})
	assert.Check(t, len(s.Recovery()) > 0, "a torn component is a recovery to record, even with nothing stopped")
	got := s.ComponentStates()
	assert.Assert(t, is.Len(got, 2))
	assert.Check(t, is.Equal(got[0], "task-manager: new: replaced from the backup before the run was lost"))
	assert.Check(t, is.Contains(got[1], "storage: PARTIAL"))
	assert.Check(t, is.Contains(got[1], "docker infrahubdb restore /b/safety-1 --component storage"))

	s.Apply(Message{Op: OpComponent, Component: "storage", State: ComponentOld})
	assert.Check(t, is.Equal(s.ComponentStates()[1], "storage: old: put back from its safety copy by the run"))
}

func TestComponentStateWithoutASafetyCopy(t *testing.T) {
	var s State
	s.Apply(Message{Op: OpComponent, Component: "task-manager", State: ComponentReplacing})
	got := s.ComponentStates()
	assert.Check(t, is.Contains(got[0], "most likely old"))
	assert.Check(t, is.Contains(got[0], "there is no safety copy (--no-safety-backup)"))
}

// A whole-deployment restore lost while it extracts the storage: the
// guardian empties the storage and extracts its own copy of the safety
// archive in the storage's helper, before it stops the run's helpers and
// starts anything, and its record says the storage holds the old data.
func TestGuardPutsTheStorageBackBeforeStoppingHelpers(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "storage.tar")
	assert.NilError(t, os.WriteFile(archive, []byte("TAR"), 0o600))
	f := &fakeEngine{}
	in := lines(
		Message{Op: OpHello, Seq: 1, Target: "db", Owner: "h:1", Command: "restore", Socket: "/s"},
		Message{Op: OpStopping, Seq: 2, ID: "server", Name: "infrahub-server", Role: RoleApp},
		Message{Op: OpComponent, Seq: 3, Component: "task-manager", State: ComponentReplacing, Safety: "/b/safety-1/task-manager-1.pgdump"},
		Message{Op: OpComponent, Seq: 4, Component: "task-manager", State: ComponentNew},
		Message{Op: OpComponent, Seq: 5, Component: "storage", State: ComponentReplacing, Safety: "/b/safety-1/storage-1.tar",
			Helper: "storage-helper", MountPoint: "/storage", PutBackArchive: archive},
	)
	assert.NilError(t, Guard(in, io.Discard, func(string) Engine { return f }, "self"))
	assert.DeepEqual(t, f.calls, []string{
		"exec storage-helper as 0: find /storage -mindepth 1 -delete",
		"put storage-helper:/ TAR",
		"list " + LabelHelper + "," + LabelOwner + "=h:1", "stop helper1",
		"stop server", "start server",
		"list " + LabelHelper + "," + LabelOwner + "=h:1",
	})
	assert.Assert(t, is.Len(f.volumes, 1))
	for _, labels := range f.volumes {
		var rec Record
		assert.NilError(t, json.Unmarshal([]byte(labels[LabelRecordJSON]), &rec))
		assert.Check(t, is.DeepEqual(rec.Components, []string{
			"task-manager: new: replaced from the backup before the run was lost",
			"storage: old: the guardian put its safety copy back (the restore did not finish)",
		}))
		assert.Check(t, is.Equal(rec.Data, "old: the restore was lost while it replaced another component, before the graph"))
	}
}

// A put-back that fails leaves the record saying so, with the client's
// safety copy and the command that restores it.
func TestGuardRecordsAFailedStoragePutBack(t *testing.T) {
	defer func(d time.Duration) { emptyRetry = d }(emptyRetry)
	emptyRetry = 0
	f := &fakeEngine{execFails: true}
	in := lines(
		Message{Op: OpHello, Seq: 1, Target: "db", Owner: "h:1", Command: "restore", Socket: "/s"},
		Message{Op: OpComponent, Seq: 2, Component: "storage", State: ComponentReplacing, Safety: "/b/safety-1/storage-1.tar",
			Helper: "storage-helper", MountPoint: "/storage", PutBackArchive: "/infrahubdb-safety/storage.tar"},
	)
	assert.NilError(t, Guard(in, io.Discard, func(string) Engine { return f }, "self"))
	assert.Check(t, !strings.Contains(strings.Join(f.calls, ";"), "put "), "no extraction into a storage that was not emptied")
	assert.Check(t, is.Equal(strings.Count(strings.Join(f.calls, ";"), "find /storage"), emptyTries), "tried again")
	for _, labels := range f.volumes {
		var rec Record
		assert.NilError(t, json.Unmarshal([]byte(labels[LabelRecordJSON]), &rec))
		assert.Assert(t, is.Len(rec.Components, 1))
		assert.Check(t, is.Contains(rec.Components[0], "storage: FAILED: the guardian could not put its safety copy back (find /storage -mindepth 1 -delete in storage-helper: exit code 1"))
		assert.Check(t, is.Contains(rec.Components[0], "PARTIAL"))
		assert.Check(t, is.Contains(rec.Components[0], "docker infrahubdb restore /b/safety-1 --component storage"))
	}
}

// Once the storage is replaced (or put back by the run), the guardian
// drops its copy and puts nothing back.
func TestGuardDropsTheStorageCopyOnceReplaced(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "storage.tar")
	assert.NilError(t, os.WriteFile(archive, []byte("TAR"), 0o600))
	f := &fakeEngine{}
	in := lines(
		Message{Op: OpHello, Seq: 1, Target: "db", Owner: "h:1", Command: "restore", Socket: "/s"},
		Message{Op: OpStopping, Seq: 2, ID: "server", Name: "infrahub-server", Role: RoleApp},
		Message{Op: OpComponent, Seq: 3, Component: "storage", State: ComponentReplacing, Helper: "storage-helper", MountPoint: "/storage", PutBackArchive: archive},
		Message{Op: OpComponent, Seq: 4, Component: "storage", State: ComponentNew},
	)
	assert.NilError(t, Guard(in, io.Discard, func(string) Engine { return f }, "self"))
	_, err := os.Stat(archive)
	assert.Check(t, os.IsNotExist(err), "the copy is removed once the storage is replaced")
	for _, c := range f.calls {
		assert.Check(t, !strings.HasPrefix(c, "exec ") && !strings.HasPrefix(c, "put "), c)
	}
}

// A restore whose extraction failed rolls the storage back in a helper of
// its own, and tells the guardian so before it touches the storage: lost
// mid-rollback, the guardian puts its copy back in the rollback's helper.
// A rollback after the storage was replaced (the graph failed) gives the
// guardian its copy again: lost then, the storage is put back too.
func TestGuardPutsTheStorageBackInTheRollbacksHelper(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state string // the storage's state before the rollback
	}{
		{name: "its extraction failed", state: ComponentReplacing},
		{name: "the graph failed", state: ComponentNew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), "storage.tar")
			assert.NilError(t, os.WriteFile(archive, []byte("TAR"), 0o600))
			f := &fakeEngine{}
			first := Message{Op: OpComponent, Seq: 3, Component: "storage", State: tc.state, Safety: "/b/safety-1/storage-1.tar"}
			if tc.state == ComponentReplacing {
				first.Helper, first.MountPoint, first.PutBackArchive = "restore-helper", "/storage", archive
			}
			msgs := []Message{
				{Op: OpHello, Seq: 1, Target: "db", Owner: "h:1", Command: "restore", Socket: "/s"},
				{Op: OpStopping, Seq: 2, ID: "server", Name: "infrahub-server", Role: RoleApp},
				first,
			}
			// The rollback tells the guardian its helper (and, after "new",
			// gives it its copy again) before it touches the storage.
			msgs = append(msgs, Message{Op: OpComponent, Seq: 4, Component: "storage", State: ComponentReplacing, Safety: "/b/safety-1/storage-1.tar",
				Helper: "rollback-helper", MountPoint: "/storage", PutBackArchive: archive})
			in := lines(msgs...)
			assert.NilError(t, Guard(in, io.Discard, func(string) Engine { return f }, "self"))
			assert.DeepEqual(t, f.calls, []string{
				"exec rollback-helper as 0: find /storage -mindepth 1 -delete",
				"put rollback-helper:/ TAR",
				"list " + LabelHelper + "," + LabelOwner + "=h:1", "stop helper1",
				"stop server", "start server",
				"list " + LabelHelper + "," + LabelOwner + "=h:1",
			})
			assert.Assert(t, is.Len(f.volumes, 1))
			for _, labels := range f.volumes {
				var rec Record
				assert.NilError(t, json.Unmarshal([]byte(labels[LabelRecordJSON]), &rec))
				assert.Check(t, is.DeepEqual(rec.Components, []string{
					"storage: old: the guardian put its safety copy back (the restore did not finish)",
				}))
			}
		})
	}
}
