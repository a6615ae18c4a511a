package backupset

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/fs"
)

type entry struct {
	name     string
	typ      byte
	body     string
	linkname string
}

func tarStream(t *testing.T, entries ...entry) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Linkname: e.linkname}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		assert.NilError(t, tw.WriteHeader(hdr))
		_, err := io.WriteString(tw, e.body)
		assert.NilError(t, err)
	}
	assert.NilError(t, tw.Close())
	return &buf
}

func acceptAll(string) bool { return true }

const (
	artA = "neo4j-2026-03-01T00-00-00.backup"
	artB = "system-2026-03-01T00-00-00.backup"
)

func TestReceiveTar(t *testing.T) {
	f := testFolder(t, fs.WithFile(artB, "old"))
	var events []string
	r := tarStream(t,
		entry{name: "backups/", typ: tar.TypeDir},
		entry{name: "backups/" + artA, body: "AAAA"},
		entry{name: "backups/" + artB, body: "already here"},
		entry{name: "backups/notes.txt", body: "skipped"},
		entry{name: "backups/./neo4j-2026-03-01T01-00-00.backup", body: "B"},
	)
	accept := func(name string) bool {
		_, err := os.Stat(f.Path(name))
		return strings.HasSuffix(name, ArtifactExt) && os.IsNotExist(err)
	}
	recs, err := f.ReceiveTar(r, accept, func(name string, done, total int64) {
		events = append(events, fmt.Sprintf("%s:%d/%d", name, done, total))
	})
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 2)
	assert.Equal(t, recs[0].Name, artA)
	assert.Equal(t, recs[0].SHA256, sha("AAAA"))
	assert.Equal(t, recs[0].Database, "neo4j")
	assert.Equal(t, recs[1].Name, "neo4j-2026-03-01T01-00-00.backup")
	assert.DeepEqual(t, events, []string{artA + ":0/4", artA + ":4/4", "neo4j-2026-03-01T01-00-00.backup:0/1", "neo4j-2026-03-01T01-00-00.backup:1/1"})
	assert.Assert(t, fs.Equal(f.Dir, fs.Expected(t, fs.WithMode(dirMode(t, f.Dir)),
		fs.WithFile(artA, "AAAA", fs.WithMode(0o600)),
		fs.WithFile("neo4j-2026-03-01T01-00-00.backup", "B", fs.WithMode(0o600)),
		fs.WithFile(artB, "old", fs.MatchAnyFileMode),
	)))
}

func TestReceiveTarSingleFile(t *testing.T) {
	f := testFolder(t)
	recs, err := f.ReceiveTar(tarStream(t, entry{name: artA, body: "x"}), acceptAll, nil)
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 1)
	assert.Equal(t, recs[0].Name, artA)
}

// Hostile or unexpected entries fail the whole receive and leave nothing
// behind, including files committed before the bad entry.
func TestReceiveTarRefuses(t *testing.T) {
	good := entry{name: "backups/" + artA, body: "good"}
	tests := []struct {
		doc string
		bad entry
		err string
	}{
		{doc: "dot dot", bad: entry{name: "../x.backup", body: "x"}, err: `".." in the path`},
		{doc: "dot dot inside", bad: entry{name: "backups/../../x.backup", body: "x"}, err: `".." in the path`},
		{doc: "absolute", bad: entry{name: "/etc/x", body: "x"}, err: "absolute path"},
		{doc: "symlink", bad: entry{name: "backups/" + artB, typ: tar.TypeSymlink, linkname: "/etc/passwd"}, err: "not a regular file"},
		{doc: "hardlink", bad: entry{name: "backups/" + artB, typ: tar.TypeLink, linkname: "backups/" + artA}, err: "not a regular file"},
		{doc: "char device", bad: entry{name: "backups/null", typ: tar.TypeChar}, err: "not a regular file"},
		{doc: "fifo", bad: entry{name: "backups/fifo", typ: tar.TypeFifo}, err: "not a regular file"},
		{doc: "nested file", bad: entry{name: "backups/sub/" + artB, body: "x"}, err: "nested directory"},
		{doc: "nested dir", bad: entry{name: "backups/sub/", typ: tar.TypeDir}, err: "nested directory"},
		{doc: "backslash", bad: entry{name: `backups\..\x`, body: "x"}, err: "invalid characters"},
		{doc: "duplicate", bad: entry{name: "other/" + artA, body: "again"}, err: "already exists"},
	}
	for _, tc := range tests {
		t.Run(tc.doc, func(t *testing.T) {
			f := testFolder(t)
			recs, err := f.ReceiveTar(tarStream(t, good, tc.bad), acceptAll, nil)
			assert.ErrorContains(t, err, tc.err)
			assert.Assert(t, recs == nil)
			assert.Assert(t, fs.Equal(f.Dir, fs.Expected(t, fs.WithMode(dirMode(t, f.Dir)))))
		})
	}
}

