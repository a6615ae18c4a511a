package helper

import "github.com/opsmill/docker-infrahubdb/internal/docker"

// Target is the database a run works on and how the helper reaches it.
type Target struct {
	// Container is the database container; nil when only --database-url
	// names the database.
	Container *docker.Container
	// BackupAddress is the host:port neo4j-admin backs up from.
	BackupAddress string
	// BoltAddress is the host:port of the Bolt listener, as seen from the helper.
	BoltAddress string
	// LockKey identifies the database for the helper lock: the container
	// ID, or the address when there is no container.
	LockKey string
	// HostNetwork is true when the helper must use the host's network stack.
	HostNetwork bool
	// SharedNetwork is true when the helper shares the database container's
	// network namespace: both ports are on 127.0.0.1 for it, whatever the
	// database's listen addresses (Neo4j's backup port listens on
	// 127.0.0.1:6362 by default [S1][S10]).
	SharedNetwork bool
	// FollowIP is true when the helper is on the database container's
	// networks and the addresses are its IP there, found by the plugin
	// (deployment.OverNetwork): they follow it when the container starts
	// again with another one (deployment.Readdress).
	FollowIP bool
	// Rule says how the database container was found (see deployment.Discover).
	Rule string
}

// Name is how messages refer to the database.
func (t Target) Name() string {
	if t.Container != nil {
		return t.Container.Name
	}
	return t.BackupAddress
}
