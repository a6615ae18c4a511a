package restore_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// hostileArchive is a storage archive with one entry restore refuses.
func hostileArchive(t *testing.T, bad *tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./", Mode: 0o755, Typeflag: tar.TypeDir}))
	assert.NilError(t, tw.WriteHeader(bad))
	if bad.Size > 0 {
		_, err := tw.Write(bytes.Repeat([]byte("!"), int(bad.Size)))
		assert.NilError(t, err)
	}
	assert.NilError(t, tw.Close())
	return b.Bytes()
}

// The same bad folders fail verify and restore, with the same problem:
// restore before anything stops (exit 5). Each file's checksum in the
// manifest is right; only its content is wrong.
func TestRunSetRefusesWhatVerifyFails(t *testing.T) {
	dump := pgdumptest.Dump()
	for _, tc := range []struct {
		name      string
		component string
		content   func(t *testing.T) []byte
		want      string
	}{
		{name: "plain-SQL dump", component: backupset.ComponentTaskManager, content: func(*testing.T) []byte { return pgdumptest.Plain() }, want: "no PGDMP header"},
		{name: "dump cut in its table of contents", component: backupset.ComponentTaskManager, content: func(*testing.T) []byte { return dump[:600] }, want: "truncated"},
		{name: "dump cut in its data", component: backupset.ComponentTaskManager, content: func(*testing.T) []byte { return dump[:len(dump)-40] }, want: "truncated"},
		{name: "random bytes behind PGDMP", component: backupset.ComponentTaskManager, content: func(*testing.T) []byte {
			return append([]byte("PGDMP\x01\x0e\x00\x04\x08\x01"), bytes.Repeat([]byte{0xa5}, 300)...)
		}, want: "not a readable pg_dump custom-format archive"},
		{name: "storage archive with a ../ entry", component: backupset.ComponentStorage, content: func(t *testing.T) []byte {
			return hostileArchive(t, &tar.Header{Name: "./../../etc/cron.d/evil", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg})
		}, want: "leaves the storage directory"},
		{name: "storage archive with a link to /etc/passwd", component: backupset.ComponentStorage, content: func(t *testing.T) []byte {
			return hostileArchive(t, &tar.Header{Name: "./files/passwd", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
		}, want: "absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, pg := setFixture(t)
			m, err := f.folder.ReadManifest()
			assert.NilError(t, err)
			var rec backupset.FileRecord
			for _, r := range m.Files {
				if r.Component == tc.component {
					rec = r
				}
			}
			assert.Assert(t, rec.Name != "")
			assert.NilError(t, os.WriteFile(f.folder.Path(rec.Name), tc.content(t), 0o600))
			d, err := f.folder.Describe(rec.Name)
			assert.NilError(t, err)
			rec.Size, rec.SHA256 = d.Size, d.SHA256
			m.Upsert(rec)
			assert.NilError(t, f.folder.WriteManifest(m))
			f.eng.Calls = nil

			v, err := catalog.Verify(context.Background(), nil, f.folder, catalog.VerifyOptions{}, progress.Nop)
			assert.NilError(t, err)
			assert.Check(t, !v.OK)
			assert.Assert(t, is.Len(v.Problems, 1), "%+v", v.Problems)
			problem := v.Problems[0]
			assert.Check(t, is.Equal(problem.Kind, catalog.ProblemContent))
			assert.Check(t, is.Equal(problem.File, rec.Name))
			assert.Check(t, is.Contains(problem.Detail, tc.want))

			_, err = f.runSet(context.Background())
			var ve *restore.VerifyError
			assert.Assert(t, errors.As(err, &ve), "got %v", err)
			assert.Check(t, is.Equal(ve.ExitCode(), exitcode.Verify))
			assert.Check(t, is.DeepEqual(ve.Problems, []string{problem.String()}), "verify's message")
			for _, c := range f.eng.CallLog() {
				assert.Check(t, !strings.HasPrefix(c, "stop-container") && !strings.HasPrefix(c, "exec-in"), "nothing may stop or change: %s", c)
			}
			assert.Check(t, is.Equal(pg.rows, "rows damaged"), "the task manager is untouched")
		})
	}
}
