package restore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// system artifacts the fake neo4j-admin writes in the first and second run
// after the fixture's (neo4j2).
const (
	system2 = "system-2026-11-25T10-01-00.backup"
	system3 = "system-2026-11-25T10-02-00.backup"
)

// locationChain is backup s3://… --type diff and restore s3://… as the
// CLI runs them, against a folder used as a location and the fake engine:
// a full run, then a differential run seeded from the location.
type locationChain struct {
	f        *fixture
	loc      backupset.Location
	key      *age.X25519Identity // nil: a plain location
	rcp      agecrypt.Recipients
	full     string // the location's runs
	diff     string
	diffCopy offsite.CopiedRun
}

func (c *locationChain) ids() []age.Identity {
	if c.key == nil {
		return nil
	}
	return []age.Identity{c.key}
}

// staging is a staging folder of backup s3://: it unseals what the
// location holds and seals what the backup writes when encrypted.
func (c *locationChain) staging(t *testing.T) *backupset.Folder {
	folder, err := backupset.Create(filepath.Join(t.TempDir(), "staging"))
	assert.NilError(t, err)
	if c.key != nil {
		folder.Unseal(agecrypt.Unsealer(c.ids()))
	}
	return folder
}

func (c *locationChain) backup(t *testing.T, folder *backupset.Folder, typ string) string {
	t.Helper()
	if c.key != nil {
		folder.Seal(agecrypt.Sealer(c.rcp))
	}
	o := backup.Options{Transfer: helper.TransferStream, Type: typ, IncludeMetadata: "all", Aggregate: false, Tool: "docker-infrahubdb test"}
	res, err := backup.RunSet(context.Background(), c.f.eng, folder, backup.SetOptions{Options: o, Components: []string{backupset.ComponentGraph}}, progress.Nop)
	assert.NilError(t, err)
	return res.RunID
}

func newLocationChain(t *testing.T, encrypted bool) *locationChain {
	ctx := context.Background()
	f := newFixture(t)
	loc, err := backupset.NewFolderLocation(t.TempDir())
	assert.NilError(t, err)
	c := &locationChain{f: f, loc: loc}
	if encrypted {
		c.key, err = age.GenerateX25519Identity()
		assert.NilError(t, err)
		c.rcp = agecrypt.Recipients{List: []age.Recipient{c.key.Recipient()}, Strings: []string{c.key.Recipient().String()}}
	}

	// The first run: nothing to continue, a full backup.
	listing, err := backupset.ListRuns(ctx, loc)
	assert.NilError(t, err)
	base, why := offsite.ChooseBase(ctx, loc, listing, offsite.BaseRules{})
	assert.Check(t, is.Equal(base, ""))
	assert.Check(t, is.Contains(why, "no run"))
	first := c.staging(t)
	c.backup(t, first, neo4jbackup.TypeFull)
	res, err := offsite.ToLocation(ctx, first, loc, offsite.CopyOptions{Encrypt: c.rcp, Tool: "test"})
	assert.NilError(t, err)
	assert.Assert(t, is.Len(res.Copied, 1))
	c.full = res.Copied[0].ID

	// New data, then the differential run on the location's chain.
	f.eng.Server.Write("neo4j", 5)
	f.eng.Calls = nil
	listing, err = backupset.ListRuns(ctx, loc)
	assert.NilError(t, err)
	base, why = offsite.ChooseBase(ctx, loc, listing, offsite.BaseRules{Databases: []string{"neo4j"}, SameVersion: func(v string) bool { return v == "5.26.0" }})
	assert.Check(t, is.Equal(base, c.full), why)
	_, why = offsite.ChooseBase(ctx, loc, listing, offsite.BaseRules{SameVersion: func(v string) bool { return v == "2025.10.1" }})
	assert.Check(t, is.Contains(why, "Neo4j 5.26.0"), "another server version starts a new chain")
	second := c.staging(t)
	seeded, err := offsite.SeedFromLocation(ctx, loc, base, second, c.ids(), nil)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(seeded, []string{neo4j2, system2}))
	runID := c.backup(t, second, neo4jbackup.TypeDiff)
	// The seeded files are the chain's start, as they were (a sealed
	// one is not taken for a changed file and fetched again).
	assert.Check(t, !f.hasCall("exec mv "), "no seeded file renamed")
	assert.Check(t, is.Len(helpertest.CallsWith(f.eng.CallLog(), "copy-from "), 2), "only the new artifacts come back")
	// The seeded chain went into the helper, as a stream.
	assert.Check(t, is.DeepEqual(helpertest.CallsWith(f.eng.CallLog(), "copy-to /backups "), []string{"copy-to /backups " + neo4j2 + " " + system2}))
	assert.Check(t, f.hasCall("exec neo4j-admin database backup --from=127.0.0.1:6362 --to-path=/backups --type=DIFF"))
	assert.Check(t, !f.hasCall("exec neo4j-admin database aggregate-backup"), "a location's chain is never aggregated")
	res, err = offsite.ToLocationOnBase(ctx, second, loc, runID, base, seeded, offsite.CopyOptions{Encrypt: c.rcp, Tool: "test"})
	assert.NilError(t, err)
	assert.Assert(t, is.Len(res.Copied, 1))
	c.diff, c.diffCopy = res.Copied[0].ID, res.Copied[0]
	return c
}

