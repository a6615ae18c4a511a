// Package locationtest is the conformance suite of backupset.Location: the
// same cases run against every implementation (the folder, an S3 server),
// as restic's internal/backend/test does for its backends.
package locationtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// Config describes the implementation under test.
type Config struct {
	// New returns an empty location; each case gets its own.
	New func(t *testing.T) backupset.Location
	// BigSize is the size of the object that must span several writes
	// (parts of an S3 upload): more than two part sizes.
	BigSize int
	// NewLockHolder returns a second handle on the same location, as a
	// second client on another machine would have; nil reuses the first.
	NewLockHolder func(t *testing.T, loc backupset.Location) backupset.Location
	// Settle waits for what a writer still sends from goroutines of its
	// own (an S3 upload's parts in flight), for the case that abandons it
	// as a killed process would: a dead process has nothing in flight,
	// and a part landing after its upload was removed would bring that
	// upload back on some servers. nil: the writer sends nothing by itself.
	Settle func(t *testing.T, w backupset.ObjectWriter)
}

// Run runs every case of the suite.
func Run(t *testing.T, c Config) {
	if c.BigSize == 0 {
		c.BigSize = 3 << 20
	}
	cases := []struct {
		name string
		fn   func(*testing.T, Config)
	}{
		{"RoundTrip", testRoundTrip},
		{"Big", testBig},
		{"Empty", testEmpty},
		{"CreateOnly", testCreateOnly},
		{"ConcurrentCreates", testConcurrentCreates},
		{"InvisibleUntilCommit", testInvisibleUntilCommit},
		{"Abort", testAbort},
		{"Leftovers", testLeftovers},
		{"List", testList},
		{"Delete", testDelete},
		{"Names", testNames},
		{"Lock", testLock},
		{"Runs", testRuns},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, c) })
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func write(t *testing.T, loc backupset.Location, name string, data []byte, size int64) (backupset.FileRecord, error) {
	t.Helper()
	w, err := loc.Create(ctx(t), name, backupset.CreateOptions{Size: size})
	if err != nil {
		return backupset.FileRecord{}, err
	}
	defer w.Abort()
	// Odd-sized writes, as a stream from a helper would come.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 100_003)
		if _, err := w.Write(rest[:n]); err != nil {
			return backupset.FileRecord{}, err
		}
		rest = rest[n:]
	}
	return w.Commit()
}

