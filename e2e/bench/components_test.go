//go:build bench

package bench

import (
	"archive/tar"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// componentRows are the task manager's and the object storage's rows: the
// plugin's backup of each component against `docker exec pg_dump > file`
// and `docker cp container:dir - > file`, both then synced (the plugin's
// files are fsynced when in place), and the plugin's peak memory at a small
// and a big size.
func (b *bench) componentRows(tbl *table, c *kit.Compose) {
	t, runs := b.t, b.runs
	small := int64(envInt("INFRAHUBDB_BENCH_COMPONENT_SMALL_MIB", 96))
	big := int64(envInt("INFRAHUBDB_BENCH_COMPONENT_MIB", 256))
	pg := c.Postgres(t)
	server := c.Service(t, kit.ServiceServer)
	ctr := c.Service(t, kit.ServiceDatabase).Name
	st := &storageSeeder{b: b, container: server.ID, rng: rand.NewChaCha8([32]byte{'s', 't', 'o', 'r', 'e'})}

	b.seedPostgres(pg, small)
	st.seed(small)
	smallPG := b.componentBackups(ctr, "task-manager", "*.pgdump", runs)
	smallStorage := b.componentBackups(ctr, "storage", "*.tar", runs)

	pgSize := b.seedPostgres(pg, big)
	st.seed(big)
	// Each plugin run beside its floor: the engine is shared, and its
	// load changes from minute to minute. The two take turns at going
	// first: what the run before left (a 134 MiB dump written and
	// deleted, PostgreSQL's own writes after it) weighs on whichever
	// comes next, and always on the plugin's storage backup when it always
	// followed the task manager's floor (0.82-0.89 against 0.94-1.1 in
	// pairs run apart, 2026-12-07).
	var bigPG, bigStorage []run
	var pgFloor, storageFloor []float64
	for i := 0; i < runs; i++ {
		takeTurns(i, func() {
			bigPG = append(bigPG, b.componentBackups(ctr, "task-manager", "*.pgdump", 1)...)
		}, func() {
			pgFloor = append(pgFloor, b.floorRuns(1, "docker", "exec", "-u", "postgres", pg.ID,
				"pg_dump", "--format=custom", "--no-password", "--username="+pg.User, "--dbname="+pg.DB)...)
		})
	}
	for i := 0; i < runs; i++ {
		takeTurns(i, func() {
			bigStorage = append(bigStorage, b.componentBackups(ctr, "storage", "*.tar", 1)...)
		}, func() {
			storageFloor = append(storageFloor, b.floorRuns(1, "docker", "cp", server.ID+":/opt/infrahub/storage", "-")...)
		})
	}

	tbl.section(fmt.Sprintf("Task manager (PostgreSQL, %d MiB of table data, a %d MiB dump) and object storage (%d MiB of files), stock-shaped Compose project",
		pgSize/mib, bigPG[0].bytes/mib, st.bytes/mib))
	tbl.add(pairedThroughputRow("task-manager backup vs docker exec pg_dump --format=custom > file, then sync", bigPG, "task-manager", pgFloor))
	tbl.add(pairedThroughputRow("storage backup vs docker cp container:/opt/infrahub/storage - > file, then sync", bigStorage, "storage", storageFloor))
	tbl.section(fmt.Sprintf("Peak resident memory of the plugin process (VmHWM), components at %d MiB vs %d MiB", small, big))
	tbl.add(memoryRow("backup --component task-manager", smallPG, bigPG))
	tbl.add(memoryRow("backup --component storage", smallStorage, bigStorage))
}

// takeTurns runs the i-th plugin run and its floor, the plugin first on even
// runs and the floor first on odd ones.
func takeTurns(i int, plugin, floor func()) {
	if i%2 == 0 {
		plugin()
		floor()
		return
	}
	floor()
	plugin()
}

// componentBackups takes n backups of one component, each into a fresh
// folder, and records the size of the file matching glob.
func (b *bench) componentBackups(ctr, component, glob string, n int) []run {
	var runs []run
	for i := 0; i < n; i++ {
		dir := b.folder()
		r := b.plugin(nil, "infrahubdb", "backup", dir, "--component", component, "--database-container", ctr, "--progress", "json", "--format", "json")
		_, r.bytes = b.largest(dir, glob)
		runs = append(runs, r)
		b.removeFolder(dir)
	}
	return runs
}

// floorRuns runs a command n times with its stdout into a file, synced as
// the plugin syncs its files, and returns the throughputs (bytes/s).
func (b *bench) floorRuns(n int, cmd ...string) []float64 {
	t := b.t
	var out []float64
	for i := 0; i < n; i++ {
		file := filepath.Join(b.folder(), "floor")
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		c := exec.Command(cmd[0], cmd[1:]...)
		c.Stdout = f
		var stderr strings.Builder
		c.Stderr = &stderr
		start := time.Now()
		if err := c.Run(); err != nil {
			t.Fatalf("bench: %s: %v: %s", strings.Join(cmd, " "), err, stderr.String())
		}
		f.Close()
		syncFile(t, file)
		d := time.Since(start)
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, float64(st.Size())/d.Seconds())
		t.Logf("floor %s: %d MiB in %s", strings.Join(cmd[:2], " "), st.Size()/mib, d.Round(time.Millisecond))
		b.removeFolder(filepath.Dir(file))
	}
	return out
}

