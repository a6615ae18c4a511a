//go:build bench

package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
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
	tbl.section(fmt.Sprintf("Neo4j Community: offline dump and load of a %d MiB store (plus system), stock-shaped Compose project (%d containers)",
		dumpSize/mib, len(c.Containers)))
	tbl.add(overheadRow("backup: downtime (plugin) vs neo4j-admin database dump", backups, downtime, dump))
	tbl.add(overheadRow("backup: downtime (docker events) vs neo4j-admin database dump", backups, eventsDowntime, dump))
	tbl.add(overheadRow("restore: downtime (plugin) vs neo4j-admin dump (safety) + load", restores, downtime, dumpLoad))
	tbl.add(overheadRow("restore: downtime (docker events) vs neo4j-admin dump (safety) + load", restores, eventsDowntime, dumpLoad))
}

// projectRun is plugin, then the project's container events during the run.
func (b *bench) projectRun(c *kit.Compose, args ...string) run {
	start := time.Now()
	r := b.plugin(nil, args...)
	r.events = containerEvents(b, c.Project, start, time.Now())
	return r
}

// event is a container event of `docker events --format '{{json .}}'`.
type event struct {
	Action   string `json:"Action"`
	TimeNano int64  `json:"timeNano"`
	Actor    struct {
		Attributes map[string]string `json:"Attributes"`
	} `json:"Actor"`
}

// containerEvents lists the events of the project's containers between
// since and until.
func containerEvents(b *bench, project string, since, until time.Time) []event {
	// Whole seconds: this engine returns nothing for a fractional --since.
	out := kit.MustDocker(b.t, "events", "--since", strconv.FormatInt(since.Unix(), 10), "--until", strconv.FormatInt(until.Unix()+1, 10),
		"--filter", "type=container", "--filter", "label=com.docker.compose.project="+project, "--format", "{{json .}}")
	var evs []event
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.TimeNano >= since.UnixNano() && e.TimeNano <= until.UnixNano() {
			evs = append(evs, e)
		}
	}
	return evs
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
