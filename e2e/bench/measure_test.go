//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"golang.org/x/sys/unix"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// bench holds what the measurements share: one plugin install, and the
// database the graph rows grow from the small size to the big one.
type bench struct {
	t     *testing.T
	p     *kit.Plugin
	db    *kit.Database
	runs  int
	graph *seeder
}

// seeder grows a database's neo4j store with random node properties.
type seeder struct {
	db     *kit.Database
	seeded int64 // bytes of node properties seeded so far
	rng    *rand.ChaCha8
}

func newSeeder(db *kit.Database, seed string) *seeder {
	var key [32]byte
	copy(key[:], seed)
	return &seeder{db: db, rng: rand.NewChaCha8(key)}
}

// seedRatio is how much of the seeded property bytes end up in the artifact:
// random base64 compresses to ~75% with the stand-in's gzip, and a little
// margin keeps the artifact above the size asked for.
const seedRatio = 0.735

// seedArtifactMiB grows database neo4j until a backup of it is about m MiB:
// incompressible-ish random base64 strings as node properties, 16 MiB per
// transaction through the Go driver.
func (s *seeder) seedArtifactMiB(t *testing.T, m int64) {
	target := int64(float64(m*mib) / seedRatio)
	const perNode, nodes = 4 * mib, 4
	raw := make([]byte, perNode/4*3)
	ctx := context.Background()
	session := s.db.Driver(t).NewSession(ctx, neo4j.SessionConfig{DatabaseName: "neo4j"})
	defer session.Close(ctx)
	start, before := time.Now(), s.seeded
	for s.seeded < target {
		params := map[string]any{}
		for i := 0; i < nodes; i++ {
			_, _ = s.rng.Read(raw)
			params["d"+strconv.Itoa(i)] = base64.StdEncoding.EncodeToString(raw)
		}
		res, err := session.Run(ctx, "CREATE (:Blob {data: $d0}), (:Blob {data: $d1}), (:Blob {data: $d2}), (:Blob {data: $d3})", params)
		if err == nil {
			_, err = res.Consume(ctx)
		}
		if err != nil {
			t.Fatalf("bench: seeding %s: %v", s.db.Name, err)
		}
		s.seeded += perNode * nodes
	}
	t.Logf("seeded %d MiB of properties into %s in %s (total %d MiB)", (s.seeded-before)/mib, s.db.Name, time.Since(start).Round(time.Millisecond), s.seeded/mib)
}

// folder is a new backup folder, removed at the end (or by removeFolder).
func (b *bench) folder() string { return kit.Folder(b.t) }

func (b *bench) removeFolder(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		b.t.Fatal(err)
	}
}

// largestArtifact is the name and size of the biggest *.backup in dir.
func (b *bench) largestArtifact(dir string) (string, int64) { return b.largest(dir, "*.backup") }

// largest is the name and size of the biggest file matching glob in dir.
func (b *bench) largest(dir, glob string) (string, int64) {
	matches, _ := filepath.Glob(filepath.Join(dir, glob))
	var name string
	var size int64
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && st.Size() > size {
			name, size = filepath.Base(m), st.Size()
		}
	}
	if name == "" {
		b.t.Fatalf("bench: no %s in %s", glob, dir)
	}
	return name, size
}

// run is one plugin command: wall time, peak memory and what its progress
// (--progress json) and result (--format json) said.
type run struct {
	wall   time.Duration
	peak   int64           // VmHWM of the docker-infrahubdb process, bytes
	steps  map[string]step // by step id, the last terminal state
	ended  []step          // every step's end, in order (a step id may end twice: stop, then start)
	result []byte
	bytes  int64   // moved by the transfer step measured (see throughputRow)
	events []event // of the project's containers during the run (projectRun)
	other  *run    // the run this one is compared with (pair)
}

type step struct {
	Time     time.Time `json:"time"`
	ID       string    `json:"id"`
	Text     string    `json:"text"`
	Status   string    `json:"status"`
	Duration *int64    `json:"duration_ms"`
	Current  int64     `json:"current"`
	Total    int64     `json:"total"`
}

func (s step) duration() time.Duration {
	if s.Duration == nil {
		return 0
	}
	return time.Duration(*s.Duration) * time.Millisecond
}

