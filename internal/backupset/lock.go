package backupset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// LockInfo is the content of the lock file: who runs what since when.
type LockInfo struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

// LockedError says that another run holds the folder's lock.
type LockedError struct {
	Path   string
	Holder LockInfo // zero when the lock file is being written
}

func (e *LockedError) Error() string {
	who := "another run"
	if e.Holder.PID != 0 {
		who = fmt.Sprintf("%q (pid %d on host %s) since %s", e.Holder.Command, e.Holder.PID, e.Holder.Host,
			e.Holder.Started.UTC().Format(time.RFC3339))
	}
	what := "backup folder"
	if strings.Contains(e.Path, "://") {
		what = "location" // an S3 lease: s3://bucket/prefix/locks/lock.json
	}
	return fmt.Sprintf("%s is locked by %s; wait for it to finish, or if you are sure no run is active, remove %s", what, who, e.Path)
}

// staleAge is how old an empty or unreadable lock file must be before it is
// considered abandoned (younger ones may be in the middle of being written).
const staleAge = time.Minute

// Lock takes the folder's lock for command. See AcquireLock.
func (f *Folder) Lock(command string) (release func() error, err error) {
	release, _, err = f.AcquireLock(command)
	return release, err
}

// AcquireLock takes the folder's lock file (created with O_EXCL). A lock left
// by a process of this host that is gone, or an empty or unreadable one older
// than a minute, is stale: it is taken over and its holder returned, so the
// caller can say so. A live lock gives a *LockedError. release removes the
// lock file only if it is still ours.
func (f *Folder) AcquireLock(command string) (release func() error, stale *LockInfo, err error) {
	host, err := f.host()
	if err != nil {
		return nil, nil, err
	}
	me := LockInfo{Host: host, PID: os.Getpid(), Command: command, Started: f.now().UTC()}
	content, err := json.Marshal(me)
	if err != nil {
		return nil, nil, err
	}
	content = append(content, '\n')
	path := f.Path(LockName)
	for attempt := 0; attempt < 3; attempt++ {
		err := createExclusive(path, content)
		if err == nil {
			return f.releaser(path, content), stale, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, nil, fmt.Errorf("create lock file: %w", diskFull(path, err))
		}
		holder, seen, isStale, err := f.inspectLock(path, host)
		if err != nil {
			return nil, nil, err
		}
		if !isStale {
			return nil, nil, &LockedError{Path: path, Holder: holder}
		}
		if err := removeStale(path, seen); err != nil {
			return nil, nil, err
		}
		stale = &holder
	}
	return nil, nil, &LockedError{Path: path}
}

func createExclusive(path string, content []byte) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = file.Write(content)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write lock file: %w", diskFull(path, err))
	}
	return nil
}

// inspectLock reads an existing lock and decides whether it is stale. It
// returns the content it judged (nil when the file vanished meanwhile).
func (f *Folder) inspectLock(path, host string) (holder LockInfo, seen []byte, stale bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return holder, nil, true, nil // released meanwhile: just retry
	}
	if err != nil {
		return holder, nil, false, fmt.Errorf("read lock file: %w", err)
	}
	if json.Unmarshal(data, &holder) != nil || holder.PID <= 0 {
		st, err := os.Stat(path)
		if err != nil {
			return LockInfo{}, nil, errors.Is(err, os.ErrNotExist), nil
		}
		return LockInfo{}, data, f.now().Sub(st.ModTime()) > staleAge, nil
	}
	dead := holder.Host == host && holder.PID != os.Getpid() && !f.isAlive(holder.PID)
	return holder, data, dead, nil
}

// removeStale moves the stale lock (whose content was seen) aside before
// deleting it. Two runs may find the same stale lock; renaming it first means
// only one of them removes it, and a run that lost the race puts the winner's
// new lock back instead of deleting it.
func removeStale(path string, seen []byte) error {
	if seen == nil {
		return nil
	}
	aside := path + ".stale-" + strconv.Itoa(os.Getpid())
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("take over stale lock: %w", err)
	}
	defer os.Remove(aside)
	moved, err := os.ReadFile(aside)
	if err == nil && !bytes.Equal(moved, seen) {
		// We moved a fresh lock of a faster run: put it back.
		if err := os.Link(aside, path); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("take over stale lock: restoring another run's lock: %w", err)
		}
	}
	return nil
}

func (f *Folder) releaser(path string, content []byte) func() error {
	released := false
	return func() error {
		if released {
			return nil
		}
		released = true
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("lock file %s was removed while this run held it", path)
		}
		if err != nil {
			return fmt.Errorf("release lock: %w", err)
		}
		if !bytes.Equal(data, content) {
			return fmt.Errorf("lock file %s was taken over by another run while this one held it; left in place", path)
		}
		return os.Remove(path)
	}
}

func (f *Folder) host() (string, error) {
	if f.hostname != nil {
		return f.hostname()
	}
	return os.Hostname()
}

func (f *Folder) isAlive(pid int) bool {
	if f.alive != nil {
		return f.alive(pid)
	}
	return ProcessAlive(pid) // a zombie (killed, never reaped) holds nothing
}

// Opened marks r as the open record of a run of this process (see
// RunRecord.Open): its host and pid are those the folder's lock records.
func (f *Folder) Opened(r RunRecord) (RunRecord, error) {
	host, err := f.host()
	if err != nil {
		return r, err
	}
	r.Open, r.Host, r.PID = true, host, os.Getpid()
	return r, nil
}

// runAlive reports whether the process of the open run r still holds the
// folder's lock: the lock names it, and it is not provably gone (a process
// of this host that no longer runs). A lock of another run, or none, means
// r's process died without closing its record.
func (f *Folder) runAlive(r RunRecord) bool {
	data, err := os.ReadFile(f.Path(LockName))
	if err != nil {
		return false
	}
	var holder LockInfo
	if json.Unmarshal(data, &holder) != nil || holder.Host != r.Host || holder.PID != r.PID {
		return false
	}
	host, err := f.host()
	if err != nil || holder.Host != host || holder.PID == os.Getpid() {
		return true // another machine's run cannot be proven gone
	}
	return f.isAlive(holder.PID)
}
