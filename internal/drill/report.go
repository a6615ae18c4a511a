package drill

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Verdicts of a drill.
const (
	VerdictPass = "pass" // every component restored, answered, and matched its figures
	VerdictFail = "fail" // something did not restore, answer or match
)

// Report is what a drill found; its JSON is written into the folder.
type Report struct {
	RunID         string            `json:"run_id"`
	Started       time.Time         `json:"started"`
	Verdict       string            `json:"verdict"`
	Problems      []string          `json:"problems,omitempty"`
	RTO           time.Duration     `json:"rto_ns"` // from the first restore step to the last component answering
	PeakMemory    int64             `json:"neo4j_peak_memory_bytes,omitempty"`
	MemoryLimit   int64             `json:"neo4j_memory_limit_bytes"`
	Neo4jImage    string            `json:"neo4j_image"`
	PostgresImage string            `json:"postgres_image,omitempty"`
	Components    []ComponentReport `json:"components"`
	Tool          string            `json:"tool,omitempty"`
}

// ComponentReport is the drill of one component.
type ComponentReport struct {
	Component string `json:"component"`
	Artifact  string `json:"artifact"`
	OK        bool   `json:"ok"`
	// Problem is why it did not restore or answer ("" when it did).
	Problem string `json:"problem,omitempty"`
	// Figures are what the restored component holds; Expected the figures
	// it is checked against, and ExpectedFrom where they come from.
	Figures      map[string]int64 `json:"figures,omitempty"`
	Expected     map[string]int64 `json:"expected,omitempty"`
	ExpectedFrom string           `json:"expected_from,omitempty"`
	Mismatches   []string         `json:"mismatches,omitempty"`
	// NotCompared says which figures the backup did not record, and why
	// (the graph written during an online backup): the component restored
	// and answered, but nothing was compared for them.
	NotCompared []string `json:"not_compared,omitempty"`
	// RootIDs are the uuid of Infrahub's Root node per database (the
	// deployment identity), restored and recorded by the backup.
	RootIDs         map[string]string `json:"root_ids,omitempty"`
	ExpectedRootIDs map[string]string `json:"expected_root_ids,omitempty"`
	Duration        time.Duration     `json:"duration_ns"`
}

// compare fills Mismatches from Figures and Expected: every expected
// figure must be there, equal.
func (c *ComponentReport) compare() {
	for k, want := range c.Expected {
		got, ok := c.Figures[k]
		switch {
		case !ok:
			c.Mismatches = append(c.Mismatches, fmt.Sprintf("%s: expected %d, the restored %s has none", k, want, c.Component))
		case got != want:
			c.Mismatches = append(c.Mismatches, fmt.Sprintf("%s: expected %d, restored %d", k, want, got))
		}
	}
	for db, want := range c.ExpectedRootIDs {
		if got := c.RootIDs[db]; got != want {
			c.Mismatches = append(c.Mismatches, fmt.Sprintf("Root node of %s: expected id %q, restored %q", db, want, got))
		}
	}
}

// finish sets the verdict.
func (r *Report) finish() {
	r.Verdict = VerdictPass
	for _, c := range r.Components {
		if c.OK {
			continue
		}
		r.Verdict = VerdictFail
		if c.Problem != "" {
			r.Problems = append(r.Problems, c.Component+": "+c.Problem)
		}
		for _, m := range c.Mismatches {
			r.Problems = append(r.Problems, c.Component+": "+m)
		}
	}
}

// FailedError is a drill whose restored data did not answer or did not
// match (exit 5).
type FailedError struct{ Report *Report }

func (e *FailedError) Error() string {
	return fmt.Sprintf("the drill of run %s failed: the backup does not restore as recorded:\n  %s", e.Report.RunID, strings.Join(e.Report.Problems, "\n  "))
}

func (d *drill) writeReport() error {
	data, err := json.MarshalIndent(d.report, "", "  ")
	if err != nil {
		return err
	}
	return d.folder.WriteDrillReport(d.run.ID, append(data, '\n'))
}
