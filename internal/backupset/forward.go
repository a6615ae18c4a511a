package backupset

import (
	"errors"
	"fmt"
	"sync"
)

// A forwarding folder (Forward) sends the bytes of every file it receives
// to a location as they arrive, instead of to its disk: `backup s3://…`
// takes its run into such a folder, so that the artifacts go from the
// helper through the plugin (and age, when the folder is sealed too)
// straight into the location's multipart parts, with nothing of them on
// this machine's disk. The folder keeps, under each file's name, an empty
// placeholder (names stay taken, as in any folder) and the record of what
// was stored where; its manifest records the files as any folder's does
// (the plaintext), so the run is described as usual, and the caller writes
// the location's run manifest from both (offsite.CommitForwarded). A
// forwarded file cannot be read back from the folder (ErrForwarded).

// Forwarder starts the create-only write, in a location, of the stored
// bytes of the file name: what a PartialFile is given (or what the
// folder's Sealer makes of it) goes to the writer, and Commit commits it.
type Forwarder func(name string) (ObjectWriter, error)

// ForwardedRecord is what became of a forwarded file.
type ForwardedRecord struct {
	// Object is the location's record of the stored bytes: object name,
	// size and SHA-256.
	Object FileRecord
	// PlainSize and PlainSHA256 describe what the folder was given (the
	// manifest's record of the file).
	PlainSize   int64
	PlainSHA256 string
	// Sealed says the stored bytes are what the folder's Sealer made of
	// them (age ciphertext).
	Sealed bool
}

// ErrForwarded is matched by the error of reading a forwarded file.
var ErrForwarded = errors.New("the file was forwarded to a location as it arrived: its bytes are there, not in this folder")

type forwarding struct {
	to     Forwarder
	mu     sync.Mutex
	files  map[string]ForwardedRecord // files are committed by concurrent fetches
	staged int                        // StageLocally calls not yet resumed
}

// Forward makes every file the folder writes from now on go to fw. Like
// Seal, only for a staging folder of this process's own.
func (f *Folder) Forward(fw Forwarder) {
	f.forwarding = &forwarding{to: fw, files: map[string]ForwardedRecord{}}
}

// StageLocally makes the files the folder receives from now until resume is
// called go to its disk (through its Sealer, when it seals), as in a folder
// that does not forward: the captures inside an outage (a task manager's
// pg_dump and the storage's archive while a Community dump holds the
// applications, an Enterprise --consistent capture) must never wait for a
// location, so they are staged here and uploaded after everything runs
// again (offsite.Forwarding.Commit). A folder that does not forward is not
// changed.
func (f *Folder) StageLocally() (resume func()) {
	fw := f.forwarding
	if fw == nil {
		return func() {}
	}
	fw.mu.Lock()
	fw.staged++
	fw.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			fw.mu.Lock()
			fw.staged--
			fw.mu.Unlock()
		})
	}
}

// forwarder is what NewFile forwards to now: nil while the folder stages
// locally (or never forwards).
func (f *Folder) forwarder() Forwarder {
	fw := f.forwarding
	if fw == nil {
		return nil
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.staged > 0 {
		return nil
	}
	return fw.to
}

// IsForwarding says whether the folder forwards what it receives.
func (f *Folder) IsForwarding() bool { return f.forwarding != nil }

// Forwarded returns the record of a forwarded file.
func (f *Folder) Forwarded(name string) (ForwardedRecord, bool) {
	if f.forwarding == nil {
		return ForwardedRecord{}, false
	}
	f.forwarding.mu.Lock()
	defer f.forwarding.mu.Unlock()
	r, ok := f.forwarding.files[name]
	return r, ok
}

// ForwardedFiles lists the files forwarded so far, by name.
func (f *Folder) ForwardedFiles() map[string]ForwardedRecord {
	out := map[string]ForwardedRecord{}
	if f.forwarding == nil {
		return out
	}
	f.forwarding.mu.Lock()
	defer f.forwarding.mu.Unlock()
	for k, v := range f.forwarding.files {
		out[k] = v
	}
	return out
}

func (f *Folder) recordForwarded(name string, r ForwardedRecord) {
	f.forwarding.mu.Lock()
	defer f.forwarding.mu.Unlock()
	f.forwarding.files[name] = r
}

// refuseForwarded fails a read of a forwarded file.
func (f *Folder) refuseForwarded(name string) error {
	if r, ok := f.Forwarded(name); ok {
		return fmt.Errorf("%s (in the location as %s): %w", name, r.Object.Name, ErrForwarded)
	}
	return nil
}
