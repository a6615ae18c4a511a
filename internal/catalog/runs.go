package catalog

import (
	"fmt"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// RunListing is one backup run and its components.
type RunListing struct {
	ID       string    `json:"id"`
	Started  time.Time `json:"started"`
	Complete bool      `json:"complete"`
	// State is RunComplete, RunIncomplete, RunInProgress or RunInterrupted.
	State string `json:"state"`
	// Step is the component an in-progress or interrupted run was taking
	// last ("" before its first).
	Step            string              `json:"step,omitempty"`
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

// States of a run (RunListing.State).
const (
	RunComplete    = "complete"    // every component the run took is in the folder
	RunIncomplete  = "incomplete"  // the run ended without finishing (it failed)
	RunInProgress  = "in progress" // its process still holds the folder
	RunInterrupted = "interrupted" // it died before it ended: killed, its machine stopped
)

// ProblemInterrupted is verify's warning about an interrupted run.
const ProblemInterrupted = "interrupted"

// interruptedProblem says what an interrupted run left.
func interruptedProblem(r backupset.RunRecord) string {
	where := "its start"
	if r.Step != "" {
		where = "the " + r.Step + " step"
	}
	return fmt.Sprintf("interrupted at %s, never completed (started %s; its process, pid %d on %s, died: killed, or its machine or connection went away)",
		where, r.Started.UTC().Format(time.RFC3339), r.PID, r.Host)
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
		switch {
		case r.Complete:
			rl.State = RunComplete
		case r.Open && cat.Interrupted[r.ID]:
			rl.State, rl.Step, rl.Problem = RunInterrupted, r.Step, interruptedProblem(r)
		case r.Open:
			rl.State, rl.Step, rl.Problem = RunInProgress, r.Step, fmt.Sprintf("the run is in progress (pid %d on %s)", r.PID, r.Host)
		default:
			rl.State = RunIncomplete
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
