package catalog

import (
	"context"
	"os"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

func TestListGroupsChainsOffline(t *testing.T) {
	files := append(twoChains(),
		file{name: name("neo4j", 22, 10), unrecorded: true},
		file{name: "neo4j-2026-11-22T11-00-00.backup.partial"},
		file{name: "notes.txt"},
		file{name: "neo4j-inconsistencies-2026-11-22T12-00-00.report"},
	)
	folder := makeFolder(t, files...)
	// A file that changed size after it was recorded.
	assert.NilError(t, os.WriteFile(folder.Path(name("system", 21, 10)), []byte("longer than it was"), 0o600))

	l, err := List(context.Background(), nil, folder, ListOptions{}, progress.Nop)
	assert.NilError(t, err)

	assert.Check(t, is.Equal(l.Manifest, "present"))
	assert.Check(t, is.DeepEqual(l.Partials, []string{"neo4j-2026-11-22T11-00-00.backup.partial"}))
	assert.Check(t, is.DeepEqual(l.Unexpected, []string{"notes.txt"}))
	assert.Check(t, is.DeepEqual(l.Reports, []string{"neo4j-inconsistencies-2026-11-22T12-00-00.report"}))
	assert.Assert(t, is.Len(l.Databases, 2))

	neo4j := l.Databases[0]
	assert.Check(t, is.Equal(neo4j.Name, "neo4j"))
	assert.Assert(t, is.Len(neo4j.Chains, 3))
	assert.Check(t, is.DeepEqual(chainNames(neo4j.Chains[1]), []string{name("neo4j", 21, 10), name("neo4j", 21, 11)}))
	assert.Check(t, is.Equal(neo4j.Chains[1].Files[1].Type, "diff"))
	assert.Check(t, is.Equal(neo4j.Chains[1].Files[1].FromTx, int64(21)))
	assert.Check(t, is.Equal(neo4j.Chains[1].Files[1].Manifest, StateOK))
	// The unrecorded file starts a chain of its own: the newest, unverified.
	newest := neo4j.Chains[2]
	assert.Check(t, newest.Newest && newest.Unverified && newest.Complete)
	assert.Check(t, is.Equal(newest.Files[0].Manifest, StateUnverified))
	assert.Check(t, is.Equal(newest.Files[0].Type, "unknown"))
	assert.Check(t, !neo4j.Chains[0].Newest)

	system := l.Databases[1]
	assert.Check(t, is.Equal(system.Chains[0].Files[0].Manifest, StateSize))
}

func TestListFlagsMissingFilesAndOrphanDiffs(t *testing.T) {
	folder := makeFolder(t, twoChains()...)
	assert.NilError(t, os.Remove(folder.Path(name("neo4j", 21, 10)))) // the full of the newest chain

	l, err := List(context.Background(), nil, folder, ListOptions{}, progress.Nop)
	assert.NilError(t, err)
	chains := l.Databases[0].Chains
	assert.Assert(t, is.Len(chains, 2))
	broken := chains[1]
	assert.Check(t, !broken.Complete)
	assert.Check(t, is.Contains(broken.Problem, "missing from the folder"))
	assert.Check(t, is.Equal(broken.Files[0].Manifest, StateMissing))
}

func TestListWithoutManifestIsUnverified(t *testing.T) {
	folder := makeFolder(t,
		file{name: name("neo4j", 20, 10), unrecorded: true},
		file{name: name("neo4j", 21, 10), unrecorded: true},
	)
	l, err := List(context.Background(), nil, folder, ListOptions{}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(l.Manifest, "none"))
	for _, c := range l.Databases[0].Chains {
		assert.Check(t, c.Unverified)
		assert.Check(t, is.Equal(c.Files[0].Manifest, StateUnverified))
	}
}

func TestListInspectAddsNeo4jView(t *testing.T) {
	folder, eng := unrecordedChain(t)
	l, err := List(context.Background(), eng, folder, ListOptions{Inspect: true, Helper: HelperOptions{Image: "neo4j:enterprise", Transfer: "stream"}}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, l.Inspected)
	assert.Check(t, is.Equal(l.InspectError, ""))
	// With Neo4j's types, the diff joins the full's chain.
	chains := l.Databases[0].Chains
	assert.Assert(t, is.Len(chains, 1))
	f := chains[0].Files[1]
	assert.Check(t, is.Equal(f.Type, backupset.TypeDiff))
	assert.Check(t, is.Equal(f.Manifest, StateUnverified))
	assert.Check(t, is.Equal(f.ToTx, int64(12)))
	assert.Assert(t, f.Neo4j != nil)
	assert.Check(t, is.Equal(f.Neo4j.Type(), backupset.TypeDiff))
	assert.Check(t, eng.Helpers[0].Removed())
	assert.Check(t, is.Equal(eng.Helpers[0].Spec().Image, "neo4j:enterprise"))
}

func chainNames(c ChainListing) []string {
	var names []string
	for _, f := range c.Files {
		names = append(names, f.Name)
	}
	return names
}

// Component files the manifest does not record are unverified, as graph
// files are; recorded ones are ok.
func TestListShowsComponentFiles(t *testing.T) {
	folder := runFolder(t)
	stray, _ := backupset.ComponentFileName(backupset.ComponentStorage, day(23, 10))
	assert.NilError(t, os.WriteFile(folder.Path(stray), componentContent(t, backupset.ComponentStorage, false), 0o600))

	l, err := List(context.Background(), nil, folder, ListOptions{}, progress.Nop)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(l.Components, 7))
	for _, f := range l.Components {
		want := StateOK
		if f.Name == stray {
			want = StateUnverified
		}
		assert.Check(t, is.Equal(f.Manifest, want), f.Name)
	}
	v := verifyOffline(t, folder)
	assert.Check(t, hasProblem(v.Problems, stray, backupset.ProblemExtra), "%+v", v.Problems)
}
