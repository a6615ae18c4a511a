package kit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// engineWatch follows `docker events` while the tests run and records what
// this run creates: its containers (RunLabel, or plugin helpers serving one
// of them) and every volume they mount, anonymous volumes included (those
// carry no label, so only the events tie them to the run). Main then checks
// that the run left the engine as it found it. Other runs may share the
// engine: nothing that is not this run's is counted.
type engineWatch struct {
	cmd     *exec.Cmd
	done    chan struct{}
	inspect sync.WaitGroup

	mu         sync.Mutex
	containers map[string]bool
	volumes    map[string]string // volume -> the container that mounted it
	seen       map[string]bool   // volumes named in any event, to prove the watch runs
}

type dockerEvent struct {
	Type   string
	Action string
	Actor  struct {
		ID         string
		Attributes map[string]string
	}
}

// watchEngine starts the watch and returns once it is proven to receive
// events; nil (with the reason on stderr) when docker events is unavailable.
func watchEngine() *engineWatch {
	w := &engineWatch{done: make(chan struct{}), containers: map[string]bool{}, volumes: map[string]string{}, seen: map[string]bool{}}
	w.cmd = exec.Command("docker", "events", "--format", "{{json .}}", "--filter", "type=container", "--filter", "type=volume")
	out, err := w.cmd.StdoutPipe()
	if err == nil {
		err = w.cmd.Start()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kit: cannot watch docker events, leftovers are not checked: %v\n", err)
		return nil
	}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e dockerEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				w.record(e)
			}
		}
	}()
	// A volume of our own proves that the subscription is live. docker
	// events may start listening only after its first probe was made, so a
	// new probe is made every half second until one is seen.
	var probes []string
	defer func() {
		if len(probes) > 0 {
			Docker(append([]string{"volume", "rm", "-f"}, probes...)...)
		}
	}()
	deadline, next := time.Now().Add(30*time.Second), time.Now()
	for ; time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(next) {
			probe := fmt.Sprintf("e2e-watch-%s-%d", RunID, len(probes))
			if res := Docker("volume", "create", "--label", RunLabel+"="+RunID, probe); res.Error != nil {
				fmt.Fprintf(os.Stderr, "kit: %s\n", res.String())
			}
			probes, next = append(probes, probe), time.Now().Add(500*time.Millisecond)
		}
		w.mu.Lock()
		ok := slices.ContainsFunc(probes, func(p string) bool { return w.seen[p] })
		w.mu.Unlock()
		if ok {
			return w
		}
	}
	fmt.Fprintln(os.Stderr, "kit: docker events shows nothing, leftovers are not checked")
	w.stop()
	return nil
}

func (w *engineWatch) record(e dockerEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := e.Actor.Attributes
	switch {
	case e.Type == "volume":
		w.seen[e.Actor.ID] = true
		if e.Action == "mount" && w.containers[a["container"]] {
			w.volumes[e.Actor.ID] = a["container"]
		}
	case e.Action == "create" && (a[RunLabel] == RunID || w.containers[a[TargetLabel]]):
		w.containers[e.Actor.ID] = true
		// A container that never starts mounts nothing, but its anonymous
		// volumes exist from its creation on.
		w.inspect.Add(1)
		go w.recordVolumesOf(e.Actor.ID)
	}
}

func (w *engineWatch) recordVolumesOf(id string) {
	defer w.inspect.Done()
	res := Docker("inspect", "-f", `{{.Name}} {{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}`, id)
	w.mu.Lock()
	defer w.mu.Unlock()
	fields := strings.Fields(res.Stdout())
	for i, v := range fields {
		if i > 0 {
			w.volumes[v] = fields[0]
		}
	}
}

func (w *engineWatch) stop() {
	_ = w.cmd.Process.Kill()
	_ = w.cmd.Wait()
	<-w.done
	w.inspect.Wait()
}

// leftovers stops the watch and lists what of this run is still on the
// engine, as `docker rm -f -v`, `docker volume rm` and `docker network rm`
// arguments.
func (w *engineWatch) leftovers() (containers, volumes, networks []string) {
	time.Sleep(time.Second) // the events of the last removals
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range w.containers {
		if Docker("container", "inspect", id).ExitCode == 0 {
			containers = append(containers, id)
		}
	}
	for v, by := range w.volumes {
		if Docker("volume", "inspect", v).ExitCode == 0 {
			fmt.Fprintf(os.Stderr, "kit: volume %s was mounted by container %s\n", v, by)
			volumes = append(volumes, v)
		}
	}
	networks = strings.Fields(Docker("network", "ls", "-q", "--filter", "label="+RunLabel+"="+RunID).Stdout())
	sort.Strings(containers)
	sort.Strings(volumes)
	return containers, volumes, networks
}

// checkLeftovers reports and removes what the run left behind; false when
// there was anything.
func checkLeftovers(w *engineWatch) bool {
	if w == nil {
		return true
	}
	containers, volumes, networks := w.leftovers()
	networks = slices.DeleteFunc(networks, func(n string) bool {
		if StaleEndpointOnly(n) {
			fmt.Fprintf(os.Stderr, "kit: network %s cannot be removed: Docker 20.10 keeps an endpoint of a container that is gone (no container is on it); an engine fault, not a leftover\n", n)
			return true
		}
		return false
	})
	clean := true
	for _, left := range []struct {
		kind   string
		ids    []string
		remove []string
	}{
		{"containers", containers, []string{"rm", "-f", "-v"}},
		{"volumes", volumes, []string{"volume", "rm", "-f"}},
		{"networks", networks, []string{"network", "rm"}},
	} {
		if len(left.ids) == 0 {
			continue
		}
		clean = false
		fmt.Fprintf(os.Stderr, "kit: FAIL: the run left %d %s on the engine (a test or the plugin did not clean up): %s\n",
			len(left.ids), left.kind, strings.Join(left.ids, " "))
		Docker(append(left.remove, left.ids...)...)
	}
	return clean
}

// StaleEndpointOnly reports whether network cannot be removed only because
// the engine still counts an endpoint of a container that is gone: no
// container is on it, and `docker network rm` says "has active endpoints"
// (Docker 20.10's libnetwork can keep such an endpoint after a container
// attached to the network is removed while it starts or stops; only a
// restart of the daemon clears it). Anything else, a container on it
// included, is not that.
func StaleEndpointOnly(network string) bool {
	on := Docker("network", "inspect", "-f", "{{len .Containers}}", network)
	if on.Error != nil || strings.TrimSpace(on.Stdout()) != "0" {
		return false
	}
	rm := Docker("network", "rm", network)
	return rm.Error != nil && strings.Contains(rm.Stderr(), "has active endpoints")
}
