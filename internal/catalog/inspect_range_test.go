package catalog

import (
	"context"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// A diff whose transaction range backup inspect does not print is listed
// and adopted as a diff of unknown range, never as an empty one; a diff
// printed as 0 to 0 is empty.
func TestInspectWithoutTransactionRange(t *testing.T) {
	unknown, empty := name("neo4j", 20, 11), name("neo4j", 20, 12)
	type setupResult struct {
		folder *backupset.Folder
		eng    *helpertest.Engine
	}
	setup := func(t *testing.T) (setupResult, HelperOptions) {
		folder := makeFolder(t,
			file{name: name("neo4j", 20, 10), unrecorded: true},
			file{name: unknown, unrecorded: true},
			file{name: empty, unrecorded: true},
		)
		eng := newEngine(inspectAdmin(map[string]string{
			name("neo4j", 20, 10): `"full":true,"lowestTx":1,"highestTx":10`,
			unknown:               `"full":false`,
			empty:                 `"full":false,"lowestTx":0,"highestTx":0`,
		}, false))
		return setupResult{folder, eng}, HelperOptions{Image: "img", Transfer: helper.TransferStream}
	}

	t.Run("list", func(t *testing.T) {
		f, h := setup(t)
		l, err := List(context.Background(), f.eng, f.folder, ListOptions{Inspect: true, Helper: h}, progress.Nop)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(l.InspectError, ""))
		assert.Assert(t, is.Len(l.Databases, 1))
		assert.Assert(t, is.Len(l.Databases[0].Chains, 1), "%+v", l.Databases[0].Chains)
		files := l.Databases[0].Chains[0].Files
		assert.Assert(t, is.Len(files, 3))
		assert.Check(t, is.Equal(files[1].Type, "diff"))
		assert.Check(t, !files[1].Empty, "an unknown range is not empty")
		assert.Check(t, files[2].Empty)
	})

	t.Run("adopt", func(t *testing.T) {
		f, h := setup(t)
		res, err := Verify(context.Background(), f.eng, f.folder, VerifyOptions{Adopt: true, Tool: "docker-infrahubdb test", Helper: h}, progress.Nop)
		assert.NilError(t, err)
		assert.Check(t, res.OK, "%+v", res.Problems)
		m, err := f.folder.ReadManifest()
		assert.NilError(t, err)
		rec, ok := m.Lookup(unknown)
		assert.Assert(t, ok)
		assert.Check(t, is.Equal(rec.Type, "diff"))
		assert.Check(t, !rec.Empty)
		assert.Check(t, rec.FromTx == 0 && rec.ToTx == 0, "%+v", rec)
		rec, ok = m.Lookup(empty)
		assert.Assert(t, ok)
		assert.Check(t, rec.Empty, "%+v", rec)
	})
}