// seedPostgres grows a table of the task manager's database until the
// database's tables hold m MiB, with rows of 24 random md5 strings (768
// characters: compressible by half, like the JSON Prefect keeps). It returns
// the size of the table.
func (b *bench) seedPostgres(pg *kit.Postgres, m int64) int64 {
	t := b.t
	start := time.Now()
	pg.Psql(t, "CREATE TABLE IF NOT EXISTS bench_flow_runs (id bigserial PRIMARY KEY, state text NOT NULL)")
	size := func() int64 {
		n, err := strconv.ParseInt(pg.Psql(t, "SELECT pg_total_relation_size('bench_flow_runs')"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	const rowBytes = 850 // 768 characters, the header, the id and its index entry
	parts := make([]string, 24)
	for i := range parts {
		parts[i] = "md5(random()::text)"
	}
	for have := size(); have < m*mib; have = size() {
		rows := min((m*mib-have)/rowBytes+1, 200_000)
		pg.Psql(t, fmt.Sprintf("INSERT INTO bench_flow_runs (state) SELECT %s FROM generate_series(1, %d)", strings.Join(parts, " || "), rows))
	}
	got := size()
	t.Logf("seeded PostgreSQL to %d MiB in %s", got/mib, time.Since(start).Round(time.Millisecond))
	return got
}

// storageSeeder fills infrahub-server's storage with random files of 4 MiB
// (incompressible, as artifacts and files mostly are), through docker cp.
type storageSeeder struct {
	b         *bench
	container string
	rng       *rand.ChaCha8
	bytes     int64
	files     int
}

func (s *storageSeeder) seed(m int64) {
	t := s.b.t
	const fileSize = 4 * mib
	start, before := time.Now(), s.bytes
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		buf := make([]byte, fileSize)
		var err error
		dir := fmt.Sprintf("seed-%d/", s.files)
		err = tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Now()})
		for err == nil && s.bytes < m*mib {
			_, _ = s.rng.Read(buf)
			name := fmt.Sprintf("%sartifact-%05d.bin", dir, s.files)
			if err = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: fileSize, ModTime: time.Now()}); err == nil {
				_, err = tw.Write(buf)
			}
			s.bytes += fileSize
			s.files++
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	res := icmd.RunCmd(icmd.Command("docker", "cp", "-", s.container+":/opt/infrahub/storage"), icmd.WithStdin(pr))
	pr.Close()
	res.Assert(t, icmd.Success)
	t.Logf("seeded the storage with %d MiB in %s (total %d MiB, %d files)", (s.bytes-before)/mib, time.Since(start).Round(time.Millisecond), s.bytes/mib, s.files)
}
