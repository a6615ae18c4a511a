// Package faults holds the stand-in's fault knobs. They exist only in the
// stand-in (never in the plugin) so the e2e suite can make steps slow or
// failing. The knobs live in <data>/standin-faults.json, which tests write
// with `docker exec` or by copying a file in; the file is shared by the
// server and by neo4j-admin running in a helper container with the same
// /data volume.
//
//	{
//	  "delay": {"restore": "5s", "start": "2s"},   // sleep before the step
//	  "fail":  {"restore": 1, "start": 2},          // fail the next N times
//	  "skip":  {"in-use": 1},                       // ... after letting N pass
//	  "variant": {"aggregate": "unparsable"}        // undocumented behaviours
//	}
//
// Variants switch the stand-in between the plausible behaviours of what the
// Operations Manual leaves undocumented (research NEO4J.md §7), so the e2e
// suite can prove the plugin right whichever way real Neo4j goes:
//
//   - "aggregate": where aggregate puts its result: "in-place" (under the
//     chain's newest name; the default before 2025.09), "new-name" (a new
//     timestamped file alongside, the default from 2025.09: the manual says
//     aggregate writes "a new, recovered backup alongside the existing
//     one"), "unparsable" (a name that is no artifact name);
//   - "aggregate-output": "silent" prints no line naming the result;
//   - "aggregate-nothing": "fail" declines a chain that is one full backup
//     (empty ones aside) with "No aggregation needed" and exit 1;
//   - "inspect": "json-strings" prints JSON where the table was asked for,
//     "unknown" a layout no reader knows, "no-tx" the table without its
//     LOWEST TX and HIGHEST TX columns;
//   - "backup-skip": a database neo4j-admin database backup writes nothing
//     for while exiting 0 (neo4j/neo4j#13107);
//   - "check-report": "none" (no report file, only the printed summary),
//     "always" (a report file even for a consistent store), "elsewhere" (in
//     the working directory, not --report-path);
//   - "restore-in-use": the message restore prints for a database in use.
//
// The "in-use" failure is a START DATABASE that lands on the server behind
// a STOP (an interrupted START completing late): neo4j-admin database
// restore finds the database online again (the registry says so, as SHOW
// DATABASES will) and refuses it as in use, with the "restore-in-use"
// variant's message or the documented one. With "skip" it lets the first
// restores pass (the one a rollback follows).
//
// The backup helper has no /data of its own: the server relays its
// variants to neo4j-admin database backup over the backup port, which keeps
// them in the helper's data directory for the aggregate and inspect that
// follow in the same helper.
//
// Step names used by the stand-in: "backup" (serving a backup on the backup
// port), "aggregate", "restore" (fails after writing part of the data),
// "dump" (delay only), "load" (fails after deleting the database, as a
// failed load would [S20d]), "start", "stop", "create", "check", "bolt"
// (drop the Bolt connection on the next RUN), "corrupt" (corrupt the next
// artifact served by the backup port), "writes <db>" (the next backup of
// db served by the backup port is written around: one transaction commits
// just before its snapshot, one just after).
package faults

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// File is the name of the knob file inside the data directory.
const File = "standin-faults.json"

// Knobs is the content of the knob file.
type Knobs struct {
	Delay map[string]string `json:"delay,omitempty"`
	Fail  map[string]int    `json:"fail,omitempty"`
	// Skip lets the next N occurrences of a step pass before Fail counts.
	Skip    map[string]int    `json:"skip,omitempty"`
	Variant map[string]string `json:"variant,omitempty"`
}

// Variant returns the variant chosen for name ("" for the default).
func Variant(dataDir, name string) string {
	k, _ := load(dataDir)
	return k.Variant[name]
}

// Variants returns every variant chosen (relayed over the backup port).
func Variants(dataDir string) map[string]string {
	k, _ := load(dataDir)
	return k.Variant
}

// KeepVariants records variants relayed by the server in dataDir's knob
// file (in a backup helper), leaving its other knobs as they are.
func KeepVariants(dataDir string, v map[string]string) error {
	if len(v) == 0 {
		return nil
	}
	k, _ := load(dataDir)
	if k.Variant == nil {
		k.Variant = map[string]string{}
	}
	for name, val := range v {
		k.Variant[name] = val
	}
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, File), b, 0o666)
}

// Delay sleeps for the delay configured for step, if any.
func Delay(dataDir, step string) {
	k, _ := load(dataDir)
	if d, err := time.ParseDuration(k.Delay[step]); err == nil {
		time.Sleep(d)
	}
}

// Take reports whether step must fail now, and consumes one failure (or,
// while the step has skips left, one skip).
func Take(dataDir, step string) bool {
	path := filepath.Join(dataDir, File)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return false
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	k, err := load(dataDir)
	if err != nil || k.Fail[step] <= 0 {
		return false
	}
	fail := true
	if k.Skip[step] > 0 {
		k.Skip[step]--
		fail = false
	} else {
		k.Fail[step]--
	}
	b, _ := json.Marshal(k)
	_ = f.Truncate(0)
	_, _ = f.WriteAt(b, 0)
	return fail
}

func load(dataDir string) (Knobs, error) {
	var k Knobs
	b, err := os.ReadFile(filepath.Join(dataDir, File))
	if errors.Is(err, os.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return k, err
	}
	err = json.Unmarshal(b, &k)
	return k, err
}
