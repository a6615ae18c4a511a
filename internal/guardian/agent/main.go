package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// DefaultGrace is how long the guardian waits for a message (the plugin
// sends a heartbeat every few seconds) before it takes the run for lost.
const DefaultGrace = 10 * time.Second

// startWait bounds the wait for a started container to run (and to be
// healthy, when it has a healthcheck) before the next one starts.
const startWait = 5 * time.Minute

// Engine is what a recovery needs from the daemon.
type Engine interface {
	inspect(ctx context.Context, id string) (containerState, error)
	stop(ctx context.Context, id string, timeout time.Duration) error
	start(ctx context.Context, id string) error
	listIDs(ctx context.Context, labels ...string) ([]string, error)
	createVolume(ctx context.Context, name string, labels map[string]string) error
	execState(ctx context.Context, id string) (running bool, code int, program string, err error)
	execRun(ctx context.Context, container string, c Command) (code int, output string, err error)
	// putArchive extracts the tar stream r into dir in a container.
	putArchive(ctx context.Context, container, dir string, r io.Reader) error
}

// putBackWait bounds the wait for a load under way in the restore's helper
// and for each load of the safety copy: a store of many GiB loads slowly.
const putBackWait = 2 * time.Hour

// Main runs the guardian on the process's stdin and stdout; the exit code
// is 0 whether or not it had to act (what it did is in its record).
func Main() int {
	self, _ := os.Hostname() // the container's short ID
	if err := Guard(os.Stdin, os.Stdout, func(socket string) Engine { return newDockerAPI(socket) }, self); err != nil {
		fmt.Fprintln(os.Stderr, "guardian:", err)
		return 1
	}
	return 0
}

// Guard reads the run's messages from in and answers on out until the run
// ends (done) or is lost (end of input, or no message for the grace
// period); a lost run that had stopped containers is recovered through the
// engine that dial returns for the hello's socket.
func Guard(in io.Reader, out io.Writer, dial func(socket string) Engine, self string) error {
	msgs := make(chan Message)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			var m Message
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			msgs <- m
		}
		readErr <- sc.Err()
		close(msgs)
	}()
	enc := json.NewEncoder(out)
	var (
		st  State
		eng Engine
	)
	grace := DefaultGrace
	for {
		var (
			m  Message
			ok bool
		)
		select {
		case m, ok = <-msgs:
		case <-time.After(grace):
			return recoverRun(eng, &st, fmt.Sprintf("no message from the plugin for %s (client asleep, network cut or process frozen)", grace))
		}
		if !ok {
			cause := "the plugin's connection to the guardian closed (process killed or connection lost)"
			if err := <-readErr; err != nil {
				cause += ": " + err.Error()
			}
			return recoverRun(eng, &st, cause)
		}
		dropPutBackArchive(&st, m)
		st.Apply(m)
		reply := Reply{Seq: m.Seq}
		switch m.Op {
		case OpHello:
			if m.Grace > 0 {
				grace = m.Grace
			}
			if m.Socket != "" {
				eng = dial(m.Socket)
				if err := armed(eng, self); err != nil {
					eng = nil
					reply.Error = err.Error()
				}
			}
			reply.Armed = eng != nil
		case OpDone:
			_ = enc.Encode(reply)
			return nil
		}
		if err := enc.Encode(reply); err != nil {
			return recoverRun(eng, &st, "cannot answer the plugin: "+err.Error())
		}
	}
}

// armed proves the socket reaches the daemon that runs this container.
func armed(eng Engine, self string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if self == "" {
		return errors.New("the guardian does not know its own container")
	}
	if _, err := eng.inspect(ctx, self); err != nil {
		return fmt.Errorf("the daemon's socket does not answer for the guardian's own container: %w", err)
	}
	return nil
}

// recoverRun brings back what the lost run stopped and records it.
func recoverRun(eng Engine, st *State, cause string) error {
	acts := st.Recovery()
	if eng == nil || len(acts) == 0 {
		return nil // unarmed (a lock only), or nothing to bring back
	}
	rec := Record{
		Target: st.Hello.Target, Command: st.Hello.Command, Owner: st.Hello.Owner,
		RunStarted: st.Hello.Started, Lost: time.Now().UTC(), Cause: cause,
	}
	for _, c := range st.Stopped {
		rec.Stopped = append(rec.Stopped, c.Name)
	}
	for _, a := range acts {
		run(eng, st, a, &rec)
	}
	stopLateHelpers(eng, st, &rec)
	rec.Data = st.DataState()
	rec.Components = st.ComponentStates()
	return writeRecord(eng, rec)
}

