//go:build bench

// Package bench is `make bench`: it measures the plugin against floors
// measured in the same run, on the same engine, with the Neo4j stand-in,
// and prints one markdown table. It is not part of the test run (build tag
// bench) and asserts nothing about timings; it fails only when a command
// fails or the seeded data is too small.
//
// Knobs (environment):
//   - INFRAHUBDB_BENCH_RUNS: runs per figure (default 3);
//   - INFRAHUBDB_BENCH_MIB, INFRAHUBDB_BENCH_SMALL_MIB: the big and the small
//     Neo4j Enterprise artifact (default 1024 and 256);
//   - INFRAHUBDB_BENCH_COMMUNITY_MIB: the Neo4j Community store, about the
//     size of its dump (default 512);
//   - INFRAHUBDB_BENCH_COMPONENT_MIB, INFRAHUBDB_BENCH_COMPONENT_SMALL_MIB:
//     the task manager's PostgreSQL data and the object storage, big and
//     small (default 256 and 96);
//   - INFRAHUBDB_BENCH_PARTS: which sections to run, comma-separated, of
//     startup, graph (the Enterprise backup and restore; "bind" alone is its
//     bind-mode backup), community, components (default all).
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// parts are the sections INFRAHUBDB_BENCH_PARTS asks for.
func parts() map[string]bool {
	v := os.Getenv("INFRAHUBDB_BENCH_PARTS")
	if v == "" {
		v = "startup,graph,community,components,offsite"
	}
	out := map[string]bool{}
	for _, p := range strings.Split(v, ",") {
		out[strings.TrimSpace(p)] = true
	}
	return out
}

// TestBench runs the whole benchmark and prints the table on stdout.
func TestBench(t *testing.T) {
	runs := envInt("INFRAHUBDB_BENCH_RUNS", 3)
	want := parts()
	began := time.Now()

	// The build operators install (make build): its guardian is the
	// small embedded one.
	p := kit.InstallReleasePlugin(t)
	b := &bench{t: t, p: p, runs: runs}
	var tbl table

	// Start-up first, while nothing else runs.
	if want["startup"] {
		tbl.add(b.startup("docker infrahubdb --help", "docker --help", []string{"infrahubdb", "--help"}, []string{"--help"}))
		tbl.add(b.startup("docker infrahubdb version", "docker version --format '{{.Client.Version}}'",
			[]string{"infrahubdb", "version"}, []string{"version", "--format", "{{.Client.Version}}"}))
	}
	if want["graph"] || want["bind"] {
		b.graphRows(&tbl, want["graph"])
	}
	if want["community"] || want["components"] || want["offsite"] {
		c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
		if want["community"] {
			b.communityRows(&tbl, c)
		}
		if want["components"] {
			b.componentRows(&tbl, c)
		}
		if want["offsite"] {
			b.offsiteRows(&tbl, c)
		}
	}

	fmt.Print(tbl.markdown(runs))
	fmt.Printf("\n%d runs per figure; bench took %s.\n", runs, time.Since(began).Round(time.Second))
}

// graphRows are the Neo4j Enterprise rows: online backup and restore of a
// small and a big artifact (only the bind-mode backup unless all).
func (b *bench) graphRows(tbl *table, all bool) {
	t, runs := b.t, b.runs
	bigMiB := int64(envInt("INFRAHUBDB_BENCH_MIB", 1024))
	smallMiB := int64(envInt("INFRAHUBDB_BENCH_SMALL_MIB", 256))
	b.db = kit.StartDatabase(t, kit.Options{})
	b.graph = newSeeder(b.db, "bench")

	// The small database: only the memory figures.
	var smallBackup, smallRestore []run
	if all {
		b.graph.seedArtifactMiB(t, smallMiB)
		var small string
		smallBackup, small = b.backups("stream", runs)
		smallRestore = b.restores(small, "stream", runs)
		b.removeFolder(small)
	}

	// The big one: everything else.
	b.graph.seedArtifactMiB(t, bigMiB)
	bindBackup, bind := b.backups("bind", runs)
	_, bigSize := b.largestArtifact(bind)
	if bigSize < bigMiB*mib {
		t.Fatalf("bench: the largest artifact is %d MiB, less than the %d MiB asked for: seed more", bigSize/mib, bigMiB)
	}
	size := fmt.Sprintf("%.2f GiB", float64(bigSize)/(1<<30))
	tbl.section(fmt.Sprintf("Backup and restore of a %s artifact (plus the small system one), Neo4j Enterprise", size))
	tbl.add(overheadRow("backup, bind: wall time vs neo4j-admin", bindBackup, wall, adminTime))
	b.removeFolder(bind)
	if !all {
		return
	}
	streamBackup, stream := b.backups("stream", runs)
	bigFile, _ := b.largestArtifact(stream)
	bindRestore := b.restores(stream, "bind", runs)
	streamRestore := b.restores(stream, "stream", runs)
	up, down, downSync, read := b.floors(filepath.Join(stream, bigFile), runs)

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
}
