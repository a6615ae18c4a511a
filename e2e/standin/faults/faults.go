// Package faults holds the stand-in's fault knobs. They exist only in the
// stand-in (never in the plugin) so the e2e suite can make steps slow or
// failing. The knobs live in <data>/standin-faults.json, which tests write
// with `docker exec` or by copying a file in; the file is shared by the
// server and by neo4j-admin running in a helper container with the same
// /data volume.
//
//	{
//	  "delay": {"restore": "5s", "start": "2s"},   // sleep before the step
//	  "fail":  {"restore": 1, "start": 2}           // fail the next N times
//	}
//
// Step names used by the stand-in: "backup" (serving a backup on the backup
// port), "aggregate", "restore" (fails after writing part of the data),
// "dump" (delay only), "load" (fails after deleting the database, as a
// failed load would [S20d]), "start", "stop", "create", "check", "bolt"
// (drop the Bolt connection on the next RUN), "corrupt" (corrupt the next
// artifact served by the backup port).
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
}

// Delay sleeps for the delay configured for step, if any.
func Delay(dataDir, step string) {
	k, _ := load(dataDir)
	if d, err := time.ParseDuration(k.Delay[step]); err == nil {
		time.Sleep(d)
	}
}

// Take reports whether step must fail now, and consumes one failure.
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
	k.Fail[step]--
	b, _ := json.Marshal(k)
	_ = f.Truncate(0)
	_, _ = f.WriteAt(b, 0)
	return true
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
