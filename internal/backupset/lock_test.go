package backupset

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/fs"
)

func lockFolder(t *testing.T, alive map[int]bool, ops ...fs.PathOp) *Folder {
	f := testFolder(t, ops...)
	f.hostname = func() (string, error) { return "here", nil }
	f.alive = func(pid int) bool { return alive[pid] }
	return f
}

func lockContent(t *testing.T, host string, pid int) string {
	data, err := json.Marshal(LockInfo{Host: host, PID: pid, Command: "backup", Started: at(0)})
	assert.NilError(t, err)
	return string(data)
}

func readLock(t *testing.T, f *Folder) LockInfo {
	var li LockInfo
	data, err := os.ReadFile(f.Path(LockName))
	assert.NilError(t, err)
	assert.NilError(t, json.Unmarshal(data, &li))
	return li
}

func TestLockAndRelease(t *testing.T) {
	f := lockFolder(t, nil)
	release, stale, err := f.AcquireLock("backup ./b")
	assert.NilError(t, err)
	assert.Assert(t, stale == nil)
	assert.DeepEqual(t, readLock(t, f), LockInfo{Host: "here", PID: os.Getpid(), Command: "backup ./b", Started: f.now()})
	st, err := os.Stat(f.Path(LockName))
	assert.NilError(t, err)
	assert.Equal(t, st.Mode().Perm(), os.FileMode(0o600))

	// A second run of this very process is refused too (never "stale").
	_, err = f.Lock("restore ./b")
	var locked *LockedError
	assert.Assert(t, errors.As(err, &locked))
	assert.Equal(t, locked.Holder.Command, "backup ./b")

	assert.NilError(t, release())
	assert.NilError(t, release()) // idempotent
	_, err = os.Stat(f.Path(LockName))
	assert.Assert(t, os.IsNotExist(err))
}

func TestLockLive(t *testing.T) {
	tests := []struct {
		doc     string
		content string
		age     time.Duration
		err     string
	}{
		{doc: "live pid on this host", content: lockContent(t, "here", 4242),
			err: `backup folder is locked by "backup" (pid 4242 on host here) since 2026-03-01T00:00:00Z; wait for it to finish, or if you are sure no run is active, remove `},
		{doc: "dead pid on another host", content: lockContent(t, "elsewhere", 999),
			err: `(pid 999 on host elsewhere)`},
		{doc: "empty and young", content: "", age: 10 * time.Second, err: "locked by another run"},
		{doc: "garbage and young", content: "{", age: 10 * time.Second, err: "locked by another run"},
	}
	for _, tc := range tests {
		t.Run(tc.doc, func(t *testing.T) {
			f := lockFolder(t, map[int]bool{4242: true}, fs.WithFile(LockName, tc.content))
			assert.NilError(t, os.Chtimes(f.Path(LockName), f.now().Add(-tc.age), f.now().Add(-tc.age)))
			release, err := f.Lock("prune")
			assert.ErrorContains(t, err, tc.err)
			assert.ErrorContains(t, err, f.Path(LockName))
			assert.Assert(t, release == nil)
			var locked *LockedError
			assert.Assert(t, errors.As(err, &locked))
			// The other run's lock is untouched.
			data, err := os.ReadFile(f.Path(LockName))
			assert.NilError(t, err)
			assert.Equal(t, string(data), tc.content)
		})
	}
}

func TestLockStaleTakeover(t *testing.T) {
	tests := []struct {
		doc     string
		content string
		age     time.Duration
		holder  LockInfo
	}{
		{doc: "dead pid on this host", content: lockContent(t, "here", 999),
			holder: LockInfo{Host: "here", PID: 999, Command: "backup", Started: at(0)}},
		{doc: "empty and old", content: "", age: 2 * time.Minute},
		{doc: "garbage and old", content: "not json", age: time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.doc, func(t *testing.T) {
			f := lockFolder(t, map[int]bool{4242: true}, fs.WithFile(LockName, tc.content))
			assert.NilError(t, os.Chtimes(f.Path(LockName), f.now().Add(-tc.age), f.now().Add(-tc.age)))
			release, stale, err := f.AcquireLock("backup")
			assert.NilError(t, err)
			assert.Assert(t, stale != nil)
			assert.DeepEqual(t, *stale, tc.holder)
			assert.Equal(t, readLock(t, f).PID, os.Getpid())
			assert.NilError(t, release())
			// Nothing left: neither the lock nor the moved-aside stale one.
			assert.Assert(t, fs.Equal(f.Dir, fs.Expected(t, fs.WithMode(dirMode(t, f.Dir)))))
		})
	}
}

func TestLockReleaseNotOurs(t *testing.T) {
	f := lockFolder(t, nil)
	release, err := f.Lock("backup")
	assert.NilError(t, err)
	// Someone decided our lock was stale and took it over.
	other := lockContent(t, "there", 77)
	assert.NilError(t, os.WriteFile(f.Path(LockName), []byte(other), 0o600))
	err = release()
	assert.Check(t, is.ErrorContains(err, "was taken over by another run"))
	data, err := os.ReadFile(f.Path(LockName))
	assert.NilError(t, err)
	assert.Equal(t, string(data), other)

	// Removed behind our back.
	f = lockFolder(t, nil)
	release, err = f.Lock("backup")
	assert.NilError(t, err)
	assert.NilError(t, os.Remove(f.Path(LockName)))
	assert.ErrorContains(t, release(), "was removed while this run held it")
}

// A run that judged a lock stale must not delete a fresh lock another run
// created in the meantime.
func TestRemoveStaleRace(t *testing.T) {
	f := lockFolder(t, nil)
	fresh := lockContent(t, "here", 4242)
	assert.NilError(t, os.WriteFile(f.Path(LockName), []byte(fresh), 0o600))
	assert.NilError(t, removeStale(f.Path(LockName), []byte(lockContent(t, "here", 999))))
	data, err := os.ReadFile(f.Path(LockName))
	assert.NilError(t, err)
	assert.Equal(t, string(data), fresh)
	assert.Assert(t, fs.Equal(f.Dir, fs.Expected(t, fs.WithMode(dirMode(t, f.Dir)),
		fs.WithFile(LockName, fresh, fs.WithMode(0o600)))))
}

func TestProcessAlive(t *testing.T) {
	assert.Assert(t, ProcessAlive(os.Getpid()))
	assert.Assert(t, !ProcessAlive(1<<22+12345)) // above Linux's pid_max
}
