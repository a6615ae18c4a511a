package backupset

import (
	"os"
	"strings"
)

// Drill reports: verify --drill writes the report of its last drill of a
// run into the folder as drill-<run ID>.json, replaced by the next drill of
// the same run. They are no backup: restore, prune and verify leave them
// alone; list shows them.
const (
	drillPrefix = "drill-"
	drillExt    = ".json"
)

// DrillReportName is the name of the report of the last drill of runID.
func DrillReportName(runID string) string { return drillPrefix + runID + drillExt }

// IsDrillReportName reports a name made by DrillReportName.
func IsDrillReportName(name string) bool {
	return strings.HasPrefix(name, drillPrefix+"run-") && strings.HasSuffix(name, drillExt)
}

// WriteDrillReport replaces the report of the last drill of runID,
// atomically.
func (f *Folder) WriteDrillReport(runID string, data []byte) error {
	return f.writeAtomic(DrillReportName(runID), data)
}

// ReadDrillReport reads the report of the last drill of runID; found is
// false when there is none.
func (f *Folder) ReadDrillReport(runID string) (data []byte, found bool, err error) {
	data, err = os.ReadFile(f.Path(DrillReportName(runID)))
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	return data, err == nil, err
}