func TestReceiveTarTruncatedStream(t *testing.T) {
	f := testFolder(t)
	full := tarStream(t, entry{name: "b/" + artA, body: "first"}, entry{name: "b/" + artB, body: strings.Repeat("x", 4000)}).(*bytes.Buffer)
	cut := bytes.NewReader(full.Bytes()[:2048])
	_, err := f.ReceiveTar(cut, acceptAll, nil)
	assert.ErrorContains(t, err, artB)
	assert.Assert(t, fs.Equal(f.Dir, fs.Expected(t, fs.WithMode(dirMode(t, f.Dir)))))
}

func TestSendTar(t *testing.T) {
	f := testFolder(t, fs.WithFile(artA, "AAAA", fs.WithMode(0o600)), fs.WithFile(artB, "BB"), fs.WithDir("sub"))
	var buf bytes.Buffer
	var done []int64
	assert.NilError(t, f.SendTar(&buf, []string{artA, artB}, func(_ string, d, _ int64) { done = append(done, d) }))
	assert.DeepEqual(t, done, []int64{0, 4, 0, 2})

	tr := tar.NewReader(&buf)
	for _, want := range []struct{ name, body string }{{artA, "AAAA"}, {artB, "BB"}} {
		hdr, err := tr.Next()
		assert.NilError(t, err)
		assert.Equal(t, hdr.Name, want.name)
		assert.Equal(t, hdr.Typeflag, byte(tar.TypeReg))
		assert.Equal(t, hdr.Mode, int64(0o644))
		assert.Equal(t, hdr.Uid, 0)
		assert.Equal(t, hdr.Gid, 0)
		body, err := io.ReadAll(tr)
		assert.NilError(t, err)
		assert.Equal(t, string(body), want.body)
	}
	_, err := tr.Next()
	assert.Equal(t, err, io.EOF)

	// And what SendTar writes, ReceiveTar takes back.
	other := testFolder(t)
	buf.Reset()
	assert.NilError(t, f.SendTar(&buf, []string{artA}, nil))
	recs, err := other.ReceiveTar(&buf, acceptAll, nil)
	assert.NilError(t, err)
	assert.Equal(t, recs[0].SHA256, sha("AAAA"))

	assert.ErrorContains(t, f.SendTar(io.Discard, []string{"../x"}, nil), "path separator")
	assert.ErrorContains(t, f.SendTar(io.Discard, []string{"sub"}, nil), "not a regular file")
	assert.ErrorContains(t, f.SendTar(io.Discard, []string{"missing.backup"}, nil), "no such file")
}

// SendTarChecked checks each recorded file as it sends it: a file whose
// hash or size does not match fails the stream, and the receiver never gets
// a complete entry of it; a matching or unrecorded file goes out as SendTar
// sends it.
func TestSendTarChecked(t *testing.T) {
	f := testFolder(t, fs.WithFile(artA, "AAAA"), fs.WithFile(artB, "BB"))
	m := &Manifest{Files: []FileRecord{{Name: artA, Size: 4, SHA256: sha("AAAA")}}}
	var buf bytes.Buffer
	assert.NilError(t, f.SendTarChecked(&buf, []string{artA, artB}, m, nil))
	recs, err := testFolder(t).ReceiveTar(&buf, acceptAll, nil)
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 2)
	assert.Equal(t, recs[0].SHA256, sha("AAAA"))

	for _, tc := range []struct {
		rec  FileRecord
		want string
	}{
		{FileRecord{Name: artA, Size: 4, SHA256: sha("AAAB")}, artA + ": changed: SHA-256 " + sha("AAAA") + ", the manifest records " + sha("AAAB")},
		{FileRecord{Name: artA, Size: 5, SHA256: sha("AAAA")}, artA + ": truncated: 4 bytes, the manifest records 5"},
		{FileRecord{Name: artA, Size: 3, SHA256: sha("AAAA")}, artA + ": changed: 4 bytes, the manifest records 3"},
	} {
		buf.Reset()
		err := f.SendTarChecked(&buf, []string{artA}, &Manifest{Files: []FileRecord{tc.rec}}, nil)
		var pe *ProblemError
		assert.Assert(t, errors.As(err, &pe), "got %v", err)
		assert.Equal(t, err.Error(), tc.want)
		got, err := testFolder(t).ReceiveTar(&buf, acceptAll, nil)
		assert.Assert(t, err != nil || len(got) == 0, "the receiver got a whole entry of a file that failed")
	}

	// An error of the receiving end is not taken for the file's.
	err = f.SendTarChecked(&failingWriter{after: 1}, []string{artA}, m, nil)
	var pe *ProblemError
	assert.Assert(t, !errors.As(err, &pe), "got %v", err)
	assert.ErrorContains(t, err, "disk full")
}
