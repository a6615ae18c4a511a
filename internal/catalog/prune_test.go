package catalog

import (
	"errors"
	"os"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

func TestPruneDryRunDeletesNothing(t *testing.T) {
	folder := makeFolder(t, twoChains()...)
	res, err := Prune(folder, 1, false, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, !res.Deleted)
	assert.Check(t, is.DeepEqual(prunedNames(res.Delete), []string{name("neo4j", 20, 10)}))
	assert.Check(t, is.Len(res.Kept, 3))
	_, err = os.Stat(folder.Path(name("neo4j", 20, 10)))
	assert.Check(t, err)
}

func TestPruneDeletesOldChainsAndUpdatesManifest(t *testing.T) {
	folder := makeFolder(t, twoChains()...)
	res, err := Prune(folder, 1, true, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, res.Deleted)
	_, err = os.Stat(folder.Path(name("neo4j", 20, 10)))
	assert.Check(t, os.IsNotExist(err))

	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	var recorded []string
	for _, r := range m.Files {
		recorded = append(recorded, r.Name)
	}
	assert.Check(t, is.DeepEqual(recorded, []string{name("neo4j", 21, 10), name("neo4j", 21, 11), name("system", 21, 10)}))
	_, err = os.Stat(folder.Path(backupset.LockName))
	assert.Check(t, os.IsNotExist(err), "the lock is released")
	again := verifyOffline(t, folder)
	assert.Check(t, again.OK, "%+v", again.Problems)
}

func TestPruneKeepsEverythingWhenFewChains(t *testing.T) {
	folder := makeFolder(t, twoChains()...)
	res, err := Prune(folder, 5, true, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.Len(res.Delete, 0))
	assert.Check(t, !res.Deleted)
}

func TestPruneRefusesUnsafePolicies(t *testing.T) {
	t.Run("keep 0", func(t *testing.T) {
		folder := makeFolder(t, twoChains()...)
		_, err := Prune(folder, 0, true, progress.Nop)
		var refused *PruneRefusedError
		assert.Check(t, errors.As(err, &refused))
	})
	t.Run("unknown types", func(t *testing.T) {
		folder := makeFolder(t,
			file{name: name("neo4j", 20, 10), unrecorded: true},
			file{name: name("neo4j", 21, 10), unrecorded: true},
		)
		_, err := Prune(folder, 1, true, progress.Nop)
		var refused *PruneRefusedError
		assert.Check(t, errors.As(err, &refused))
		assert.Check(t, is.ErrorContains(err, "verify --adopt"))
		_, err = os.Stat(folder.Path(name("neo4j", 20, 10)))
		assert.Check(t, err)
	})
	t.Run("a diff without its full", func(t *testing.T) {
		// The newest chain lost its full: it is incomplete, so the older
		// complete chain is the one kept, and nothing older than it goes.
		folder := makeFolder(t, twoChains()...)
		assert.NilError(t, os.Remove(folder.Path(name("neo4j", 21, 10))))
		res, err := Prune(folder, 1, true, progress.Nop)
		assert.NilError(t, err)
		assert.Check(t, is.Len(res.Delete, 0))
	})
}

func prunedNames(fs []PrunedFile) []string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return names
}