func TestDifferentialRunInALocation(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypted], func(t *testing.T) {
			ctx := context.Background()
			c := newLocationChain(t, encrypted)

			// The new run holds only the new files, and names its base.
			m, err := backupset.ReadRun(ctx, c.loc, c.diff)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(m.Base, c.full))
			var names []string
			for _, f := range m.Files {
				names = append(names, f.Name)
				assert.Check(t, is.Equal(f.Type, backupset.TypeDiff), f.Name)
				assert.Check(t, is.Equal(f.Encryption != nil, encrypted), f.Name)
			}
			ext := map[bool]string{false: "", true: agecrypt.Ext}[encrypted]
			assert.Check(t, is.DeepEqual(names, []string{neo4j3 + ext, system3 + ext}))
			if encrypted {
				data, err := os.ReadFile(filepath.Join(c.loc.(*backupset.FolderLocation).Dir, backupset.ArtifactKey(c.diff, neo4j3+ext)))
				assert.NilError(t, err)
				assert.Check(t, strings.HasPrefix(string(data), "age-encryption.org/v1\n"))
			}

			// Verify knows the base; prune keeps it, however old.
			vr, err := offsite.Verify(ctx, c.loc, nil, c.ids(), nil)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(vr.Runs[1].Base, c.full))
			pr, err := backupset.PruneLocation(ctx, c.loc, backupset.KeepPolicy{Last: 1}, time.Now(), false)
			assert.NilError(t, err)
			assert.Check(t, is.Len(pr.Removed, 0))
			assert.Assert(t, is.Len(pr.Plan.Keep, 2))
			assert.Check(t, is.DeepEqual(pr.Plan.Keep[0].Reasons, []string{"base of " + c.diff}))

			// Restore stages the chain: the base's graph, then the run.
			c.f.eng.Server.Write("neo4j", 7) // changed after the backup: replaced
			c.f.eng.Calls = nil
			folder, err := backupset.Create(filepath.Join(t.TempDir(), "restore"))
			assert.NilError(t, err)
			if encrypted {
				folder.Unseal(agecrypt.Unsealer(c.ids()))
			}
			_, staged, err := offsite.ChainToFolder(ctx, c.loc, c.diff, folder, c.ids(), nil)
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(staged, []string{c.full, c.diff}))
			c.f.folder = folder
			c.f.opts.Transfer = helper.TransferStream
			sres, err := restore.RunSet(ctx, c.f.eng, func(ctx context.Context, address string, _ neo4j.Credentials) (restore.Admin, error) {
				return c.f.admin, nil
			}, folder, restore.SetOptions{Options: c.f.opts, Run: restore.RunLatest}, progress.Nop)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(sres.Plan.RunID, c.diffCopy.Source))
			copies := helpertest.CallsWith(c.f.eng.CallLog(), "copy-to /backups ")
			assert.Check(t, len(copies) > 0)
			for _, call := range copies {
				assert.Check(t, is.Equal(call, "copy-to /backups "+neo4j2+" "+neo4j3), "the whole chain goes into the helper")
			}
			assert.Check(t, c.f.hasCall("exec neo4j-admin database restore --from-path=/backups/"+neo4j3+" --overwrite-destination=true"))
			assert.Check(t, is.Equal(c.f.eng.Server.Content("neo4j"), "live data at tx 20"), "the differential's data is back")
		})
	}
}

// A run whose base is gone cannot be restored: staging it, verify and
// prune say so.
func TestDifferentialRunWithoutItsBase(t *testing.T) {
	ctx := context.Background()
	c := newLocationChain(t, false)
	assert.NilError(t, backupset.DeleteRun(ctx, c.loc, c.full))

	folder, err := backupset.Create(filepath.Join(t.TempDir(), "restore"))
	assert.NilError(t, err)
	_, _, err = offsite.ChainToFolder(ctx, c.loc, c.diff, folder, nil, nil)
	assert.Check(t, is.ErrorContains(err, "depends on run "+c.full))
	_, err = offsite.Verify(ctx, c.loc, nil, nil, nil)
	assert.Check(t, is.ErrorContains(err, "depends on run "+c.full))
	_, err = backupset.PruneLocation(ctx, c.loc, backupset.KeepPolicy{Last: 1}, time.Now(), true)
	assert.Check(t, is.ErrorContains(err, "depends on run "+c.full))
}
