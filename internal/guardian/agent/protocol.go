// Package agent is the guardian: a small program that runs in a container
// on the Docker host, beside the deployment, for the length of one plugin
// run. The plugin talks to it over the container's attached stdin and
// stdout (one JSON message a line); it tells the guardian what the run
// stops, and the guardian, when the plugin disappears (the attach stream
// ends, or no message for the grace period), starts those containers again
// through the daemon's socket mounted into it, records what it did in a
// labelled volume, and exits (the container removes itself).
//
// It imports the standard library only: the same code runs inside the
// plugin binary (a hidden argument) and as a small static binary of its own.
package agent

import "time"

// Arg is the first argument that makes a binary run as the guardian.
const Arg = "__infrahubdb-guardian"

// Labels of the records the guardian leaves on the Docker host (volumes).
const (
	LabelRecord     = "org.opsmill.infrahubdb.record"      // the lock key (database container ID) of the deployment
	LabelRecordJSON = "org.opsmill.infrahubdb.record.json" // the Record, as JSON
	// LabelOwner and LabelTarget are those of internal/docker's helpers:
	// the guardian stops the helpers of the run it guards.
	LabelOwner  = "org.opsmill.infrahubdb.owner"
	LabelHelper = "org.opsmill.infrahubdb.helper"
)

// Ops of the messages from the plugin.
const (
	OpHello     = "hello"     // first message: who the run is
	OpStopping  = "stopping"  // the run is about to stop a container
	OpStarted   = "started"   // the run started that container again
	OpHeartbeat = "heartbeat" // the run is alive
	OpDone      = "done"      // the run ends normally: exit without acting
	// OpReplacing: a restore is about to replace data; if the run is lost
	// before OpReplaced, the guardian waits for what runs in Helper and
	// then runs PutBack there (loads of the safety copy).
	OpReplacing = "replacing"
	OpReplaced  = "replaced" // the replacement ended (new data, or the old put back by the run)
	// OpComponent: the state of a component (task-manager, storage) that a
	// whole-deployment restore replaces; its record says which hold new,
	// old or partial data and where their safety copies are. A component
	// told replacing with a PutBackArchive (the storage) is put back by
	// the guardian from that archive, in its own filesystem, if the run is
	// lost before its next state.
	OpComponent = "component"
)

// States of a component in OpComponent.
const (
	ComponentReplacing = "replacing" // its replacement is under way
	ComponentNew       = "new"       // replaced: it holds the backup's data
	ComponentOld       = "old"       // put back from its safety copy by the run
)

// Roles of stopped containers.
const (
	RoleDatabase = "database"
	RoleApp      = "app"
)

// Message is one line from the plugin.
type Message struct {
	Op  string `json:"op"`
	Seq int    `json:"seq"`
	// hello
	Target  string        `json:"target,omitempty"` // lock key: the database container's ID
	Owner   string        `json:"owner,omitempty"`  // host:pid of the plugin
	Command string        `json:"command,omitempty"`
	Started time.Time     `json:"started,omitzero"`
	Grace   time.Duration `json:"grace,omitempty"`
	Socket  string        `json:"socket,omitempty"` // path of the daemon's socket in this container; "" when none was mounted
	// stopping, started
	ID          string        `json:"id,omitempty"`
	Name        string        `json:"name,omitempty"`
	Role        string        `json:"role,omitempty"`
	StopTimeout time.Duration `json:"stop_timeout,omitempty"`
	// replacing
	Helper  string    `json:"helper,omitempty"`
	PutBack []Command `json:"put_back,omitempty"`
	// component
	Component string `json:"component,omitempty"`
	State     string `json:"state,omitempty"`
	Safety    string `json:"safety,omitempty"` // its safety copy, on the client's disk; "" without one
	// PutBackArchive is the component's safety copy in the guardian's own
	// filesystem, as the tar stream that, extracted into the parent of
	// MountPoint in Helper (a running container that mounts the component
	// there read-write), makes its content the safety copy's again once
	// MountPoint is emptied; "" when the guardian holds no copy.
	PutBackArchive string `json:"put_back_archive,omitempty"`
	MountPoint     string `json:"mount_point,omitempty"`
}

// Command is a program to run in a container as a user.
type Command struct {
	User string   `json:"user"`
	Cmd  []string `json:"cmd"`
	// Env reaches the process only: secrets (a password for cypher-shell)
	// go here, never into Cmd, and never into the guardian's own config.
	Env []string `json:"env,omitempty"`
}

// Reply answers each message (Seq); the answer to hello says whether the
// guardian is armed: it reached the daemon through the socket and found
// its own container there.
type Reply struct {
	Seq   int    `json:"seq"`
	Armed bool   `json:"armed,omitempty"`
	Error string `json:"error,omitempty"`
}

// Record is what the guardian did, left where the next run finds it.
type Record struct {
	Target     string    `json:"target"`
	Command    string    `json:"command"`
	Owner      string    `json:"owner"`
	RunStarted time.Time `json:"run_started"`
	Lost       time.Time `json:"lost"`  // when the guardian lost the run
	Cause      string    `json:"cause"` // how it lost it
	// Stopped lists what the run had stopped, in stop order; Started what
	// the guardian started again; Failed what it could not ("name: why").
	Stopped []string `json:"stopped,omitempty"`
	Started []string `json:"started,omitempty"`
	Failed  []string `json:"failed,omitempty"`
	// Helpers are the run's helper containers the guardian stopped (they
	// may hold the store's lock); the next run removes them.
	Helpers []string `json:"helpers,omitempty"`
	// PutBack says what became of the safety copy of a restore whose
	// replacement was under way ("" when none was).
	PutBack string `json:"put_back,omitempty"`
	// Data says whether the database holds the old or the new data.
	Data string `json:"data"`
	// Components says, for each component a whole-deployment restore had
	// begun to replace, which data it holds ("storage: …").
	Components []string `json:"components,omitempty"`
}
