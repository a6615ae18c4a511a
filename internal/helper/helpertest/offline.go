package helpertest

import (
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// The offline side of the fake: the database container can be stopped and
// started, the helper too, and neo4j-admin database dump and load work on
// the server's data while the database container is stopped (Community) or
// the database is (Server.SetStopped, Enterprise).
//
// neo4j-admin database check reads a dump staged as <db>.dump in its
// --from-path folder (a check of online backups is not faked).
//
// Fault keys: "stop-container", "start-container" (any container),
// "start-database" (the database container only), "helper-start" (a
// stopped helper started again), "dump", "load", "database check".

// DumpContent is what a fake dump of db holding data contains.
func DumpContent(db, data string) string { return "fake-neo4j-dump db=" + db + "\n" + data + "\n" }

// Inspect returns the database or an app container by ID or name.
func (e *Engine) Inspect(ctx context.Context, id string) (docker.Container, error) {
	e.Record("inspect %s", id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Database != nil && (e.Database.ID == id || e.Database.Name == id) {
		c := *e.Database
		c.ExitCode = e.DatabaseExitCode
		return c, nil
	}
	for _, c := range append(slices.Clone(e.Apps), e.Others...) {
		if c.ID == id || c.Name == id {
			return c, nil
		}
	}
	// Helpers are containers too: Docker inspects them with their labels
	// and mounts.
	for _, h := range e.Helpers {
		if c := h.container(); c.ID != "" && (h.id == id || h.name == id) {
			return c, nil
		}
	}
	return docker.Container{}, fmt.Errorf("No such container: %s", id)
}

// DatabaseRunning reports whether the database container runs.
func (e *Engine) DatabaseRunning() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Database != nil && e.Database.Running
}

// setDatabaseRunning is setRunning's case for the database container.
func (e *Engine) setDatabaseRunning(ctx context.Context, id string, running bool) (bool, error) {
	e.mu.Lock()
	isDB := e.Database != nil && e.Database.ID == id
	e.mu.Unlock()
	if !isDB {
		return false, nil
	}
	if running {
		if f := e.fault("start-database"); f != nil {
			if err := f.fire(ctx); err != nil {
				return true, err
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Database.Running = running
	return true, nil
}

// Stop stops the helper: what ran in it is killed.
func (h *Helper) Stop(ctx context.Context) error {
	h.eng.Record("stop-helper %s", h.name)
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	if h.removed || h.lost {
		return fmt.Errorf("No such container: %s", h.name)
	}
	h.stopped = true
	return nil
}

// Start starts a stopped helper again, with its file system.
func (h *Helper) Start(ctx context.Context) error {
	h.eng.Record("start-helper-again %s", h.name)
	if f := h.eng.fault("helper-start"); f != nil {
		if err := f.fire(ctx); err != nil {
			return err
		}
	}
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	if h.removed || h.lost {
		return fmt.Errorf("No such container: %s", h.name)
	}
	h.stopped = false
	return nil
}

// runOffline runs the commands of the offline path; ok is false for others.
// Called with the engine and server locks held.
func (h *Helper) runOffline(cmd []string, stdout, stderr io.Writer) (code int, ok bool) {
	switch {
	case len(cmd) >= 3 && cmd[0] == "neo4j-admin" && cmd[1] == "database" && cmd[2] == "check" && h.dumpIn(cmd[3:]):
		// check of a dump staged as <db>.dump in --from-path: consistent
		// when it is a fake dump of db (fault key "database check" makes
		// it fail, as a finding would).
		fl, pos := flags(cmd[3:])
		data, _ := h.fs.read(path.Join(fl["--from-path"], pos[0]+".dump"))
		if head, _, _ := strings.Cut(string(data), "\n"); head != "fake-neo4j-dump db="+pos[0] {
			fmt.Fprintln(stdout, "ERROR: not a dump of "+pos[0])
			fmt.Fprintln(stderr, "Inconsistencies found: 1.")
			return 1, true
		}
		fmt.Fprintln(stdout, "Consistency check completed")
		return 0, true
	case len(cmd) >= 3 && cmd[0] == "neo4j-admin" && cmd[1] == "database" && (cmd[2] == "dump" || cmd[2] == "load"):
		fl, pos := flags(cmd[3:])
		if len(pos) != 1 {
			fmt.Fprintln(stderr, "Missing required parameter: '<database>'")
			return 2, true
		}
		db := pos[0]
		if h.eng.Database != nil && h.eng.Database.Running && !h.eng.Server.stopped[db] {
			// Community: the whole DBMS must be offline; Enterprise: the
			// database, stopped with STOP DATABASE [S18][S19].
			fmt.Fprintf(stderr, "The database is in use. Stop database '%s' and try again.\n", db)
			return 1, true
		}
		if cmd[2] == "dump" {
			dir := fl["--to-path"]
			if _, isDir, _ := h.fs.stat(dir); !isDir {
				fmt.Fprintf(stderr, "%s is not an existing directory\n", dir)
				return 1, true
			}
			if _, ok := h.eng.Server.Data[db]; !ok {
				fmt.Fprintf(stderr, "Database does not exist: %s\n", db)
				return 1, true
			}
			_ = h.fs.write(path.Join(dir, db+".dump"), []byte(DumpContent(db, h.eng.Server.Data[db])))
			fmt.Fprintf(stdout, "Done: 42 files, 1.000MiB processed.\n")
			return 0, true
		}
		dir := fl["--from-path"]
		var matches []docker.FileInfo
		for _, f := range h.fs.list(dir) {
			if f.Name == db+".dump" || strings.HasSuffix(f.Name, ".backup") {
				matches = append(matches, f)
			}
		}
		switch len(matches) {
		case 0:
			fmt.Fprintln(stderr, "No matching archives found")
			return 1, true
		case 1:
		default:
			fmt.Fprintln(stderr, "Multiple archives match. Remove ambiguity by leaving only one of the above, or use --from-stdin")
			return 1, true
		}
		if fl["--overwrite-destination"] != "true" {
			fmt.Fprintf(stderr, "Database already exists: %s\n", db)
			return 1, true
		}
		data, _ := h.fs.read(path.Join(dir, matches[0].Name))
		head, body, _ := strings.Cut(string(data), "\n")
		switch {
		case head == "fake-neo4j-dump db="+db:
			h.eng.Server.Data[db] = strings.TrimSuffix(body, "\n")
		default:
			if a, ok := decode(matches[0].Name, data); ok && a.full {
				h.eng.Server.Data[db] = a.data
			} else {
				fmt.Fprintln(stderr, "Not a valid Neo4j archive")
				return 1, true
			}
		}
		return 0, true
	case cmd[0] == "mv" && len(cmd) == 4 && cmd[1] == "-f":
		data, err := h.fs.read(cmd[2])
		if err != nil {
			fmt.Fprintf(stderr, "mv: cannot stat '%s': No such file or directory\n", cmd[2])
			return 1, true
		}
		_ = h.fs.remove(cmd[2])
		_ = h.fs.write(cmd[3], data)
		return 0, true
	case cmd[0] == "chown" || cmd[0] == "chmod":
		return 0, true
	case cmd[0] == "stat" && len(cmd) == 4 && cmd[3] == "/data/databases":
		if _, isDir, _ := h.fs.stat("/data"); isDir {
			fmt.Fprintln(stdout, h.eng.Server.DataOwner)
			return 0, true
		}
		return 1, true
	case cmd[0] == "find" && len(cmd) == 6 && cmd[4] == "-printf":
		// The store size: one fake file of 1 MiB per database.
		if db, ok := strings.CutPrefix(cmd[1], "/data/databases/"); ok {
			if _, exists := h.eng.Server.Data[db]; exists {
				fmt.Fprintln(stdout, 1<<20)
			}
		}
		return 0, true
	}
	return 0, false
}

// dumpIn reports a neo4j-admin database check of one database whose
// --from-path folder holds <db>.dump.
func (h *Helper) dumpIn(args []string) bool {
	fl, pos := flags(args)
	if len(pos) != 1 {
		return false
	}
	return fl["--from-path"] != "" && slices.ContainsFunc(h.fs.list(fl["--from-path"]), func(f docker.FileInfo) bool { return f.Name == pos[0]+".dump" })
}

// container is the helper as Docker lists and inspects it, with its labels
// and mounts; the zero Container once it is removed (or lost: removed from
// outside). Called with the engine's lock held.
func (h *Helper) container() docker.Container {
	if h.removed || h.lost {
		return docker.Container{}
	}
	return docker.Container{
		ID: h.id, Name: h.name, Image: h.spec.Image, Running: !h.stopped,
		Labels: h.spec.Labels, Mounts: slices.Clone(h.spec.Mounts), Env: slices.Clone(h.spec.Env),
	}
}
