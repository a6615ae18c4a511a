package agent

import (
	"slices"
	"strings"
	"time"
)

// Stopped is a container the run stopped (or was about to stop).
type Stopped struct {
	ID, Name, Role string
	StopTimeout    time.Duration
}

// State is what the guardian knows of the run it guards.
type State struct {
	Hello   Message
	Stopped []Stopped // in stop order
	// Replacing is the OpReplacing of a replacement under way; nil when
	// none is.
	Replacing *Message
	// PutBackDone is set by the recovery once the safety copy is back.
	PutBackDone bool
	// Components are the OpComponent states, in the order first told.
	Components []Message
	// ComponentPutBack is set by the recovery for each component it put
	// back from its PutBackArchive: "" when it did, else why it failed.
	ComponentPutBack map[string]string
}

// Apply records one message of the run.
func (s *State) Apply(m Message) {
	switch m.Op {
	case OpHello:
		s.Hello = m
	case OpStopping:
		if slices.ContainsFunc(s.Stopped, func(c Stopped) bool { return c.ID == m.ID }) {
			return
		}
		s.Stopped = append(s.Stopped, Stopped{ID: m.ID, Name: m.Name, Role: m.Role, StopTimeout: m.StopTimeout})
	case OpStarted:
		s.Stopped = slices.DeleteFunc(s.Stopped, func(c Stopped) bool { return c.ID == m.ID })
	case OpReplacing:
		s.Replacing = &m
	case OpReplaced:
		s.Replacing = nil
	case OpComponent:
		for i := range s.Components {
			if s.Components[i].Component == m.Component {
				s.Components[i] = m
				return
			}
		}
		s.Components = append(s.Components, m)
	}
}

// Action kinds of a recovery.
const (
	ActWaitHelper = "wait-helper" // let what runs in the restore's helper end: a load killed midway tears the store
	ActPutBack    = "put-back"    // load the safety copy in the restore's helper
	// ActPutBackComponent: let what runs in the component's helper end,
	// empty its mount point and extract the guardian's copy of its safety
	// archive there (a storage torn by a lost restore).
	ActPutBackComponent = "put-back-component"
	ActStopHelpers      = "stop-helpers" // stop the run's helpers: a dump or load in them holds the store lock
	ActStop             = "stop"         // finish a stop the run began (docker stop waits for one in progress)
	ActStart            = "start"        // start and wait until running (healthy, with a healthcheck)
)

// Action is one step of a recovery.
type Action struct {
	Kind      string
	Target    Stopped
	Component Message // ActPutBackComponent: its OpComponent
	Timeout   time.Duration
}

// Recovery is what the guardian does when the run is lost: nothing when
// the run stopped nothing and replaced nothing; else put back what was
// being replaced (the graph, a component the guardian holds a copy of) in
// the helpers that replaced it, while they still run; then stop the run's helpers, let every stop
// the run began finish (a container the run was about to stop may still
// be stopping, and a start now would be undone by it), then start the
// containers in the reverse of their stop order: the database before the
// applications, the applications in dependency order.
func (s *State) Recovery() []Action {
	if len(s.Stopped) == 0 && s.Replacing == nil && len(s.Components) == 0 {
		return nil
	}
	var acts []Action
	if s.Replacing != nil {
		acts = append(acts, Action{Kind: ActWaitHelper}, Action{Kind: ActPutBack})
	}
	for _, c := range s.Components {
		if c.State == ComponentReplacing && c.PutBackArchive != "" && c.Helper != "" && c.MountPoint != "" {
			acts = append(acts, Action{Kind: ActPutBackComponent, Component: c, Timeout: putBackWait})
		}
	}
	acts = append(acts, Action{Kind: ActStopHelpers})
	for _, c := range s.Stopped {
		acts = append(acts, Action{Kind: ActStop, Target: c, Timeout: c.StopTimeout})
	}
	for _, c := range slices.Backward(s.Stopped) {
		acts = append(acts, Action{Kind: ActStart, Target: c})
	}
	return acts
}

// DataState says what the database holds after a recovery.
func (s *State) DataState() string {
	if s.Hello.Command != "restore" {
		return "old: a " + orWord(s.Hello.Command, "run") + " does not change the data"
	}
	if s.PutBackDone {
		return "old: the guardian put the safety copy back (the restore did not finish)"
	}
	if s.Replacing != nil && len(s.Replacing.PutBack) == 0 {
		return "unknown: the restore was lost while it replaced the data, without a safety copy (--no-safety-backup); restore again"
	}
	if s.Replacing != nil {
		return "unknown: the restore was lost while it replaced the data and the guardian could not put the safety copy back; restore the safety copy from the restore folder's safety directory"
	}
	if slices.ContainsFunc(s.Components, func(c Message) bool { return c.State == ComponentReplacing }) {
		// A whole-deployment restore replaces the graph last.
		return "old: the restore was lost while it replaced another component, before the graph"
	}
	if !slices.ContainsFunc(s.Stopped, func(c Stopped) bool { return c.Role == RoleDatabase }) {
		return "unknown: the restore was lost while the database container ran; check the databases with SHOW DATABASES and the data, and restore again"
	}
	return "old: the restore was lost before it replaced any data"
}

// ComponentStates says what each component a whole-deployment restore had
// begun to replace holds now, and how to put a torn one back.
func (s *State) ComponentStates() []string {
	var out []string
	for _, c := range s.Components {
		var what string
		switch c.State {
		case ComponentNew:
			what = "new: replaced from the backup before the run was lost"
		case ComponentOld:
			what = "old: put back from its safety copy by the run"
		default:
			failed, tried := s.ComponentPutBack[c.Component]
			switch {
			case tried && failed == "":
				what = "old: the guardian put its safety copy back (the restore did not finish)"
			case tried:
				what = "FAILED: the guardian could not put its safety copy back (" + failed + "); " + replacingState(c)
			default:
				what = replacingState(c)
			}
		}
		out = append(out, c.Component+": "+what)
	}
	return out
}

// replacingState is what a component lost mid-replacement holds.
func replacingState(c Message) string {
	var what string
	switch c.Component {
	case "task-manager":
		// pg_restore runs in one transaction: cut off, it commits nothing.
		what = "most likely old (pg_restore runs in one transaction and commits nothing when it is cut off), new only if it had received the whole dump"
	default:
		what = "PARTIAL: the run was lost while its content was replaced"
	}
	if c.Safety == "" {
		return what + "; there is no safety copy (--no-safety-backup): restore it from a backup"
	}
	return what + "; its safety copy is " + c.Safety + " on the machine that ran the restore (restore it with: docker infrahubdb restore " + safetyFolder(c.Safety) + " --component " + c.Component + ")"
}

// safetyFolder is the folder of a safety copy's path.
func safetyFolder(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i > 0 {
		return path[:i]
	}
	return path
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
