package backupset

import (
	"context"
	"errors"
	"os"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/fs"
)

const (
	full0 = "neo4j-2026-03-01T00-00-00.backup"
	diff1 = "neo4j-2026-03-01T01-00-00.backup"
	sys0  = "system-2026-03-01T00-00-00.backup"
)

// goodFolder holds a full + diff chain of neo4j and a full of system, all in
// the manifest.
func goodFolder(t *testing.T) *Folder {
	f := testFolder(t)
	m := &Manifest{Tool: "docker-infrahubdb test"}
	for _, file := range []struct{ name, typ, body string }{
		{full0, TypeFull, "full backup of neo4j"},
		{diff1, TypeDiff, "diff of neo4j"},
		{sys0, TypeFull, "system"},
	} {
		pf, err := f.NewFile(file.name)
		assert.NilError(t, err)
		_, err = pf.Write([]byte(file.body))
		assert.NilError(t, err)
		rec, err := pf.Commit()
		assert.NilError(t, err)
		rec.Type = file.typ
		m.Upsert(rec)
	}
	assert.NilError(t, f.WriteManifest(m))
	return f
}

func TestVerify(t *testing.T) {
	tests := []struct {
		doc      string
		damage   func(t *testing.T, f *Folder)
		problems []Problem
		warnings []Problem
	}{
		{doc: "intact", damage: func(*testing.T, *Folder) {}},
		{
			doc: "flipped byte",
			damage: func(t *testing.T, f *Folder) {
				assert.NilError(t, os.WriteFile(f.Path(diff1), []byte("diff of neo5j"), 0o600))
			},
			problems: []Problem{{diff1, ProblemChanged, "SHA-256 " + sha("diff of neo5j") + ", the manifest records " + sha("diff of neo4j")}},
		},
		{
			doc: "truncated",
			damage: func(t *testing.T, f *Folder) {
				assert.NilError(t, os.Truncate(f.Path(sys0), 3))
			},
			problems: []Problem{{sys0, ProblemTruncated, "3 bytes, the manifest records 6"}},
		},
		{
			doc: "grown",
			damage: func(t *testing.T, f *Folder) {
				assert.NilError(t, os.WriteFile(f.Path(sys0), []byte("system!"), 0o600))
			},
			problems: []Problem{{sys0, ProblemChanged, "7 bytes, the manifest records 6"}},
		},
		{
			doc: "deleted full breaks its chain",
			damage: func(t *testing.T, f *Folder) {
				assert.NilError(t, os.Remove(f.Path(full0)))
			},
			problems: []Problem{
				{full0, ProblemMissing, "listed in the manifest but not in the folder"},
				{full0, ProblemChain, full0 + " is listed in the manifest but missing from the folder"},
			},
		},
		{
			doc: "extra and unexpected files",
			damage: func(t *testing.T, f *Folder) {
				assert.NilError(t, os.WriteFile(f.Path("neo4j-2026-03-02T00-00-00.backup"), []byte("?"), 0o600))
				assert.NilError(t, os.WriteFile(f.Path("README.txt"), []byte("?"), 0o600))
				assert.NilError(t, os.WriteFile(f.Path("x.backup.partial"), []byte("?"), 0o600))
			},
			problems: []Problem{{"neo4j-2026-03-02T00-00-00.backup", ProblemExtra, "backup file not listed in the manifest"}},
			warnings: []Problem{
				{"x.backup.partial", ProblemPartial, "left by an interrupted run; not a backup"},
				{"README.txt", ProblemUnexpected, "not a backup file"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.doc, func(t *testing.T) {
			f := goodFolder(t)
			tc.damage(t, f)
			rep, err := f.Verify(nil)
			assert.NilError(t, err)
			assert.DeepEqual(t, rep.Problems, tc.problems)
			assert.DeepEqual(t, rep.Warnings, tc.warnings)
			assert.Equal(t, rep.OK(), len(tc.problems) == 0)
		})
	}
}

func TestVerifyGivenManifest(t *testing.T) {
	f := goodFolder(t)
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	m.Remove(sys0)
	rep, err := f.Verify(m)
	assert.NilError(t, err)
	assert.DeepEqual(t, rep.Checked, []string{full0, diff1})
	assert.DeepEqual(t, rep.Problems, []Problem{{sys0, ProblemExtra, "backup file not listed in the manifest"}})
}

func TestVerifyMalformedManifest(t *testing.T) {
	f := goodFolder(t)
	assert.NilError(t, os.WriteFile(f.Path(ManifestName), []byte(`{"version":1,"files":[`), 0o600))
	_, err := f.Verify(nil)
	assert.ErrorIs(t, err, ErrMalformedManifest)
}

func TestScan(t *testing.T) {
	f := goodFolder(t)
	assert.NilError(t, os.Remove(f.Path(diff1)))
	fs.Apply(t, fs.DirFromPath(t, f.Dir),
		fs.WithFile("neo4j-2026-03-03T00-00-00.backup", "made by neo4j-admin"),
		fs.WithFile("my-db-2026-03-03T00-00-00-1.backup", "x"),
		fs.WithFile("half.backup.partial", ""),
		fs.WithFile(LockName, "{}"),
		fs.WithDir("safety-2026-03-02T10-00-00"),
		fs.WithDir("neo4j-2026-03-04T00-00-00.backup"), // a directory is no artifact
		fs.WithFile("notes.txt", ""),
	)
	c, err := f.Scan()
	assert.NilError(t, err)
	assert.NilError(t, c.ManifestErr)
	assert.Assert(t, c.HasManifest)
	assert.Assert(t, c.Locked)
	assert.DeepEqual(t, Names(c.Artifacts), []string{
		"my-db-2026-03-03T00-00-00-1.backup",
		full0,
		"neo4j-2026-03-03T00-00-00.backup",
		sys0,
	})
	assert.Equal(t, c.Artifacts[1].Type(), TypeFull)
	assert.Equal(t, c.Artifacts[1].Size, int64(len("full backup of neo4j")))
	assert.Equal(t, c.Artifacts[2].Type(), "")
	assert.Equal(t, c.Artifacts[0].Seq, 1)
	assert.Equal(t, len(c.Missing), 1)
	assert.Equal(t, c.Missing[0].Name, diff1)
	assert.DeepEqual(t, c.Partials, []string{"half.backup.partial"})
	assert.DeepEqual(t, c.SafetyDirs, []string{"safety-2026-03-02T10-00-00"})
	assert.DeepEqual(t, c.Unexpected, []string{"neo4j-2026-03-04T00-00-00.backup", "notes.txt"})

	chains := c.Chains()
	assert.Equal(t, len(chains["neo4j"]), 2)
	assert.DeepEqual(t, Names(chains["neo4j"][0].Files), []string{full0, diff1})
	assert.Assert(t, !chains["neo4j"][0].Complete) // its diff is gone
	assert.Assert(t, chains["neo4j"][1].Unverified)

	// A malformed manifest does not stop a listing.
	assert.NilError(t, os.WriteFile(f.Path(ManifestName), []byte("{"), 0o600))
	c, err = f.Scan()
	assert.NilError(t, err)
	assert.ErrorIs(t, c.ManifestErr, ErrMalformedManifest)
	assert.Equal(t, len(c.Artifacts), 4)
}

func TestDelete(t *testing.T) {
	f := goodFolder(t)
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	assert.NilError(t, f.Delete(m, full0, diff1))
	m, err = f.ReadManifest()
	assert.NilError(t, err)
	assert.DeepEqual(t, []string{m.Files[0].Name}, []string{sys0})
	rep, err := f.Verify(nil)
	assert.NilError(t, err)
	assert.Assert(t, rep.OK(), rep.Problems)
	assert.ErrorContains(t, f.Delete(m, "../x"), "path separator")
}

// Ctrl-C while hashing stops the hashing, also in the middle of a file.
func TestVerifyStopsWhenCancelled(t *testing.T) {
	f := goodFolder(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := f.VerifyContext(ctx, nil, func(name string, done, total int64) {
		calls++
		cancel() // Ctrl-C as the first file starts
	})
	assert.Check(t, errors.Is(err, context.Canceled), "got %v", err)
	assert.Check(t, is.Equal(calls, 1), "no file hashed after the cancel")
}

// backup --verify checks what the backup wrote, and the chains of its
// databases, not the rest of the folder.
func TestVerifyWrittenIgnoresOtherFiles(t *testing.T) {
	f := goodFolder(t)
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	written, _ := m.Lookup(sys0)
	// Damage a file of another database: not this backup's business.
	assert.NilError(t, os.Truncate(f.Path(diff1), 1))

	rep, err := f.VerifyWritten(context.Background(), []FileRecord{written}, nil)
	assert.NilError(t, err)
	assert.Check(t, rep.OK(), "%+v", rep.Problems)
	assert.Check(t, is.DeepEqual(rep.Checked, []string{sys0}))

	data, err := os.ReadFile(f.Path(sys0))
	assert.NilError(t, err)
	data[0] ^= 1
	assert.NilError(t, os.WriteFile(f.Path(sys0), data, 0o600))
	rep, err = f.VerifyWritten(context.Background(), []FileRecord{written}, nil)
	assert.NilError(t, err)
	assert.Check(t, is.Len(rep.Problems, 1))
	assert.Check(t, is.Equal(rep.Problems[0].Kind, ProblemChanged), "%+v", rep.Problems)
}

// A file the backup wrote but the manifest does not list is a problem.
func TestVerifyWrittenUnrecorded(t *testing.T) {
	f := goodFolder(t)
	rep, err := f.VerifyWritten(context.Background(), []FileRecord{{Name: "neo4j-2026-03-02T00-00-00.backup", Database: "neo4j"}}, nil)
	assert.NilError(t, err)
	assert.Check(t, is.Len(rep.Problems, 1))
	assert.Check(t, is.Equal(rep.Problems[0].Kind, ProblemMissing), "%+v", rep.Problems)
}
