package pgdump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	return pgdumptest.File(name)
}

func readBytes(b []byte) (*Archive, error) {
	return ReadArchive(bytes.NewReader(b), int64(len(b)))
}

// Real pg_dump 15 archives read as pg_restore --list reads them (the
// figures are those pg_restore -l printed for each file).
func TestReadArchiveOfRealDumps(t *testing.T) {
	for _, tc := range []struct {
		file                        string
		entries, tables, dataBlocks int
		compression, database       string
	}{
		{file: "prefect.pgdump", entries: 26, tables: 3, dataBlocks: 3, compression: "gzip (default level)", database: "prefect"},
		{file: "prefect-piped.pgdump", entries: 26, tables: 3, dataBlocks: 3, compression: "gzip (default level)", database: "prefect"},
		{file: "prefect-z0.pgdump", entries: 26, tables: 3, dataBlocks: 3, compression: "none", database: "prefect"},
		{file: "blobs.pgdump", entries: 9, tables: 1, dataBlocks: 2, compression: "gzip (default level)", database: "blobs"},
		{file: "blobs-piped.pgdump", entries: 9, tables: 1, dataBlocks: 2, compression: "none", database: "blobs"},
		{file: "empty.pgdump", entries: 4, tables: 0, dataBlocks: 0, compression: "gzip (default level)", database: "empty"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			a, err := readBytes(fixture(t, tc.file))
			assert.NilError(t, err)
			assert.Check(t, a.Known)
			assert.Check(t, is.Equal(a.Warning, ""))
			assert.Check(t, is.Equal(a.Version, "1.14-0"))
			assert.Check(t, is.Equal(a.IntSize, 4))
			assert.Check(t, is.Equal(a.OffSize, 8))
			assert.Check(t, is.Equal(a.Compression, tc.compression))
			assert.Check(t, is.Equal(a.Database, tc.database))
			assert.Check(t, is.Contains(a.PgDumpVersion, "15."))
			assert.Check(t, is.Contains(a.ServerVersion, "15."))
			assert.Check(t, is.Equal(a.Created.Year(), 2026))
			assert.Check(t, is.Len(a.Entries, tc.entries))
			assert.Check(t, is.Equal(a.Tables(), tc.tables))
			assert.Check(t, is.Equal(a.DataBlocks, tc.dataBlocks))
		})
	}
	a, err := readBytes(fixture(t, "prefect.pgdump"))
	assert.NilError(t, err)
	var tags []string
	for _, e := range a.Entries {
		if e.Desc == "TABLE" {
			tags = append(tags, e.Namespace+"."+e.Tag)
			assert.Check(t, is.Equal(e.Owner, "postgres"))
			assert.Check(t, is.Equal(e.TableAM, "heap"))
			assert.Check(t, e.OID != 0 && e.TableOID == 1259, "%+v", e)
		}
		if e.Desc == "TABLE DATA" {
			assert.Check(t, e.DataState == offsetPosSet && e.DataPos > 0, "%+v", e)
			assert.Check(t, is.Len(e.Deps, 1))
		}
	}
	assert.Check(t, is.DeepEqual(tags, []string{"public.flow", "public.flow_run", "public.log"}))
}

// A dump cut anywhere fails: in the header, in the table of contents, in
// or before any data block, piped (no offsets) or not.
func TestReadArchiveRefusesTruncatedDumps(t *testing.T) {
	for _, file := range []string{"prefect.pgdump", "prefect-piped.pgdump", "prefect-z0.pgdump", "blobs.pgdump", "blobs-piped.pgdump", "empty.pgdump"} {
		whole := fixture(t, file)
		cuts := []int{0, 3, 5, 8, 20, 100, 400, len(whole) / 2, len(whole) - 200, len(whole) - 20, len(whole) - 5, len(whole) - 1}
		for _, cut := range cuts {
			if cut < 0 || cut >= len(whole) {
				continue
			}
			_, err := readBytes(whole[:cut])
			var ae *ArchiveError
			assert.Check(t, errors.As(err, &ae), "%s cut at %d of %d: %v", file, cut, len(whole), err)
		}
	}
	// The same at every byte of a small one.
	whole := fixture(t, "blobs-piped.pgdump")
	for cut := range len(whole) {
		_, err := readBytes(whole[:cut])
		assert.Check(t, err != nil, "cut at %d of %d", cut, len(whole))
	}
	_, err := readBytes(fixture(t, "prefect.pgdump")[:6000])
	assert.Check(t, is.ErrorContains(err, "truncated"))
}

