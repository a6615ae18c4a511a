package docker

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/process"
)

// Labels on helper containers. They say what a helper is for and which run owns it, so a later
// run can find helpers serving the same database (the lock per database container) and tell
// live ones from those left by a crashed run.
const (
	LabelHelper  = "org.opsmill.infrahubdb.helper"  // the command: backup, restore, verify
	LabelTarget  = "org.opsmill.infrahubdb.target"  // ID of the database container served
	LabelOwner   = "org.opsmill.infrahubdb.owner"   // host:pid of the plugin process
	LabelStarted = "org.opsmill.infrahubdb.started" // RFC 3339 time the helper was created
)

// Owner identifies this plugin process as host:pid.
func Owner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// HelperLabels returns the labels for a helper of command serving the database container target,
// owned by this process.
func HelperLabels(command, target string, now time.Time) map[string]string {
	return map[string]string{
		LabelHelper:  command,
		LabelTarget:  target,
		LabelOwner:   Owner(),
		LabelStarted: now.UTC().Format(time.RFC3339),
	}
}

// parseOwner splits an owner label into host and pid; ok is false when it is malformed.
func parseOwner(owner string) (host string, pid int, ok bool) {
	i := strings.LastIndexByte(owner, ':')
	if i <= 0 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(owner[i+1:])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return owner[:i], pid, true
}

// isStale decides whether a helper was left behind: its owner is a process of this host that no
// longer exists, or it is stopped and its owner cannot be checked from here. A stopped helper of
// a live owner is not stale: the Community backup and the offline restore stop their own helper
// while the database restarts. A stopped helper of another host's run is stale only because the
// run lock on the deployment (internal/guardian) is held by whoever checks: a live run of another
// host would hold it.
func isStale(c Container, thisHost string, alive func(pid int) bool) bool {
	host, pid, ok := parseOwner(c.Labels[LabelOwner])
	if ok && host == thisHost {
		return !alive(pid)
	}
	return !c.Running
}

// StaleHelper applies isStale's rule for this host to a helper container as
// the engine lists it (StaleHelpers; the fake engine of
// internal/helper/helpertest applies the same rule to its containers).
func StaleHelper(c Container) bool {
	host, _, _ := parseOwner(Owner())
	return isStale(c, host, processAlive)
}

// StaleHelpers returns the helper containers serving the database container target, split into
// those left by runs that are gone (safe to remove) and those of runs still alive (a lock
// conflict).
func (e *Engine) StaleHelpers(ctx context.Context, target string) (stale, live []Container, err error) {
	helpers, err := e.List(ctx, map[string]string{LabelHelper: "", LabelTarget: target}, true)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range helpers {
		if StaleHelper(c) {
			stale = append(stale, c)
		} else {
			live = append(live, c)
		}
	}
	return stale, live, nil
}

// RemoveContainer force-removes a container and its anonymous volumes; a missing container is
// not an error. It works with a cancelled ctx, so cleanup on Ctrl-C still happens.
func (e *Engine) RemoveContainer(ctx context.Context, id string) error {
	return (&Helper{engine: e, id: id}).Remove(ctx)
}

// processAlive is whether an owner's process is alive on this host (a
// zombie is not: a client killed under a PID 1 that reaps nothing).
var processAlive = process.Alive
