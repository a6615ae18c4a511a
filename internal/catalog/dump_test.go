package catalog

import (
	"context"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Dumps (Community backups) sit beside online backups: each is a complete
// chain of its own for list, verify and prune.
func TestDumpsAreChainsOfTheirOwn(t *testing.T) {
	dump := func(d, h int) string { return backupset.DumpName("neo4j", day(d, h)) }
	folder := makeFolder(t, append(twoChains(),
		file{name: dump(22, 10), typ: backupset.TypeDump},
		file{name: dump(23, 10), typ: backupset.TypeDump},
	)...)

	l, err := List(context.Background(), nil, folder, ListOptions{}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.Len(l.Unexpected, 0))
	neo4j := l.Databases[0]
	assert.Assert(t, is.Len(neo4j.Chains, 4))
	newest := neo4j.Chains[3]
	assert.Check(t, newest.Newest && newest.Complete && !newest.Unverified)
	assert.Check(t, is.Equal(newest.Files[0].Type, backupset.TypeDump))

	v, err := Verify(context.Background(), nil, folder, VerifyOptions{}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, v.OK, "%v", v.Problems)

	p, err := Prune(folder, 1, true, progress.Nop)
	assert.NilError(t, err)
	var kept []string
	for _, f := range p.Kept {
		kept = append(kept, f.Name)
	}
	assert.Check(t, is.Contains(kept, dump(23, 10)))
	assert.Check(t, !contains(kept, dump(22, 10)), "the older dump is pruned: %v", kept)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
