package guardian

import (
	"fmt"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// holder is who holds a deployment's lock, from its container's labels.
type holder struct {
	Name, Owner, Command, Started string
	Running                       bool
}

func holderOf(c docker.Container) holder {
	return holder{
		Name: strings.TrimPrefix(c.Name, "/"), Owner: c.Labels[docker.LabelOwner],
		Command: orWord(c.Labels[docker.LabelCommand], "docker infrahubdb"), Started: c.Labels[docker.LabelStarted],
		Running: c.Running,
	}
}

func (h holder) describe() string {
	host, pid := h.Owner, ""
	if i := strings.LastIndexByte(h.Owner, ':'); i > 0 {
		host, pid = h.Owner[:i], h.Owner[i+1:]
	}
	return fmt.Sprintf("pid %s on %s, started %s", orWord(pid, "?"), orWord(host, "an unknown host"), orWord(h.Started, "at an unknown time"))
}

// LockedError says another run holds the deployment.
type LockedError struct{ Holder holder }

func (e *LockedError) Error() string {
	h := e.Holder
	how := "its guardian leaves within seconds of that run's end, even if the run dies"
	if !h.Running {
		how = "it has no guardian: if that run is gone, remove the lock with 'docker rm -f " + h.Name + "'"
	}
	return fmt.Sprintf("another docker infrahubdb run holds this deployment: %s (%s; lock %s); wait for it, or give --wait DURATION to wait (%s)", h.Command, h.describe(), h.Name, how)
}

// verdict on a lock found in place.
type verdict int

const (
	live      verdict = iota // its run is alive, or cannot be proven gone
	stale                    // its run is provably gone: remove the lock
	finishing                // its run is gone and its guardian is bringing the deployment back: wait
)

// judge decides a lock's fate. A run is provably gone only when it ran on
// this host and its process is gone; a guardian that still runs is then
// bringing the deployment back (or waiting out its grace) and removes
// itself. A live guardian of another host is its run's heartbeat: it
// exits by itself when its client has been silent for the grace period.
// A lock without a guardian (never started) of another host cannot be
// proven gone: the refusal says how to remove it.
func judge(c docker.Container, gone func(owner string) bool) verdict {
	if !gone(c.Labels[docker.LabelOwner]) {
		return live
	}
	if c.Running {
		return finishing
	}
	return stale
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
