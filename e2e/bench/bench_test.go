//go:build bench

// Package bench is `make bench`: it measures the plugin against floors
// measured in the same run, on the same engine, with the Neo4j stand-in,
// and prints one markdown table. It is not part of the test run (build tag
// bench) and asserts nothing about timings; it fails only when a command
// fails or the seeded data is too small.
//
// Knobs (environment): INFRAHUBDB_BENCH_RUNS (runs per figure, default 3),
// INFRAHUBDB_BENCH_MIB (size of the big artifact, default 1024),
// INFRAHUBDB_BENCH_SMALL_MIB (the small one, default 256).
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestMain(m *testing.M) { kit.Main(m) }

const mib = 1 << 20

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestBench runs the whole benchmark and prints the table on stdout.
func TestBench(t *testing.T) {
	runs := envInt("INFRAHUBDB_BENCH_RUNS", 3)
	bigMiB := int64(envInt("INFRAHUBDB_BENCH_MIB", 1024))
	smallMiB := int64(envInt("INFRAHUBDB_BENCH_SMALL_MIB", 256))
	began := time.Now()

	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	b := &bench{t: t, p: p, db: db, runs: runs}
	var tbl table

	// Start-up first, while nothing else runs.
	tbl.add(b.startup("docker infrahubdb --help", "docker --help", []string{"infrahubdb", "--help"}, []string{"--help"}))
	tbl.add(b.startup("docker infrahubdb version", "docker version --format '{{.Client.Version}}'",
		[]string{"infrahubdb", "version"}, []string{"version", "--format", "{{.Client.Version}}"}))

	// The small database: only the memory figures.
	b.seedArtifactMiB(smallMiB)
	smallBackup, small := b.backups("stream", runs)
	smallRestore := b.restores(small, "stream", runs)
	b.removeFolder(small)

	// The big one: everything else.
	b.seedArtifactMiB(bigMiB)
	bindBackup, bind := b.backups("bind", runs)
	b.removeFolder(bind)
	streamBackup, stream := b.backups("stream", runs)
	bigFile, bigSize := b.largestArtifact(stream)
	if bigSize < bigMiB*mib {
		t.Fatalf("bench: the largest artifact is %d MiB, less than the %d MiB asked for: seed more", bigSize/mib, bigMiB)
	}
	bindRestore := b.restores(stream, "bind", runs)
	streamRestore := b.restores(stream, "stream", runs)
	up, down, downSync, read := b.floors(filepath.Join(stream, bigFile), runs)

	size := fmt.Sprintf("%.2f GiB", float64(bigSize)/(1<<30))
	tbl.section(fmt.Sprintf("Backup and restore of a %s artifact (plus the small system one)", size))
	tbl.add(overheadRow("backup, bind: wall time vs neo4j-admin", bindBackup, wall, adminTime))
	tbl.add(overheadRow("backup, stream: wall time vs neo4j-admin", streamBackup, wall, adminTime))
	tbl.add(overheadRow("restore, bind: wall time vs neo4j-admin (safety backup + restore)", bindRestore, wall, adminTime))
	tbl.add(overheadRow("restore, stream: wall time vs neo4j-admin (safety backup + restore)", streamRestore, wall, adminTime))
	tbl.add(overheadRow("restore, bind: downtime vs neo4j-admin restore", bindRestore, downtime, adminRestoreTime))
	tbl.add(overheadRow("restore, stream: downtime vs neo4j-admin restore", streamRestore, downtime, adminRestoreTime))

	tbl.section("Stream transfer throughput (Docker API archive endpoints)")
	tbl.add(throughputRow("download (backup) vs docker cp container→host", streamBackup, "fetch ", down))
	tbl.add(throughputRow("download (backup) vs docker cp container→host, then sync", streamBackup, "fetch ", downSync))
	tbl.add(throughputRow("download (backup) vs reading the file from disk", streamBackup, "fetch ", read))
	tbl.add(throughputRow("upload (restore) vs docker cp host→container", streamRestore, "upload ", up))
	tbl.add(throughputRow("upload (restore) vs reading the file from disk", streamRestore, "upload ", read))

	tbl.section(fmt.Sprintf("Peak resident memory of the plugin process (VmHWM), %d MiB vs %s artifact", smallMiB, size))
	tbl.add(memoryRow("backup, stream (download)", smallBackup, streamBackup))
	tbl.add(memoryRow("restore, stream (upload)", smallRestore, streamRestore))

	fmt.Print(tbl.markdown(runs))
	fmt.Printf("\n%d runs per figure; bench took %s.\n", runs, time.Since(began).Round(time.Second))
}
