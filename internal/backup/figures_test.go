package backup_test

import (
	"context"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
)

// onlineCounting are the options of a plain online backup (no
// --consistent: Infrahub runs) with a Bolt login to count the graph.
func onlineCounting(bolt *fakeBolt) backup.Options {
	return options(func(o *backup.Options) {
		o.Aggregate = false // the chain stays full + differentials
		o.Offline = backup.OfflineOptions{Connect: bolt.connect, BoltAddress: "127.0.0.1:17687", Credentials: &neo4j.Credentials{User: "neo4j", Password: "admin"}}
	})
}

// graphRecord is the manifest's record of the run's neo4j artifact.
func graphRecord(t *testing.T, folder *backupset.Folder, name string) backupset.FileRecord {
	t.Helper()
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	rec, ok := m.Lookup(name)
	assert.Assert(t, ok, "%+v", m.Files)
	return rec
}

// A graph nothing writes while it is backed up online: the count taken
// just before neo4j-admin database backup is of the state the artifact
// holds (its transaction is the artifact's highest), so it is recorded;
// the same for a differential backup (the chain's state) and for an empty
// one (the state of the chain it continues).
func TestOnlineBackupOfAQuietGraphRecordsItsFigures(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	bolt := &fakeBolt{eng: eng}
	pw := &recorder{}
	_, err := backup.Run(context.Background(), eng, folder, onlineCounting(bolt), pw)
	assert.NilError(t, err)
	rec := graphRecord(t, folder, neo4j1)
	assert.Check(t, is.Equal(rec.Figures["nodes:neo4j"], int64(42)), "%+v", rec)
	assert.Check(t, is.Equal(rec.Figures["relationships:neo4j:IS_PART_OF"], int64(7)))
	assert.Check(t, is.Equal(rec.Figures["branch:neo4j:main"], int64(1)))
	assert.Check(t, is.Equal(rec.RootID, "root-of-neo4j"))
	assert.Check(t, is.Equal(rec.FiguresNotRecorded, ""))
	assert.Check(t, is.Len(graphRecord(t, folder, system1).Figures, 0), "system holds no Infrahub data")
	assertInOrder(t, eng.CallLog(), []string{"count-nodes neo4j", "exec neo4j-admin database backup", "exec neo4j-admin backup inspect"})
	assert.Check(t, is.Equal(countCalls(eng, "count-nodes neo4j"), 1), "nothing committed since the count: no second one")

	eng.Server.Write("neo4j", 2)
	_, err = backup.Run(context.Background(), eng, folder, onlineCounting(bolt), pw)
	assert.NilError(t, err)
	rec = graphRecord(t, folder, neo4j2)
	assert.Check(t, is.Equal(rec.Type, backupset.TypeDiff))
	assert.Check(t, is.Equal(rec.Figures["nodes:neo4j"], int64(44)), "%+v", rec)

	_, err = backup.Run(context.Background(), eng, folder, onlineCounting(bolt), pw)
	assert.NilError(t, err)
	rec = graphRecord(t, folder, "neo4j-2026-11-25T10-02-00.backup")
	assert.Check(t, rec.Empty, "%+v", rec)
	assert.Check(t, is.Equal(rec.Figures["nodes:neo4j"], int64(44)), "an empty backup holds its chain's state: %+v", rec)
	assert.Check(t, !strings.Contains(pw.text(), "not recorded"), pw.text())
}

// A transaction committed between the count and the backup: the artifact
// holds it, the count does not; the graph is counted again just after the
// backup, and that count (of the artifact's state) is recorded.
func TestOnlineBackupCountsAgainAfterAWriteBeforeIt(t *testing.T) {
	eng := helpertest.New()
	eng.Faults = map[string]*helpertest.Fault{"backup": {Hook: func() { eng.Server.Write("neo4j", 1) }, Times: 1}}
	folder := newFolder(t)
	_, err := backup.Run(context.Background(), eng, folder, onlineCounting(&fakeBolt{eng: eng}), &recorder{})
	assert.NilError(t, err)
	rec := graphRecord(t, folder, neo4j1)
	assert.Check(t, is.Equal(rec.ToTx, int64(11)))
	assert.Check(t, is.Equal(rec.Figures["nodes:neo4j"], int64(43)), "the state at transaction 11: %+v", rec)
	assert.Check(t, is.Equal(rec.FiguresNotRecorded, ""))
	assertInOrder(t, eng.CallLog(), []string{"count-nodes neo4j", "exec neo4j-admin database backup", "count-nodes neo4j", "exec neo4j-admin backup inspect"})
}