func read(t *testing.T, loc backupset.Location, name string) []byte {
	t.Helper()
	rc, info, err := loc.Open(ctx(t), name)
	assert.NilError(t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	assert.NilError(t, err)
	assert.Equal(t, info.Size, int64(len(data)))
	return data
}

func testRoundTrip(t *testing.T, c Config) {
	loc := c.New(t)
	data := []byte("hello location\n")
	rec, err := write(t, loc, "a/b/hello.txt", data, int64(len(data)))
	assert.NilError(t, err)
	assert.Equal(t, rec.Name, "a/b/hello.txt")
	assert.Equal(t, rec.Size, int64(len(data)))
	assert.Equal(t, rec.SHA256, sum(data))
	assert.DeepEqual(t, read(t, loc, "a/b/hello.txt"), data)
	st, err := loc.Stat(ctx(t), "a/b/hello.txt")
	assert.NilError(t, err)
	assert.Equal(t, st.Size, int64(len(data)))
	assert.Assert(t, time.Since(st.Modified) < 24*time.Hour && time.Until(st.Modified) < time.Hour, "modified %s", st.Modified)
	assert.Assert(t, loc.Describe() != "")
}

// testBig writes an object of unknown size that spans several parts.
func testBig(t *testing.T, c Config) {
	loc := c.New(t)
	data := randomBytes(c.BigSize, 1)
	rec, err := write(t, loc, "big.bin", data, -1)
	assert.NilError(t, err)
	assert.Equal(t, rec.SHA256, sum(data))
	assert.Equal(t, sum(read(t, loc, "big.bin")), sum(data))

	// The same with its size known in advance.
	rec, err = write(t, loc, "big-sized.bin", data, int64(len(data)))
	assert.NilError(t, err)
	assert.Equal(t, rec.Size, int64(len(data)))
	assert.Equal(t, sum(read(t, loc, "big-sized.bin")), sum(data))
}

func testEmpty(t *testing.T, c Config) {
	loc := c.New(t)
	rec, err := write(t, loc, "empty", nil, -1)
	assert.NilError(t, err)
	assert.Equal(t, rec.Size, int64(0))
	assert.Equal(t, len(read(t, loc, "empty")), 0)
}

func testCreateOnly(t *testing.T, c Config) {
	loc := c.New(t)
	first := []byte("first")
	_, err := write(t, loc, "x/once", first, int64(len(first)))
	assert.NilError(t, err)

	// A small object, a big one and one of unknown size: none replaces it,
	// whether the name exists at Create or only at Commit.
	for _, data := range [][]byte{[]byte("second"), randomBytes(c.BigSize, 2)} {
		for _, size := range []int64{int64(len(data)), -1} {
			w, err := loc.Create(ctx(t), "x/once", backupset.CreateOptions{Size: size})
			if err == nil {
				_, err = w.Write(data)
				if err == nil {
					_, err = w.Commit()
				}
				w.Abort()
			}
			assert.Assert(t, errors.Is(err, backupset.ErrObjectExists), "size %d: %v", size, err)
		}
	}
	assert.DeepEqual(t, read(t, loc, "x/once"), first)
	leftovers, err := loc.Leftovers(ctx(t))
	assert.NilError(t, err)
	assert.Check(t, is.Len(leftovers, 0), "a refused create must leave nothing behind")
}

func testConcurrentCreates(t *testing.T, c Config) {
	loc := c.New(t)
	const n = 6
	var wg sync.WaitGroup
	writers := make([]backupset.ObjectWriter, n)
	for i := range writers {
		w, err := loc.Create(ctx(t), "race", backupset.CreateOptions{Size: 8})
		assert.NilError(t, err)
		_, err = fmt.Fprintf(w, "writer %d", i)
		assert.NilError(t, err)
		writers[i] = w
	}
	errs := make([]error, n)
	for i, w := range writers {
		wg.Go(func() { _, errs[i] = w.Commit(); w.Abort() })
	}
	wg.Wait()
	winners := 0
	winner := ""
	for i, err := range errs {
		if err == nil {
			winners++
			winner = fmt.Sprintf("writer %d", i)
		} else {
			assert.Check(t, errors.Is(err, backupset.ErrObjectExists), "%v", err)
		}
	}
	assert.Equal(t, winners, 1)
	assert.Equal(t, string(read(t, loc, "race")), winner)
}

func testInvisibleUntilCommit(t *testing.T, c Config) {
	loc := c.New(t)
	w, err := loc.Create(ctx(t), "runs/r1/pending", backupset.CreateOptions{Size: -1})
	assert.NilError(t, err)
	defer w.Abort()
	_, err = w.Write(randomBytes(c.BigSize, 3))
	assert.NilError(t, err)
	_, _, err = loc.Open(ctx(t), "runs/r1/pending")
	assert.Assert(t, errors.Is(err, backupset.ErrObjectNotFound), "%v", err)
	objs, err := loc.List(ctx(t), "")
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 0))
	_, err = w.Commit()
	assert.NilError(t, err)
	objs, err = loc.List(ctx(t), "")
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 1))
}

func testAbort(t *testing.T, c Config) {
	loc := c.New(t)
	for _, size := range []int{10, c.BigSize} {
		w, err := loc.Create(ctx(t), "aborted", backupset.CreateOptions{Size: -1})
		assert.NilError(t, err)
		_, err = w.Write(randomBytes(size, 4))
		assert.NilError(t, err)
		w.Abort()
		w.Abort() // twice is fine
		_, err = w.Commit()
		assert.Assert(t, err != nil, "commit after abort")
		_, err = loc.Stat(ctx(t), "aborted")
		assert.Assert(t, errors.Is(err, backupset.ErrObjectNotFound), "%v", err)
		leftovers, err := loc.Leftovers(ctx(t))
		assert.NilError(t, err)
		assert.Check(t, is.Len(leftovers, 0))
	}
	// The name is still free.
	_, err := write(t, loc, "aborted", []byte("ok"), 2)
	assert.NilError(t, err)
}

