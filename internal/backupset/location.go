package backupset

import (
	"context"
	"errors"
	"fmt"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"io"
	"strings"
	"time"
)

// Location is where backups are kept: a folder on this machine (FolderLocation)
// or an S3 bucket prefix (package s3location). Names are slash-separated keys
// relative to the location's root, such as "runs/<id>/manifest.json"; see
// CheckObjectName for the rules they follow.
//
// Every write is create-only: an object, once committed, is never replaced,
// and a name is never reused. Objects become visible only when their write
// commits, so a crash never leaves a torn object under a real name; across
// objects, order gives atomicity: a run's artifacts are written first and its
// manifest last (CommitRun), and a run without a manifest does not exist.
//
// The conformance suite in package locationtest runs the same cases against
// every implementation.
type Location interface {
	// Describe names the location for messages ("/srv/backups",
	// "s3://bucket/prefix at https://s3.example.com"). It never holds a
	// secret.
	Describe() string
	// Capabilities says what the location can do beyond the contract.
	Capabilities() Capabilities
	// Create starts a create-only write of name. Nothing is visible under
	// name until Commit, which fails with an error matching ErrObjectExists
	// when name exists, whoever created it and whenever.
	Create(ctx context.Context, name string, o CreateOptions) (ObjectWriter, error)
	// Open reads a committed object. A missing one gives an error matching
	// ErrObjectNotFound.
	Open(ctx context.Context, name string) (io.ReadCloser, ObjectInfo, error)
	// Stat describes a committed object (ErrObjectNotFound when missing).
	Stat(ctx context.Context, name string) (ObjectInfo, error)
	// List returns the committed objects whose names start with prefix,
	// sorted by name. Writes in progress and leftovers are not listed.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes a committed object; a missing one is not an error
	// (a prune that died halfway is simply run again).
	Delete(ctx context.Context, name string) error
	// Lock takes the location's exclusive lock for command. A lock held by
	// another run gives a *LockedError.
	Lock(ctx context.Context, command string) (Lease, error)
	// Leftovers lists what interrupted writes left behind (partial files,
	// incomplete multipart uploads); they hold no committed data.
	Leftovers(ctx context.Context) ([]Leftover, error)
	// RemoveLeftover removes one leftover. Call it only under the lock.
	RemoveLeftover(ctx context.Context, l Leftover) error
}

// Capabilities describe what a location can do beyond the Location contract.
type Capabilities struct {
	// LocalDir is the directory on this machine that holds the location,
	// or "" when there is none. Only a location with a LocalDir can be
	// bind-mounted into a helper (when the Docker daemon sees it).
	LocalDir string
	// CreateOnly says the location itself refuses a second create of one
	// name (O_EXCL, link(2), or an S3 server honouring If-None-Match: *).
	// Without it, create-only is only as good as the lock.
	CreateOnly bool
	// Versioned says deletes only hide objects (an S3 bucket with
	// versioning): prune frees no space until the versions expire.
	Versioned bool
}

// CreateOptions tune a write.
type CreateOptions struct {
	// Size is the size when known in advance (exact, or an upper bound),
	// or -1. An S3 location sizes its parts from it: never more than 10 000.
	Size int64
}

// ObjectWriter is a create-only write in progress. It hashes and counts what
// is written; Commit makes the object visible and returns its record.
type ObjectWriter interface {
	io.Writer
	// Commit makes the object durable and visible under its name and
	// returns its record (name, size, SHA-256 of the stored bytes).
	// It fails, leaving nothing behind, when the name exists.
	Commit() (FileRecord, error)
	// Abort drops the write. It does nothing after Commit, so
	// `defer w.Abort()` is always right.
	Abort()
}

// ObjectInfo describes a committed object.
type ObjectInfo struct {
	Name     string
	Size     int64
	Modified time.Time
}

// Leftover is what an interrupted write left in a location.
type Leftover struct {
	Name    string    // the object name the write was for
	Kind    string    // "partial file", "incomplete upload"
	Started time.Time // zero when unknown
	ID      string    // implementation's handle (path, upload ID)
}

// Lease is a held location lock.
type Lease interface {
	// Refresh proves the lock is still this run's and extends it. An error
	// matching ErrLeaseLost means another run broke it: stop before the
	// next destructive step.
	Refresh(ctx context.Context) error
	// Release gives the lock up, if it is still this run's.
	Release(ctx context.Context) error
}

var (
	// ErrObjectExists is matched by the error of a create over an existing name.
	ErrObjectExists = errors.New("object exists; backup objects are never overwritten")
	// ErrObjectNotFound is matched by the error of reading a missing object.
	ErrObjectNotFound = errors.New("object not found")
	// ErrLeaseLost is matched when a lock was broken by another run.
	ErrLeaseLost = errors.New("the location's lock was taken over by another run")
	// ErrUnreachable is matched when the location stopped answering: the
	// connection was refused, timed out or broke off in the middle of an
	// object. Nothing is wrong with what it holds (exit code 3, whatever
	// step it reached through: a download, a file streamed into a helper).
	ErrUnreachable = exitcode.New(exitcode.Environment, "the location did not answer; run the command again once it is reachable")
)

// CheckObjectName checks a location object name: slash-separated, relative,
// without empty, "." or ".." segments, backslashes, NUL or control
// characters, and not ending in PartialExt (the suffix of writes in
// progress in a folder).
func CheckObjectName(name string) error {
	bad := func(why string) error { return fmt.Errorf("invalid object name %q: %s", name, why) }
	switch {
	case name == "":
		return bad("empty")
	case len(name) > 512:
		return bad("longer than 512 bytes")
	case strings.HasSuffix(name, PartialExt):
		return bad("must not end in " + PartialExt)
	case strings.ContainsAny(name, "\\\x00"):
		return bad("contains a backslash or NUL")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad(`empty, "." or ".." path segment`)
		}
	}
	return nil
}

// ReadObject reads a small committed object whole, refusing one larger than
// limit bytes (manifests, lock and key objects: never trust a size).
func ReadObject(ctx context.Context, loc Location, name string, limit int64) ([]byte, error) {
	rc, _, err := loc.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w", name, loc.Describe(), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s in %s is larger than %d bytes; it is not one this plugin wrote", name, loc.Describe(), limit)
	}
	return data, nil
}

// WriteObject writes a small object create-only in one step.
func WriteObject(ctx context.Context, loc Location, name string, data []byte) (FileRecord, error) {
	w, err := loc.Create(ctx, name, CreateOptions{Size: int64(len(data))})
	if err != nil {
		return FileRecord{}, err
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		return FileRecord{}, err
	}
	return w.Commit()
}