// Infrahub writes all along (after each count, so between the count and
// the backup, and after the backup): no count is of the state the artifact
// holds. None is recorded, the record and the output say why, and the
// backup succeeds.
func TestOnlineBackupOfAGraphWrittenDuringItRecordsNoFigures(t *testing.T) {
	eng := helpertest.New()
	folder := newFolder(t)
	bolt := &fakeBolt{eng: eng, counted: func(db string) { eng.Server.Write(db, 1) }}
	pw := &recorder{}
	res, err := backup.Run(context.Background(), eng, folder, onlineCounting(bolt), pw)
	assert.NilError(t, err)
	rec := graphRecord(t, folder, neo4j1)
	assert.Check(t, is.Len(rec.Figures, 0), "%+v", rec)
	assert.Check(t, is.Equal(rec.RootID, ""))
	assert.Check(t, is.Contains(rec.FiguresNotRecorded, "the graph of database neo4j was written during the backup: transactions 10 to 12 committed around it and the backup holds up to transaction 11, so no count is the backup's (Infrahub writes while an online backup runs)"))
	assert.Check(t, is.Contains(rec.FiguresNotRecorded, "back up with --consistent"))
	assert.Check(t, is.Contains(pw.text(), "the figures of database neo4j were not recorded (a drill will not compare them): the graph of database neo4j was written during the backup"))
	for _, f := range res.Files {
		if f.Database == "neo4j" {
			assert.Check(t, is.Equal(f.FiguresNotRecorded, rec.FiguresNotRecorded), "the JSON output says it too")
		}
	}
	assert.Check(t, is.Equal(countCalls(eng, "count-nodes neo4j"), 2), "counted again after the backup")
}

// Transaction ids Neo4j or inspect do not report cannot tie a count to an
// online backup: none is recorded, and the record says why.
func TestOnlineBackupWithoutTransactionIDsRecordsNoFigures(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*helpertest.Engine, *fakeBolt)
		want string
	}{
		{name: "no lastCommittedTxn", set: func(_ *helpertest.Engine, b *fakeBolt) { b.noTxn = true },
			want: "Neo4j does not report the last committed transaction of database neo4j (SHOW DATABASES, lastCommittedTxn is NULL or absent)"},
		{name: "inspect without the highest transaction", set: func(e *helpertest.Engine, _ *fakeBolt) { e.Server.Variants.Inspect = helpertest.InspectNoTx },
			want: "neo4j-admin backup inspect does not report the highest transaction of the backup of database neo4j"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := helpertest.New()
			folder := newFolder(t)
			bolt := &fakeBolt{eng: eng}
			tc.set(eng, bolt)
			pw := &recorder{}
			_, err := backup.Run(context.Background(), eng, folder, onlineCounting(bolt), pw)
			assert.NilError(t, err)
			rec := graphRecord(t, folder, neo4j1)
			assert.Check(t, is.Len(rec.Figures, 0), "%+v", rec)
			assert.Check(t, is.Contains(rec.FiguresNotRecorded, tc.want))
			assert.Check(t, is.Contains(pw.text(), tc.want))
		})
	}
}

// With --consistent the applications are stopped: a count whose
// transaction ids are not reported is still recorded, as before they were
// read; ids that are reported and differ (something else writes) record
// none.
func TestConsistentBackupFiguresAndTransactionIDs(t *testing.T) {
	eng := deploymentEngine()
	folder := newFolder(t)
	opts := countingOptions(eng, "admin")
	bolt := &fakeBolt{eng: eng, noTxn: true}
	opts.Offline.Connect = bolt.connect
	res, err := backup.RunSet(context.Background(), eng, folder, opts, &recorder{})
	assert.NilError(t, err)
	assert.Assert(t, res.Graph != nil)
	var graph int
	for _, f := range res.Graph.Files {
		if f.Database == "neo4j" {
			graph++
			assert.Check(t, is.Equal(f.Figures["nodes:neo4j"], int64(42)), "%+v", f)
		}
	}
	assert.Check(t, graph > 0)

	eng = deploymentEngine()
	folder = newFolder(t)
	opts = countingOptions(eng, "admin")
	bolt = &fakeBolt{eng: eng, counted: func(db string) { eng.Server.Write(db, 1) }}
	opts.Offline.Connect = bolt.connect
	res, err = backup.RunSet(context.Background(), eng, folder, opts, &recorder{})
	assert.NilError(t, err)
	graph = 0
	for _, f := range res.Graph.Files {
		if f.Database == "neo4j" {
			graph++
			assert.Check(t, is.Len(f.Figures, 0), "%+v", f)
			assert.Check(t, is.Contains(f.FiguresNotRecorded, "the applications were stopped: something else writes to it"))
		}
	}
	assert.Check(t, graph > 0)
}

func countCalls(eng *helpertest.Engine, prefix string) int {
	n := 0
	for _, c := range eng.CallLog() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}
