package catalog

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/contentcheck"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
)

// ErrHasManifest is returned by verify --adopt on a folder that already has
// a manifest: adopting would hide changes that verify must report.
var ErrHasManifest = exitcode.New(exitcode.Usage, "the folder already has a manifest")

// adopt writes a manifest for a folder made by neo4j-admin, the old tool,
// or a plugin whose manifest was lost: neo4j-admin backup inspect reads the
// graph files (types and transaction ranges come from Neo4j); task-manager
// and storage files pass restore's content checks; sizes and checksums come
// from the files. Files taken together (see groupRuns) are recorded as a
// run. cat is the folder as Verify found it (no manifest); s is nil when it
// holds no graph file. Problems (nothing written) are findings; the error
// is a failure to run.
func adopt(ctx context.Context, s *helper.Session, folder *backupset.Folder, cat *backupset.Catalog, tool string) ([]string, []backupset.Problem, error) {
	var problems []backupset.Problem
	m := &backupset.Manifest{Version: backupset.ManifestVersion, Tool: tool}
	names := backupset.Names(cat.Artifacts)
	if len(names) > 0 {
		infos, err := inspect(ctx, s, folder, names)
		if ae, ok := neo4jbackup.AdminFailed(err); ok {
			return nil, []backupset.Problem{{File: folder.Dir, Kind: ProblemUnreadable,
				Detail: "neo4j-admin backup inspect failed, no manifest was written: " + neo4jbackup.LastLine(ae.Output)}}, nil
		}
		if err != nil {
			return nil, nil, err
		}
		for _, name := range names {
			info, ok := infos[name]
			if !ok || info.Type() == "" {
				problems = append(problems, backupset.Problem{File: name, Kind: ProblemUnreadable, Detail: "neo4j-admin backup inspect does not describe it as a full or differential backup"})
				continue
			}
			if db, _, _ := backupset.ParseArtifactName(name); info.OtherDatabase(name, db) != "" {
				// As restore's preflight refuses it without a manifest.
				problems = append(problems, backupset.Problem{File: name, Kind: ProblemUnreadable, Detail: info.OtherDatabase(name, db)})
				continue
			}
			rec, err := folder.Describe(name)
			if err != nil {
				return nil, nil, err
			}
			rec.Type, rec.FromTx, rec.ToTx, rec.Empty = info.Type(), info.LowestTx, info.HighestTx, info.Empty()
			m.Upsert(rec)
		}
	}
	for _, cf := range cat.Components {
		if _, p := contentcheck.CheckFile(folder, backupset.FileRecord{Name: cf.Name, Component: cf.Component}); p != nil {
			p.Detail += " (so it is not adopted)"
			problems = append(problems, *p)
			continue
		}
		rec, err := folder.Describe(cf.Name)
		if err != nil {
			return nil, nil, err
		}
		rec.Component, rec.Time = cf.Component, cf.Time
		m.Upsert(rec)
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	groupRuns(m)
	if err := folder.WriteManifest(m); err != nil {
		return nil, nil, err
	}
	var adopted []string
	for _, r := range m.Files {
		adopted = append(adopted, r.Name)
	}
	return adopted, nil, nil
}

// runGap is the longest pause between two files of one backup run. A run
// writes its files one after the other within minutes; backups taken by
// cron are hours apart.
const runGap = 15 * time.Minute

// groupRuns records as runs the task-manager and storage files, and the
// graph files taken with them: files sorted by time, a run ending at a gap
// longer than runGap or when a component (or a database's graph) appears a
// second time. A group without a task-manager or storage file is left to
// the graph's chains, as a folder of Neo4j backups. The grouping is the
// plugin's best reading of names and times, not a record of what ran: list
// shows it, and --run or --until choose otherwise.
func groupRuns(m *backupset.Manifest) {
	idx := make([]int, len(m.Files))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return m.Files[idx[a]].Time.Before(m.Files[idx[b]].Time) })
	var group []int
	var seen []string
	flush := func() {
		defer func() { group, seen = nil, nil }()
		var components []string
		for _, i := range group {
			c := m.Files[i].Component
			if c == "" {
				c = backupset.ComponentGraph
			}
			if !slices.Contains(components, c) {
				components = append(components, c)
			}
		}
		if !slices.ContainsFunc(components, func(c string) bool { return c != backupset.ComponentGraph }) {
			return
		}
		started := m.Files[group[0]].Time
		id := backupset.NewRunID(started)
		for _, i := range group {
			m.Files[i].RunID = id
		}
		var ordered []string
		for _, c := range backupset.Components {
			if slices.Contains(components, c) {
				ordered = append(ordered, c)
			}
		}
		m.UpsertRun(backupset.RunRecord{ID: id, Started: started, Components: ordered, Complete: true})
	}
	for _, i := range idx {
		f := m.Files[i]
		key := f.Component
		if key == "" {
			key = "graph:" + f.Database
		}
		if len(group) > 0 && (f.Time.Sub(m.Files[group[len(group)-1]].Time) > runGap || slices.Contains(seen, key)) {
			flush()
		}
		group, seen = append(group, i), append(seen, key)
	}
	if len(group) > 0 {
		flush()
	}
}
