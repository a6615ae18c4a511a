package catalog

import (
	"encoding/json"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// DrillSummary is the last drill (verify --drill) of a run, read from the
// report it wrote into the folder.
type DrillSummary struct {
	Started time.Time     `json:"started"`
	Verdict string        `json:"verdict"`
	RTO     time.Duration `json:"rto_ns"`
	Report  string        `json:"report"` // its file in the folder
}

// addDrills fills in the last drill of each run that has a report; an
// unreadable report is shown as such.
func addDrills(folder *backupset.Folder, runs []RunListing) {
	for i := range runs {
		data, found, err := folder.ReadDrillReport(runs[i].ID)
		if !found && err == nil {
			continue
		}
		s := &DrillSummary{Report: backupset.DrillReportName(runs[i].ID)}
		if err == nil {
			err = json.Unmarshal(data, s)
		}
		if err != nil {
			s.Verdict = "unreadable report"
		}
		runs[i].LastDrill = s
	}
}
