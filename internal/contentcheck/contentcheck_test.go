package contentcheck

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
)

func check(component string, b []byte) (Result, error) {
	return Check(component, bytes.NewReader(b), int64(len(b)))
}

func TestCheckTaskManagerDump(t *testing.T) {
	res, err := check(backupset.ComponentTaskManager, pgdumptest.Dump())
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(res, Result{Component: backupset.ComponentTaskManager, ArchiveVersion: "1.14-0", TOCEntries: 26, Tables: 3, DataBlocks: 3}))
	assert.Check(t, is.Equal(res.Summary(), "pg_dump archive 1.14-0: 26 TOC entries, 3 table(s), 3 data block(s) whole"))

	_, err = check(backupset.ComponentTaskManager, pgdumptest.Plain())
	assert.Check(t, is.ErrorContains(err, "no PGDMP header"))
	p := ProblemOf("task-manager-x.pgdump", err)
	assert.Check(t, is.Equal(p.Kind, Kind))
	assert.Check(t, is.Contains(p.String(), "task-manager-x.pgdump: content: restore refuses it: not a readable pg_dump custom-format archive"))

	// A newer archive version: the header only, with a warning.
	newer := pgdumptest.Dump()
	newer[6] = 16
	res, err = check(backupset.ComponentTaskManager, newer)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(res.Warning, "only its header was checked"))
	assert.Check(t, is.Equal(res.Summary(), "pg_dump archive 1.16-0, header only"))
}

func TestCheckStorageArchive(t *testing.T) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./", Mode: 0o755, Typeflag: tar.TypeDir}))
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./a", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg}))
	_, err := tw.Write([]byte("abc"))
	assert.NilError(t, err)
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./l", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}))
	assert.NilError(t, tw.Close())
	_, err = check(backupset.ComponentStorage, b.Bytes())
	assert.Check(t, is.ErrorContains(err, "absolute path"))

	// The graph is not read here.
	_, err = check(backupset.ComponentGraph, []byte("anything"))
	assert.NilError(t, err)
	assert.Check(t, !Applies(backupset.ComponentGraph))
}

// Through a decryption (an unsealed staging folder) a dump can only be
// read forward: the piped dumps pg_dump writes for the plugin read whole
// that way too, whatever their size against the reader's window.
func TestCheckOpenForwardOnly(t *testing.T) {
	for _, name := range []string{"prefect-piped.pgdump", "blobs-piped.pgdump", "empty.pgdump"} {
		t.Run(name, func(t *testing.T) {
			b := pgdumptest.File(name)
			want, err := check(backupset.ComponentTaskManager, b)
			assert.NilError(t, err)
			res, p := CheckOpen(struct{ io.Reader }{bytes.NewReader(b)}, int64(len(b)), backupset.FileRecord{Name: name, Component: backupset.ComponentTaskManager})
			assert.Check(t, p == nil, "%v", p)
			want.File = name
			assert.Check(t, is.DeepEqual(res, want))
		})
	}
}
