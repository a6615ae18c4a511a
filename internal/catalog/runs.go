package catalog

import (
	"fmt"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// RunListing is one backup run and its components.
type RunListing struct {
	ID              string              `json:"id"`
	Started         time.Time           `json:"started"`
	Complete        bool                `json:"complete"`
	Components      []string            `json:"components"`
	Skipped         []backupset.Skipped `json:"skipped,omitempty"`
	Files           []RunFile           `json:"files"`
	Size            int64               `json:"size"`
	InfrahubVersion string              `json:"infrahub_version,omitempty"`
	Neo4jEdition    string              `json:"neo4j_edition,omitempty"`
	Neo4jVersion    string              `json:"neo4j_version,omitempty"`
	Consistent      bool                `json:"consistent,omitempty"` // applications stopped for the capture
	// Newest is the run restore takes by default.
	Newest bool `json:"newest"`
	// Problem says why the run cannot be restored ("" when it can).
	Problem string `json:"problem,omitempty"`
	// LastDrill is the last verify --drill of the run, nil if none.
	LastDrill *DrillSummary `json:"last_drill,omitempty"`
}

// RunFile is one file of a run.
type RunFile struct {
	Name      string    `json:"name"`
	Component string    `json:"component"`
	Size      int64     `json:"size"`
	Captured  time.Time `json:"captured,omitzero"`
	Missing   bool      `json:"missing,omitempty"`
}

// describeRuns lists the manifest's runs with their files, flagging runs
// whose files are gone.
func describeRuns(cat *backupset.Catalog) []RunListing {
	missing := map[string]bool{}
	for _, r := range cat.Missing {
		missing[r.Name] = true
	}
	var out []RunListing
	newest := -1
	for _, r := range cat.Manifest.Runs {
		rl := RunListing{ID: r.ID, Started: r.Started, Complete: r.Complete, Components: r.Components, Skipped: r.Skipped,
			InfrahubVersion: r.InfrahubVersion, Neo4jEdition: r.Neo4jEdition, Neo4jVersion: r.Neo4jVersion, Consistent: r.Consistent}
		for _, f := range cat.Manifest.RunFiles(r.ID) {
			component := f.Component
			if component == "" {
				component = backupset.ComponentGraph
			}
			rl.Files = append(rl.Files, RunFile{Name: f.Name, Component: component, Size: f.Size, Captured: f.Captured, Missing: missing[f.Name]})
			rl.Size += f.Size
			if missing[f.Name] && rl.Problem == "" {
				rl.Problem = f.Name + " is missing"
			}
		}
		if !r.Complete && rl.Problem == "" {
			rl.Problem = "the run did not finish"
		}
		out = append(out, rl)
	}
	// Restore takes the newest complete run holding every component of the
	// deployment, passing over newer runs that hold less (backup
	// --component graph). The deployment is not asked here: its components
	// are taken to be every one a restorable run holds.
	var all []string
	for _, r := range out {
		if r.Problem == "" {
			for _, c := range r.Components {
				if !slices.Contains(all, c) {
					all = append(all, c)
				}
			}
		}
	}
	for i, r := range out {
		if r.Problem == "" && !slices.ContainsFunc(all, func(c string) bool { return !slices.Contains(r.Components, c) }) {
			newest = i
		}
	}
	if newest >= 0 {
		out[newest].Newest = true
	}
	slices.SortStableFunc(out, func(a, b RunListing) int { return a.Started.Compare(b.Started) })
	return out
}

// String is a one-line summary of the run.
func (r RunListing) String() string {
	state := "complete"
	if r.Problem != "" {
		state = "NOT RESTORABLE: " + r.Problem
	}
	return fmt.Sprintf("%s %s", r.ID, state)
}
