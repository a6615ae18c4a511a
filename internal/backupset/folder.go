package backupset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Folder is a backup folder on the machine that runs the plugin.
type Folder struct {
	Dir string

	sealing    *sealing    // nil: files hold what is written (sealed.go)
	forwarding *forwarding // nil: files are kept here (forward.go)
	fetching   *fetching   // nil: files are read from here (fetch.go)

	// Hooks for tests; nil means the real thing.
	clock    func() time.Time
	hostname func() (string, error)
	alive    func(pid int) bool
}

// Open opens an existing backup folder.
func Open(dir string) (*Folder, error) {
	// The folder is known by its absolute path: the Docker daemon takes
	// only absolute bind mount sources (a relative FOLDER such as ./backups
	// would never get bind transfers), and messages name it unambiguously.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("backup folder %s: %w", dir, err)
	}
	dir = abs
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("backup folder %s does not exist", dir)
	case err != nil:
		return nil, fmt.Errorf("backup folder %s: %w", dir, err)
	case !st.IsDir():
		return nil, fmt.Errorf("backup folder %s is not a directory", dir)
	}
	return &Folder{Dir: dir}, nil
}

// Create opens dir, creating it with mode 0700 when missing, and checks that
// files can be created in it, so a backup fails before any helper starts.
func Create(dir string) (*Folder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create backup folder %s: %w; choose another folder or create it with write permission for uid %d", dir, err, os.Getuid())
	}
	f, err := Open(dir)
	if err != nil {
		return nil, err
	}
	probe, err := os.CreateTemp(dir, ".infrahubdb-probe-*")
	if err != nil {
		return nil, fmt.Errorf("backup folder %s is not writable: %w; fix its permissions (it must be writable by uid %d) or choose another folder", dir, err, os.Getuid())
	}
	probe.Close()
	os.Remove(probe.Name())
	return f, nil
}

// Path is the path of a file in the folder.
func (f *Folder) Path(name string) string { return filepath.Join(f.Dir, name) }

func (f *Folder) now() time.Time {
	if f.clock != nil {
		return f.clock()
	}
	return time.Now()
}

// syncDir makes a rename or removal in the folder durable.
func (f *Folder) syncDir() error {
	d, err := os.Open(f.Dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		// Some file systems (and Windows) cannot sync a directory; EINVAL
		// means "not supported", not "lost".
		return fmt.Errorf("sync backup folder %s: %w", f.Dir, err)
	}
	return nil
}

// DiskFullError says the disk holding the backup folder filled up.
// errors.Is(err, syscall.ENOSPC) holds for it.
type DiskFullError struct {
	Path string
	Err  error
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("disk full while writing %s: free space on the disk that holds %s, or choose another backup folder (%v)",
		e.Path, filepath.Dir(e.Path), e.Err)
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// diskFull turns ENOSPC (and EDQUOT, a full quota) into a DiskFullError.
func diskFull(path string, err error) error {
	if err == nil {
		return nil
	}
	var dfe *DiskFullError
	if errors.As(err, &dfe) {
		return err
	}
	if errors.Is(err, syscall.ENOSPC) || isQuotaExceeded(err) {
		return &DiskFullError{Path: path, Err: err}
	}
	return err
}
