package backupset

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestSelectPrune(t *testing.T) {
	twoChains := []Artifact{
		art("neo4j", 0, TypeFull), art("neo4j", 1, TypeDiff),
		art("neo4j", 5, TypeFull), art("neo4j", 6, TypeDiff),
		art("system", 0, TypeFull), art("system", 5, TypeFull),
	}
	tests := []struct {
		doc    string
		in     []Artifact
		keep   int
		kept   []string
		delete []string
		err    string
	}{
		{
			doc: "keep 1: whole older chains go", in: twoChains, keep: 1,
			kept:   []string{"neo4j-2026-03-01T05-00-00.backup", "neo4j-2026-03-01T06-00-00.backup", "system-2026-03-01T05-00-00.backup"},
			delete: []string{"neo4j-2026-03-01T00-00-00.backup", "neo4j-2026-03-01T01-00-00.backup", "system-2026-03-01T00-00-00.backup"},
		},
		{
			doc: "keep more than there are", in: twoChains, keep: 5,
			kept: Names(twoChains),
		},
		{doc: "keep 0 refused", in: twoChains, keep: 0, err: "--keep must be at least 1 (got 0): prune never deletes every backup"},
		{doc: "negative keep refused", in: twoChains, keep: -1, err: "--keep must be at least 1 (got -1): prune never deletes every backup"},
		{
			doc:    "a broken newest chain is kept, with the newest complete one",
			in:     []Artifact{art("neo4j", 0, TypeFull), art("neo4j", 1, TypeFull), art("neo4j", 2, TypeDiff), withTx(art("neo4j", 3, TypeFull), 1, 5), withTx(art("neo4j", 4, TypeDiff), 9, 10)},
			keep:   1,
			kept:   []string{"neo4j-2026-03-01T01-00-00.backup", "neo4j-2026-03-01T02-00-00.backup", "neo4j-2026-03-01T03-00-00.backup", "neo4j-2026-03-01T04-00-00.backup"},
			delete: []string{"neo4j-2026-03-01T00-00-00.backup"},
		},
		{
			doc:  "a database with no complete chain is left alone",
			in:   []Artifact{art("neo4j", 1, TypeDiff), art("neo4j", 2, TypeDiff)},
			keep: 1,
			kept: []string{"neo4j-2026-03-01T01-00-00.backup", "neo4j-2026-03-01T02-00-00.backup"},
		},
		{
			doc:  "files of unknown type are not deleted",
			in:   []Artifact{art("neo4j", 0, ""), art("neo4j", 1, "")},
			keep: 1,
			err:  "cannot prune neo4j: the manifest does not say whether neo4j-2026-03-01T00-00-00.backup is a full or a differential backup, so deleting it could break a newer chain; run `docker infrahubdb verify --adopt` first",
		},
		{
			doc:  "unknown files that are kept are fine",
			in:   []Artifact{art("neo4j", 0, ""), art("neo4j", 1, TypeFull), art("neo4j", 2, TypeFull)},
			keep: 2,
			kept: []string{"neo4j-2026-03-01T01-00-00.backup", "neo4j-2026-03-01T02-00-00.backup"},
			err:  "cannot prune neo4j",
		},
		{doc: "empty folder", in: nil, keep: 1},
	}
	for _, tc := range tests {
		t.Run(tc.doc, func(t *testing.T) {
			kept, deleted, err := SelectPrune(Chains(tc.in), tc.keep)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				assert.Assert(t, kept == nil && deleted == nil)
				return
			}
			assert.NilError(t, err)
			assert.DeepEqual(t, Names(kept), nonNil(tc.kept))
			assert.DeepEqual(t, Names(deleted), nonNil(tc.delete))
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Whatever the input, the plan keeps every diff's full and each database's
// newest file.
func TestSelectPruneInvariants(t *testing.T) {
	in := []Artifact{
		art("neo4j", 0, TypeFull), art("neo4j", 1, TypeDiff), art("neo4j", 2, TypeDiff),
		art("neo4j", 3, TypeFull), art("neo4j", 4, TypeDiff),
		art("neo4j", 5, TypeFull),
		art("neo4j", 6, TypeDiff), // belongs to the chain of 5
	}
	for keep := 1; keep <= 4; keep++ {
		kept, _, err := SelectPrune(Chains(in), keep)
		assert.NilError(t, err)
		keptSet := map[string]bool{}
		for _, a := range kept {
			keptSet[a.Name] = true
		}
		assert.Assert(t, keptSet[in[len(in)-1].Name], "keep=%d dropped the newest file", keep)
		for _, c := range Chains(kept)["neo4j"] {
			assert.Equal(t, c.Files[0].Type(), TypeFull, "keep=%d left a diff without its full", keep)
		}
	}
}