// backups takes n full backups, each into a fresh folder, and returns the
// runs and the last folder (the others are removed).
func (b *bench) backups(mode string, n int) ([]run, string) {
	var runs []run
	var dir string
	for i := 0; i < n; i++ {
		if dir != "" {
			b.removeFolder(dir)
		}
		dir = b.folder()
		r := b.plugin(nil, "infrahubdb", "backup", dir, "--database-container", b.db.Name, "--transfer", mode, "--progress", "json", "--format", "json")
		_, r.bytes = b.largestArtifact(dir)
		runs = append(runs, r)
	}
	return runs, dir
}

// restores restores the folder n times (the data does not change) and
// removes the safety backups each one leaves.
func (b *bench) restores(dir, mode string, n int) []run {
	_, size := b.largestArtifact(dir)
	var runs []run
	for i := 0; i < n; i++ {
		r := b.plugin([]string{"NEO4J_AUTH=" + b.db.Auth}, "infrahubdb", "restore", dir, "--yes", "--database-container", b.db.Name, "--transfer", mode, "--progress", "json", "--format", "json")
		r.bytes = size
		runs = append(runs, r)
		safety, _ := filepath.Glob(filepath.Join(dir, "safety-*"))
		for _, s := range safety {
			b.removeFolder(s)
		}
	}
	return runs
}

// plugin runs `docker <args>` with the plugin installed, polling the peak
// resident memory of the plugin process while it runs.
func (b *bench) plugin(env []string, args ...string) run {
	t := b.t
	cmd := exec.Command("docker", args...)
	cmd.Env = b.p.Env(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var peak atomic.Int64
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		pollPeak(cmd.Process.Pid, &peak, done)
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	close(done)
	<-polled
	if err != nil {
		t.Fatalf("bench: docker %s: %v\nstdout:\n%s\nstderr (last lines):\n%s", strings.Join(args, " "), err, stdout.String(), lastLines(stderr.String(), 30))
	}
	r := run{wall: wall, peak: peak.Load(), result: stdout.Bytes()}
	r.steps, r.ended = parseSteps(stderr.Bytes())
	t.Logf("docker %s: %s, peak %d MiB; steps (duration, end): %s", strings.Join(args[:2], " "), wall.Round(time.Millisecond), r.peak/mib, r.stepSummary(start))
	return r
}

// stepSummary lists the steps in the order they ended, with durations and
// when they ended after start (for -test.v).
func (r run) stepSummary(start time.Time) string {
	var parts []string
	for _, st := range r.ended {
		parts = append(parts, fmt.Sprintf("%s=%s@%.3fs", st.Text, st.duration(), st.Time.Sub(start).Seconds()))
	}
	return strings.Join(parts, ", ")
}

// pollPeak reads VmHWM (the high-water mark of resident memory) of the
// docker-infrahubdb child of the docker CLI every few milliseconds until done.
func pollPeak(cli int, peak *atomic.Int64, done <-chan struct{}) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		// The CLI runs the plugin twice: a short metadata call, then the
		// command; both are children named docker-infrahub (comm is cut at
		// 15 characters).
		for _, pid := range children(cli, "docker-infrahub") {
			if hwm := vmHWM(pid); hwm > peak.Load() {
				peak.Store(hwm)
			}
		}
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}

// children lists the child processes of pid whose command name is comm.
func children(pid int, comm string) []int {
	var out []int
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	for _, f := range tasks {
		raw, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(raw)) {
			c, _ := os.ReadFile(filepath.Join("/proc", s, "comm"))
			if child, err := strconv.Atoi(s); err == nil && strings.TrimSpace(string(c)) == comm {
				out = append(out, child)
			}
		}
	}
	return out
}

func vmHWM(pid int) int64 {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// parseSteps keeps the last terminal state of every step of a --progress
// json stream, and every terminal state in order.
func parseSteps(out []byte) (map[string]step, []step) {
	steps := map[string]step{}
	var ended []step
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var s step
		if json.Unmarshal(sc.Bytes(), &s) != nil || s.ID == "" || s.Status == "" || s.Status == "working" {
			continue
		}
		ended = append(ended, s)
		steps[s.ID] = s
	}
	return steps, ended
}

// stepsTime is the total duration of the steps whose text starts with one
// of prefixes, each time one ran (a restore's safety backup runs
// neo4j-admin database backup twice: the full and the differential one).
func stepsTime(r run, prefixes ...string) time.Duration {
	var d time.Duration
	for _, s := range r.ended {
		for _, p := range prefixes {
			if strings.HasPrefix(s.Text, p) {
				d += s.duration()
				break
			}
		}
	}
	return d
}

