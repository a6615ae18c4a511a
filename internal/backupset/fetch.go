package backupset

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"sync"
)

// A fetching folder (Fetch) reads some of its files from a location
// whenever they are read, instead of from its disk: `restore s3://…` stages
// the graph files of its run that way, so that they go from the location
// through the plugin (and age, for an encrypted run) straight into the
// helper, checked as they go (SendTarChecked), with nothing of them on this
// machine's disk. It is the mirror image of a forwarding folder: an empty
// placeholder keeps each file's name, the folder keeps the record of its
// object, and its manifest records the file as any folder's does (the
// plaintext). Reading one checks, at its end, the stored bytes against the
// object's record and, for a sealed one (age ciphertext, read through the
// folder's Unsealer), what they decrypt to against the plaintext's.

// Fetcher opens the stored bytes of a location's object for reading.
type Fetcher func(object string) (io.ReadCloser, error)

type fetching struct {
	from  Fetcher
	mu    sync.Mutex
	files map[string]ForwardedRecord
}

// Fetch makes the folder able to hold fetched files (AddFetched), read
// through fe. Like Seal, only for a staging folder of this process's own.
func (f *Folder) Fetch(fe Fetcher) {
	f.fetching = &fetching{from: fe, files: map[string]ForwardedRecord{}}
}

// IsFetching says whether the folder may hold fetched files.
func (f *Folder) IsFetching() bool { return f.fetching != nil }

// AddFetched gives the file name to the folder as a fetched one: r records
// its object (the stored bytes) and its plaintext. The caller records the
// file in the folder's manifest.
func (f *Folder) AddFetched(name string, r ForwardedRecord) error {
	if f.fetching == nil {
		return fmt.Errorf("%s: this folder fetches nothing", name)
	}
	if err := checkBaseName(name); err != nil {
		return err
	}
	if r.Sealed && (f.sealing == nil || f.sealing.unseal == nil) {
		return fmt.Errorf("%s is sealed (encrypted) and this folder has no key to read it", name)
	}
	ph, err := os.OpenFile(f.Path(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := ph.Close(); err != nil {
		return err
	}
	f.fetching.mu.Lock()
	defer f.fetching.mu.Unlock()
	f.fetching.files[name] = r
	return nil
}

// Fetched returns the record of a fetched file.
func (f *Folder) Fetched(name string) (ForwardedRecord, bool) {
	if f.fetching == nil {
		return ForwardedRecord{}, false
	}
	f.fetching.mu.Lock()
	defer f.fetching.mu.Unlock()
	r, ok := f.fetching.files[name]
	return r, ok
}

// checkedAtEOF says whether reading the file checks it at its end only
// (sealed or fetched): a reader must read it to io.EOF.
func (f *Folder) checkedAtEOF(name string) bool {
	_, sealed := f.Sealed(name)
	_, fetched := f.Fetched(name)
	return sealed || fetched
}

// openFetched opens a fetched file: its stored bytes are checked against
// the object's record at their end and, when sealed, unsealed as they are
// read and checked against the plaintext's record.
func (f *Folder) openFetched(name string, r ForwardedRecord) (io.ReadCloser, int64, error) {
	src, err := f.fetching.from(r.Object.Name)
	if err != nil {
		return nil, 0, err
	}
	stored := &sealCheck{r: src, h: sha256.New(), size: r.Object.Size, sum: r.Object.SHA256, what: "the stored bytes of " + name}
	if !r.Sealed {
		return sealedReader{stored, src}, r.Object.Size, nil
	}
	plain, err := f.sealing.unseal(stored)
	if err != nil {
		src.Close()
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	return sealedReader{&sealCheck{r: plain, h: sha256.New(), size: r.PlainSize, sum: r.PlainSHA256, what: "the decrypted content of " + name, tail: stored}, src}, r.PlainSize, nil
}