func TestReadArchiveRefusesWhatIsNoCustomDump(t *testing.T) {
	_, err := readBytes(fixture(t, "prefect.sql"))
	assert.Check(t, is.ErrorContains(err, "no PGDMP header"))
	_, err = readBytes(nil)
	assert.Check(t, is.ErrorContains(err, "no PGDMP header"))

	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		junk := make([]byte, 1+rng.IntN(4096))
		for j := range junk {
			junk[j] = byte(rng.Uint32())
		}
		if i%2 == 0 { // random bytes behind a right magic and version
			copy(junk, "PGDMP\x01\x0e\x00")
		}
		_, err := readBytes(junk)
		assert.Check(t, err != nil, "random bytes #%d read as a dump", i)
	}

	// A tar-format dump's header says so.
	b := append([]byte(nil), fixture(t, "prefect.pgdump")...)
	b[10] = 3
	_, err = readBytes(b)
	assert.Check(t, is.ErrorContains(err, "format is tar, not custom"))

	// A TOC pointing elsewhere than its block, or outside the file.
	a, err := readBytes(fixture(t, "prefect.pgdump"))
	assert.NilError(t, err)
	var data []TOCEntry
	for _, e := range a.Entries {
		if e.DataState == offsetPosSet {
			data = append(data, e)
		}
	}
	b = append([]byte(nil), fixture(t, "prefect.pgdump")...)
	at := bytes.Index(b, offsetBytes(data[0].DataPos))
	assert.Assert(t, at > 0)
	copy(b[at:], offsetBytes(data[1].DataPos))
	_, err = readBytes(b)
	assert.Check(t, is.ErrorContains(err, "holds block ID"))
	copy(b[at:], offsetBytes(int64(len(b))+10))
	_, err = readBytes(b)
	assert.Check(t, is.ErrorContains(err, "outside the file"))
}

// offsetBytes is how a custom archive records a set data offset.
func offsetBytes(pos int64) []byte {
	b := []byte{offsetPosSet, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint64(b[1:], uint64(pos))
	return b
}

// A newer archive version than the reader knows is not refused: its header
// is checked and a warning says the rest was not read.
func TestReadArchiveOfANewerVersionWarns(t *testing.T) {
	b := append([]byte(nil), fixture(t, "prefect.pgdump")...)
	b[6] = 16 // 1.16: pg_dump 17
	a, err := readBytes(b)
	assert.NilError(t, err)
	assert.Check(t, !a.Known)
	assert.Check(t, is.Equal(a.Version, "1.16-0"))
	assert.Check(t, is.Contains(a.Warning, "newer than this plugin reads"))
	b[5] = 'r' // "PGDMProws": no dump of any version
	_, err = readBytes(b)
	assert.Check(t, is.ErrorContains(err, "unsupported archive version 114.16"))

	// 1.15 (pg_dump 16) is read: the compression algorithm is a byte.
	b = append([]byte(nil), fixture(t, "prefect.pgdump")...)
	b[6] = 15
	b15 := append(append(append([]byte(nil), b[:11]...), 1), b[16:]...) // gzip, no level
	shift := int64(len(b15) - len(b))
	a, err = readBytes(rebase(t, b15, shift))
	assert.NilError(t, err)
	assert.Check(t, a.Known)
	assert.Check(t, is.Equal(a.Compression, "gzip"))
	assert.Check(t, is.Equal(a.DataBlocks, 3))
}

// rebase moves every recorded data offset of a 1.15 copy of prefect.pgdump
// by shift bytes (its header is shorter).
func rebase(t *testing.T, b []byte, shift int64) []byte {
	t.Helper()
	orig, err := readBytes(fixture(t, "prefect.pgdump"))
	assert.NilError(t, err)
	for _, e := range orig.Entries {
		if e.DataState != offsetPosSet {
			continue
		}
		at := bytes.Index(b, offsetBytes(e.DataPos))
		assert.Assert(t, at > 0)
		copy(b[at:], offsetBytes(e.DataPos+shift))
	}
	return b
}