// testLeftovers: a writer that is never committed nor aborted (the process
// died) leaves a leftover that is not an object, and that can be removed.
func testLeftovers(t *testing.T, c Config) {
	loc := c.New(t)
	w, err := loc.Create(ctx(t), "runs/dead/neo4j.backup", backupset.CreateOptions{Size: -1})
	assert.NilError(t, err)
	_, err = w.Write(randomBytes(c.BigSize, 5))
	assert.NilError(t, err)
	if c.Settle != nil {
		c.Settle(t, w)
	}
	// w is abandoned here, as by a killed process.

	leftovers, err := loc.Leftovers(ctx(t))
	assert.NilError(t, err)
	assert.Assert(t, is.Len(leftovers, 1))
	assert.Equal(t, leftovers[0].Name, "runs/dead/neo4j.backup")
	objs, err := loc.List(ctx(t), "")
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 0))

	assert.NilError(t, loc.RemoveLeftover(ctx(t), leftovers[0]))
	leftovers, err = loc.Leftovers(ctx(t))
	assert.NilError(t, err)
	assert.Check(t, is.Len(leftovers, 0))
	w.Abort()
}

func testList(t *testing.T, c Config) {
	loc := c.New(t)
	for _, n := range []string{"runs/b/2", "runs/a/1", "runs/a/0", "other", "runsx/1"} {
		_, err := write(t, loc, n, []byte(n), int64(len(n)))
		assert.NilError(t, err)
	}
	names := func(prefix string) []string {
		objs, err := loc.List(ctx(t), prefix)
		assert.NilError(t, err)
		var out []string
		for _, o := range objs {
			assert.Equal(t, o.Size, int64(len(o.Name)))
			out = append(out, o.Name)
		}
		return out
	}
	assert.DeepEqual(t, names("runs/"), []string{"runs/a/0", "runs/a/1", "runs/b/2"})
	assert.DeepEqual(t, names("runs/a/"), []string{"runs/a/0", "runs/a/1"})
	assert.DeepEqual(t, names(""), []string{"other", "runs/a/0", "runs/a/1", "runs/b/2", "runsx/1"})
	assert.Check(t, is.Len(names("nothing/"), 0))
}

func testDelete(t *testing.T, c Config) {
	loc := c.New(t)
	_, err := write(t, loc, "runs/a/x", []byte("x"), 1)
	assert.NilError(t, err)
	assert.NilError(t, loc.Delete(ctx(t), "runs/a/x"))
	_, _, err = loc.Open(ctx(t), "runs/a/x")
	assert.Assert(t, errors.Is(err, backupset.ErrObjectNotFound), "%v", err)
	assert.NilError(t, loc.Delete(ctx(t), "runs/a/x"), "deleting a missing object is not an error")
	objs, err := loc.List(ctx(t), "")
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 0))
}

func testNames(t *testing.T, c Config) {
	loc := c.New(t)
	for _, bad := range []string{"", "/abs", "a//b", "../x", "a/../b", "a/./b", "x.partial", `a\b`, "a/", "tab\there"} {
		_, err := loc.Create(ctx(t), bad, backupset.CreateOptions{Size: 1})
		assert.Check(t, err != nil, "%q accepted", bad)
	}
	_, _, err := loc.Open(ctx(t), "../etc/passwd")
	assert.Check(t, err != nil)
}

func testLock(t *testing.T, c Config) {
	loc := c.New(t)
	other := loc
	if c.NewLockHolder != nil {
		other = c.NewLockHolder(t, loc)
	}
	lease, err := loc.Lock(ctx(t), "backup")
	assert.NilError(t, err)
	assert.NilError(t, lease.Refresh(ctx(t)))

	_, err = other.Lock(ctx(t), "prune")
	var locked *backupset.LockedError
	assert.Assert(t, errors.As(err, &locked), "%v", err)
	assert.Check(t, is.Equal(locked.Holder.Command, "backup"))
	assert.Check(t, strings.Contains(err.Error(), "backup"), "%v", err)

	objs, err := loc.List(ctx(t), "")
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 0), "the lock is not an object of the location")

	assert.NilError(t, lease.Release(ctx(t)))
	lease2, err := other.Lock(ctx(t), "prune")
	assert.NilError(t, err)
	assert.NilError(t, lease2.Release(ctx(t)))
}

