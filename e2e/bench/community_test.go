//go:build bench

package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// communityRows are the Neo4j Community rows: the downtime of an offline
// backup (dump) and of a restore (safety dump, load) of the stock-shaped
// project c, against the time neo4j-admin dump and load themselves ran.
// The downtime is what the plugin reports (its result's downtime_ns: from
// the first container it stopped to the last one running again) and what
// `docker events` shows for the project's containers over the same span.
func (b *bench) communityRows(tbl *table, c *kit.Compose) {
	t, runs := b.t, b.runs
	m := int64(envInt("INFRAHUBDB_BENCH_COMMUNITY_MIB", 512))
	db := c.Database(t)
	newSeeder(db, "community").seedArtifactMiB(t, m)
	ctr := c.Service(t, kit.ServiceDatabase).Name

	var backups, restores []run
	var dir string
	var dumpSize int64
	for i := 0; i < runs; i++ {
		if dir != "" {
			b.removeFolder(dir)
		}
		dir = b.folder()
		r := b.projectRun(c, "infrahubdb", "backup", dir, "--yes", "--component", "graph", "--database-container", ctr, "--progress", "json", "--format", "json")
		_, dumpSize = b.largest(dir, "*.dump")
		backups = append(backups, r)
	}
	for i := 0; i < runs; i++ {
		r := b.projectRun(c, "infrahubdb", "restore", dir, "--yes", "--component", "graph", "--database-container", ctr, "--progress", "json", "--format", "json")
		restores = append(restores, r)
		safety, _ := filepath.Glob(filepath.Join(dir, "safety-*"))
		for _, s := range safety {
			b.removeFolder(s)
		}
	}
	b.removeFolder(dir)
	db.Reconnect(t)

	dump := func(r run) time.Duration { return stepsTime(r, "neo4j-admin database dump") }
	dumpLoad := func(r run) time.Duration {
		return stepsTime(r, "neo4j-admin database dump", "neo4j-admin database load")
	}
	tbl.section(fmt.Sprintf("Neo4j Community: offline dump and load (a %d MiB dump, plus system), stock-shaped Compose project (%d containers)",
		dumpSize/mib, len(c.Containers)))
	tbl.add(overheadRow("backup: downtime (plugin) vs neo4j-admin database dump", backups, downtime, dump))
	tbl.add(overheadRow("backup: downtime (docker events) vs neo4j-admin database dump", backups, eventsDowntime, dump))
	tbl.add(overheadRow("restore: downtime (plugin) vs neo4j-admin dump (safety) + load", restores, downtime, dumpLoad))
	tbl.add(overheadRow("restore: downtime (docker events) vs neo4j-admin dump (safety) + load", restores, eventsDowntime, dumpLoad))
}

// projectRun is plugin, with the events of the project's containers during
// the run. They are watched live: the daemon replays only its last few
// hundred events to a --since query, and other runs on the engine push ours
// out of that window.
func (b *bench) projectRun(c *kit.Compose, args ...string) run {
	t := b.t
	watch := exec.Command("docker", "events", "--filter", "type=container",
		"--filter", "label=com.docker.compose.project="+c.Project, "--format", "{{json .}}")
	out, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan []event, 1)
	go func() {
		var evs []event
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				evs = append(evs, e)
			}
		}
		lines <- evs
	}()
	// The subscription is live once the daemon answers it; a container
	// event of the project proves it, but none happens before the run:
	// give it a moment instead.
	time.Sleep(500 * time.Millisecond)
	r := b.plugin(nil, args...)
	time.Sleep(500 * time.Millisecond) // the last start's event on its way
	_ = watch.Process.Kill()
	r.events = <-lines
	_ = watch.Wait()
	if len(r.events) == 0 {
		t.Fatalf("bench: docker events showed no event of project %s during %s", c.Project, strings.Join(args[:2], " "))
	}
	return r
}

// event is a container event of `docker events --format '{{json .}}'`.
type event struct {
	Action   string `json:"Action"`
	TimeNano int64  `json:"timeNano"`
}

// eventsDowntime is from the first container of the project stopping (the
// signal sent: "kill") to the last one started again.
func eventsDowntime(r run) time.Duration {
	var first, last int64
	for _, e := range r.events {
		switch e.Action {
		case "kill", "die", "stop":
			if first == 0 || e.TimeNano < first {
				first = e.TimeNano
			}
		case "start":
			if e.TimeNano > last {
				last = e.TimeNano
			}
		}
	}
	if first == 0 || last < first {
		return 0
	}
	return time.Duration(last - first)
}