// adminTime is how long neo4j-admin itself ran in the helper to write or
// read the artifacts: backup, aggregate and restore. backup inspect, which
// only reads a header, is part of the overhead.
func adminTime(r run) time.Duration {
	return stepsTime(r, "neo4j-admin database backup", "neo4j-admin database aggregate-backup",
		"neo4j-admin backup aggregate", "neo4j-admin database restore")
}

// adminRestoreTime is how long neo4j-admin database restore ran.
func adminRestoreTime(r run) time.Duration { return stepsTime(r, "neo4j-admin database restore") }

func wall(r run) time.Duration { return r.wall }

// downtime is how long the database was not online, as the result says:
// an offline backup's or load's outage (from the first container stopped to
// the last one running again), else the sum of each database's.
func downtime(r run) time.Duration {
	var res struct {
		Downtime time.Duration `json:"downtime_ns"`
		Run      struct {
			Downtime time.Duration `json:"downtime_ns"`
		} `json:"run"`
		Results []struct {
			Downtime time.Duration `json:"downtime_ns"`
		} `json:"results"`
	}
	if err := json.Unmarshal(r.result, &res); err != nil {
		return 0
	}
	if res.Downtime > 0 {
		return res.Downtime
	}
	if res.Run.Downtime > 0 {
		return res.Run.Downtime
	}
	var d time.Duration
	for _, x := range res.Results {
		d += x.Downtime
	}
	return d
}

// transferTime is the duration of the longest step whose id starts with
// prefix ("fetch ", "upload "): the one that moved the big file.
func transferTime(r run, prefix string) time.Duration {
	var d time.Duration
	for id, s := range r.steps {
		if strings.HasPrefix(id, prefix) && s.duration() > d {
			d = s.duration()
		}
	}
	return d
}

// floors measures, n times each, docker cp of file into and out of a
// container of the same image on the same engine, and reading the file
// from disk with a cold page cache. They return throughputs in bytes/s.
func (b *bench) floors(file string, n int) (up, down, downSync, read []float64) {
	t := b.t
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	size := float64(st.Size())
	h := kit.Helper(t, b.db, false)
	out := t.TempDir()
	for i := 0; i < n; i++ {
		start := time.Now()
		kit.MustDocker(t, "cp", file, h.Name+":/tmp/")
		up = append(up, size/time.Since(start).Seconds())

		start = time.Now()
		kit.MustDocker(t, "cp", h.Name+":/tmp/"+filepath.Base(file), out)
		down = append(down, size/time.Since(start).Seconds())
		_ = os.Remove(filepath.Join(out, filepath.Base(file)))

		// docker cp never fsyncs; the plugin's file is durable when it is
		// in place: the fair floor syncs what docker cp wrote.
		start = time.Now()
		kit.MustDocker(t, "cp", h.Name+":/tmp/"+filepath.Base(file), out)
		syncFile(t, filepath.Join(out, filepath.Base(file)))
		downSync = append(downSync, size/time.Since(start).Seconds())
		h.MustExec(t, "rm", "-f", "/tmp/"+filepath.Base(file))
		_ = os.Remove(filepath.Join(out, filepath.Base(file)))

		read = append(read, size/coldRead(t, file).Seconds())
	}
	return up, down, downSync, read
}

// syncFile fsyncs a file and its directory, as the plugin does for an
// artifact.
func syncFile(t *testing.T, path string) {
	for _, p := range []string{path, filepath.Dir(path)} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// coldRead drops file from the page cache and times reading it.
func coldRead(t *testing.T, file string) time.Duration {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := io.CopyBuffer(io.Discard, f, make([]byte, mib)); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// startup times the plugin command and its floor, interleaved, and returns
// the row.
func (b *bench) startup(label, floorLabel string, args, floorArgs []string) row {
	const n = 11
	var fig, floor []time.Duration
	timeIt := func(args []string) time.Duration {
		cmd := exec.Command("docker", args...)
		cmd.Env = b.p.Env()
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.t.Fatalf("bench: docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return time.Since(start)
	}
	for i := 0; i < n; i++ {
		fig = append(fig, timeIt(args))
		floor = append(floor, timeIt(floorArgs))
	}
	return durationRow(fmt.Sprintf("start-up: `%s` vs `%s`", label, floorLabel), fig, floor, time.Millisecond)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