func run(eng Engine, st *State, a Action, rec *Record) {
	ctx, cancel := context.WithTimeout(context.Background(), a.Timeout+startWait)
	defer cancel()
	switch a.Kind {
	case ActWaitHelper:
		c, err := eng.inspect(ctx, st.Replacing.Helper)
		if err != nil {
			rec.Failed = append(rec.Failed, "find the restore's helper "+st.Replacing.Helper+": "+err.Error())
			return
		}
		// A neo4j-admin load killed midway tears the store: let it end.
		// Other execs (a Bolt relay) do not matter.
		for _, id := range c.ExecIDs {
			if _, _, program, err := eng.execState(ctx, id); err == nil && program == "neo4j-admin" {
				_, _ = waitExec(eng, id)
			}
		}
	case ActPutBack:
		rec.PutBack = putBack(eng, st)
	case ActPutBackComponent:
		if st.ComponentPutBack == nil {
			st.ComponentPutBack = map[string]string{}
		}
		st.ComponentPutBack[a.Component.Component] = putBackComponent(ctx, eng, a.Component)
	case ActStopHelpers:
		// Every helper of the run: the graph's (which may hold the store
		// lock) and the other components' (which hold their volumes).
		stopHelpers(ctx, eng, st, rec, false)
	case ActStop:
		if err := eng.stop(ctx, a.Target.ID, a.Timeout); err != nil {
			rec.Failed = append(rec.Failed, a.Target.Name+": finish its stop: "+err.Error())
		}
	case ActStart:
		if err := startAndWait(ctx, eng, a.Target.ID); err != nil {
			rec.Failed = append(rec.Failed, a.Target.Name+": "+err.Error())
			return
		}
		rec.Started = append(rec.Started, a.Target.Name)
	}
}

// stopHelpers stops the run's helper containers (with running, only those
// that run) and records them.
func stopHelpers(ctx context.Context, eng Engine, st *State, rec *Record, running bool) {
	ids, err := eng.listIDs(ctx, LabelHelper, LabelOwner+"="+st.Hello.Owner)
	if err != nil {
		rec.Failed = append(rec.Failed, "list the run's helper containers: "+err.Error())
	}
	for _, id := range ids {
		name := id
		c, err := eng.inspect(ctx, id)
		if running && (err != nil || !c.State.Running) {
			continue // gone or not running: nothing to stop
		}
		if err == nil {
			name = strings.TrimPrefix(c.Name, "/")
		}
		// At once (SIGKILL): a helper's PID 1 is sleep, which ignores
		// SIGTERM (docker.HelperSpec; only the drill's server helpers
		// run their image's own, and a drill stops nothing, so no
		// guardian acts for it), and its work (a dump, a backup, a tar) runs in
		// exec'd processes that docker stop never sends SIGTERM to:
		// a timeout only waited for the SIGKILL (10 s a helper, added
		// to the outage). What must end cleanly in a helper (a load)
		// was waited for before (ActWaitHelper).
		if err := eng.stop(ctx, id, 0); err != nil {
			rec.Failed = append(rec.Failed, "stop helper "+name+": "+err.Error())
			continue
		}
		if !slices.Contains(rec.Helpers, name) {
			rec.Helpers = append(rec.Helpers, name)
		}
	}
}

// stopLateHelpers stops, once the deployment runs again, a helper of the
// run that started after the guardian stopped the others: a request the
// client sent just before it died (a container's start) can complete in
// the daemon after the guardian listed the run's helpers (seen in
// TestGuardianKill9: an emptying helper Created at the list, Up after).
// Nothing of the run sends requests any more, and by now the deployment's
// containers were started one after another, each waited for.
func stopLateHelpers(eng Engine, st *State, rec *Record) {
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	stopHelpers(ctx, eng, st, rec, true)
}