func testRuns(t *testing.T, c Config) {
	loc := c.New(t)
	started := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	commit := func(id string, started time.Time, files map[string][]byte) error {
		m := backupset.RunManifest{Tool: "test", Run: backupset.RunRecord{ID: id, Started: started, Complete: true}}
		for name, data := range files {
			rec, err := write(t, loc, backupset.ArtifactKey(id, name), data, int64(len(data)))
			if err != nil {
				return err
			}
			rec.Name = name
			m.Files = append(m.Files, backupset.RunFile{FileRecord: rec})
		}
		return backupset.CommitRun(ctx(t), loc, m)
	}
	idA := backupset.NewLocationRunID(started)
	idB := backupset.NewLocationRunID(started.Add(time.Hour))
	assert.Assert(t, idA != backupset.NewLocationRunID(started), "run ids are unique")
	assert.NilError(t, commit(idB, started.Add(time.Hour), map[string][]byte{"neo4j.dump": []byte("b")}))
	assert.NilError(t, commit(idA, started, map[string][]byte{"neo4j.dump": []byte("a"), "storage.tar": []byte("st")}))

	// A run that died before its manifest: orphans, not a run.
	dead := backupset.NewLocationRunID(started.Add(2 * time.Hour))
	_, err := write(t, loc, backupset.ArtifactKey(dead, "neo4j.dump"), []byte("dead"), 4)
	assert.NilError(t, err)
	// Copy records (a copy's record of each file it uploaded) belong to
	// their run: orphans of a dead run, neither orphans nor stray in a
	// committed one, removed with it.
	_, err = write(t, loc, backupset.CopyRecordKey(dead, "neo4j.dump"), []byte("{}"), 2)
	assert.NilError(t, err)
	_, err = write(t, loc, backupset.CopyRecordKey(idA, "neo4j.dump"), []byte("{}"), 2)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(backupset.CopyRecordFile(".copy/neo4j.dump.json"), "neo4j.dump"))

	// A manifest is written once.
	m, err := backupset.ReadRun(ctx(t), loc, idA)
	assert.NilError(t, err)
	assert.Equal(t, len(m.Files), 2)
	err = backupset.CommitRun(ctx(t), loc, *m)
	assert.Assert(t, errors.Is(err, backupset.ErrObjectExists), "%v", err)

	// A manifest naming a missing file is refused.
	err = backupset.CommitRun(ctx(t), loc, backupset.RunManifest{Run: backupset.RunRecord{ID: "run-x"},
		Files: []backupset.RunFile{{FileRecord: backupset.FileRecord{Name: "gone", SHA256: sum(nil)}}}})
	assert.Assert(t, errors.Is(err, backupset.ErrObjectNotFound), "%v", err)

	listing, err := backupset.ListRuns(ctx(t), loc)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(listing.Runs, 2))
	assert.Equal(t, listing.Runs[0].Run.ID, idA)
	assert.Equal(t, listing.Runs[1].Run.ID, idB)
	assert.Assert(t, is.Len(listing.Orphans, 2))
	assert.Equal(t, listing.Orphans[0].Name, backupset.CopyRecordKey(dead, "neo4j.dump"), "records sort first")
	assert.Equal(t, listing.Orphans[1].Name, backupset.ArtifactKey(dead, "neo4j.dump"))
	assert.Check(t, is.Len(listing.Stray, 0))

	assert.NilError(t, backupset.DeleteRun(ctx(t), loc, idA))
	listing, err = backupset.ListRuns(ctx(t), loc)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(listing.Runs, 1))
	assert.Equal(t, listing.Runs[0].Run.ID, idB)
	objs, err := loc.List(ctx(t), backupset.RunsPrefix+idA)
	assert.NilError(t, err)
	assert.Check(t, is.Len(objs, 0))
	assert.Check(t, bytes.Equal(read(t, loc, backupset.ArtifactKey(idB, "neo4j.dump")), []byte("b")))
}