// putBack loads the safety copy in the restore's helper and says how it went.
func putBack(eng Engine, st *State) string {
	r := st.Replacing
	if len(r.PutBack) == 0 {
		return "no safety copy to put back (--no-safety-backup)"
	}
	for _, c := range r.PutBack {
		ctx, cancel := context.WithTimeout(context.Background(), putBackWait)
		code, out, err := eng.execRun(ctx, r.Helper, c)
		cancel()
		if err != nil || code != 0 {
			return fmt.Sprintf("FAILED: %s in %s: exit code %d %s %s", strings.Join(c.Cmd, " "), r.Helper, code, errOrEmpty(err), lastLine(out))
		}
	}
	st.PutBackDone = true
	return "put back from the safety copy in " + r.Helper
}

// putBackComponent puts a component back from the guardian's copy of its
// safety archive, as the plugin's rollback does: once what runs in its
// helper has ended, it empties the mount point there and extracts the
// archive into its parent. It returns "" when it did, else why not.
func putBackComponent(ctx context.Context, eng Engine, c Message) string {
	h, err := eng.inspect(ctx, c.Helper)
	if err != nil {
		return "find its helper " + c.Helper + ": " + err.Error()
	}
	// A find -delete under way would race the extraction: let it end.
	for _, id := range h.ExecIDs {
		_, _ = waitExec(eng, id)
	}
	// The daemon may still be ending the extraction the lost client began
	// (a directory that gains a file while find empties it): try again.
	empty := Command{User: "0", Cmd: []string{"find", c.MountPoint, "-mindepth", "1", "-delete"}}
	for try := 1; ; try++ {
		code, out, err := eng.execRun(ctx, c.Helper, empty)
		if err == nil && code == 0 {
			break
		}
		if try == emptyTries || ctx.Err() != nil {
			return fmt.Sprintf("%s in %s: exit code %d %s %s", strings.Join(empty.Cmd, " "), c.Helper, code, errOrEmpty(err), lastLine(out))
		}
		time.Sleep(emptyRetry)
	}
	f, err := os.Open(c.PutBackArchive)
	if err != nil {
		return "open the guardian's copy: " + err.Error()
	}
	defer f.Close()
	if err := eng.putArchive(ctx, c.Helper, path.Dir(c.MountPoint), f); err != nil {
		return "extract " + c.PutBackArchive + " into " + c.Helper + ": " + err.Error()
	}
	return ""
}

// emptyTries and emptyRetry bound the tries to empty a component before it
// is put back.
var (
	emptyTries = 3
	emptyRetry = 2 * time.Second
)

// dropPutBackArchive removes the guardian's copy of a component's safety
// archive once the run tells the component's next state (replaced, or
// put back by the run): it is needed no more, and the space is the
// Docker host's. The container's removal takes it on every other path.
func dropPutBackArchive(st *State, m Message) {
	if m.Op != OpComponent {
		return
	}
	for _, c := range st.Components {
		if c.Component == m.Component && c.PutBackArchive != "" && c.PutBackArchive != m.PutBackArchive {
			_ = os.Remove(c.PutBackArchive)
		}
	}
}

// waitExec waits until an exec ends and returns its exit code.
func waitExec(eng Engine, id string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), putBackWait)
	defer cancel()
	for {
		running, code, _, err := eng.execState(ctx, id)
		if err != nil || !running {
			return code, err
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// startAndWait starts a container and waits until it runs, and is
// healthy when it has a healthcheck: the next one may depend on it.
func startAndWait(ctx context.Context, eng Engine, id string) error {
	if err := eng.start(ctx, id); err != nil {
		return err
	}
	for {
		c, err := eng.inspect(ctx, id)
		switch {
		case err != nil:
			return err
		case c.State.Running && (c.State.Health == nil || c.State.Health.Status != "starting"):
			if c.State.Health != nil && c.State.Health.Status == "unhealthy" {
				return errors.New("started, but unhealthy")
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("started, but not running and healthy within %s", startWait)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// writeRecord leaves the record as the labels of a small volume: it stays
// on the Docker host after the guardian's container is gone, and the next
// run finds it by label.
func writeRecord(eng Engine, rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("infrahubdb-record-%d", time.Now().UnixNano())
	return eng.createVolume(ctx, name, map[string]string{LabelRecord: rec.Target, LabelRecordJSON: string(b)})
}
