// Package doctor checks that the environment is ready for a backup and a
// restore, without changing anything: the engine, the deployment and its
// components, the edition and version, the credentials with a real login,
// the helper image, the backup port and the backup folder. Each check says
// what to fix. It stands on internal/helper, as the workflows do.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/volumearchive"
)

// Statuses of a check.
const (
	OK      = "ok"
	Warning = "warning" // works, with a consequence worth knowing
	Failed  = "failed"  // a backup or a restore would fail: Detail says what to fix
	Skipped = "skipped" // could not be checked because an earlier check failed
)

// Check is the outcome of one check.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Report is every check, in order.
type Report struct {
	Context string  `json:"docker_context,omitempty"`
	Checks  []Check `json:"checks"`
	OK      bool    `json:"ok"` // no check failed
	// Edition of the database's Neo4j: "enterprise", "community" or "".
	Edition string `json:"edition,omitempty"`
	// HelperImage is the image a backup's helper would run.
	HelperImage string `json:"helper_image,omitempty"`
}

// Engine is what the checks need from Docker: finding the deployment, and
// starting a helper next to it.
type Engine interface {
	deployment.Engine
	helper.Engine
}

// Bolt is the login the doctor makes and closes again.
type Bolt interface{ Close(context.Context) error }

// Options of a check run.
type Options struct {
	Target      deployment.TargetOptions
	HelperImage string
	Credentials *neo4j.Credentials // given by the operator; nil: found in the deployment
	Folder      string             // the backup folder to check; "" for none
	Connect     func(ctx context.Context, address string, creds neo4j.Credentials) (Bolt, error)
	// BoltAddress, when set, is dialled directly instead of through a
	// tunnel in the helper (restore's --bolt-address).
	BoltAddress string
	Context     string
}

// Run runs every check it can and reports them all; a failed check skips
// those that need its result.
func Run(ctx context.Context, eng Engine, opts Options, pw progress.Writer) *Report {
	r := &Report{Context: opts.Context, OK: true}
	add := func(name, status, detail string) {
		r.Checks = append(r.Checks, Check{name, status, detail})
		if status == Failed {
			r.OK = false
		}
	}
	skipRest := func(names ...string) {
		for _, n := range names {
			add(n, Skipped, "needs the checks above")
		}
	}
	const (
		cDocker     = "Docker engine"
		cDatabase   = "database container"
		cNeo4j      = "Neo4j edition and version"
		cProject    = "Compose project and components"
		cCreds      = "credentials"
		cImage      = "helper image"
		cLogin      = "login (through a helper container)"
		cBackupPort = "backup port"
		cFolder     = "backup folder"
	)
	defer func() {
		if opts.Folder != "" {
			status, detail := checkFolder(opts.Folder)
			add(cFolder, status, detail)
		}
	}()

	if _, err := eng.List(ctx, map[string]string{}, false); err != nil {
		add(cDocker, Failed, err.Error())
		skipRest(cDatabase, cNeo4j, cProject, cCreds, cImage, cLogin, cBackupPort)
		return r
	}
	add(cDocker, OK, "reachable"+inContext(opts.Context))

	target, err := deployment.FindTarget(ctx, eng, opts.Target)
	if err != nil || target.Container == nil {
		if err == nil {
			err = errors.New("no database container (only --database-url)")
		}
		add(cDatabase, Failed, err.Error())
		skipRest(cNeo4j, cProject, cCreds, cImage, cLogin, cBackupPort)
		return r
	}
	db := *target.Container
	add(cDatabase, OK, fmt.Sprintf("%s (found by %s)", db.Name, target.Rule))

	edition := helper.Edition(db)
	r.Edition = edition
	release := helper.ServerRelease(ctx, eng, db)
	community := edition == "community"
	switch {
	case community:
		add(cNeo4j, Warning, fmt.Sprintf("Neo4j Community %s: a backup is an offline dump that stops the database and the application containers; consent on a terminal, --yes in a scheduled job", release))
	case edition == "enterprise":
		add(cNeo4j, OK, fmt.Sprintf("Neo4j Enterprise %s: online backups", release))
	default:
		add(cNeo4j, Warning, fmt.Sprintf("Neo4j %s, edition unknown (no NEO4J_EDITION, no -enterprise or -community in the image name %s)", release, db.Image))
	}

	checkProject(ctx, eng, db, add)

	creds, source, err := deployment.FindCredentials(ctx, eng, db, opts.Credentials)
	if err != nil {
		add(cCreds, Failed, err.Error())
	} else if creds.None {
		add(cCreds, OK, "no authentication ("+source+")")
	} else {
		add(cCreds, OK, fmt.Sprintf("user %q, from %s (the password is never shown)", creds.User, source))
	}

	image := opts.HelperImage
	if image == "" && community {
		image = db.Image // a Community dump or load runs the database's own image
	}
	if image == "" {
		image = helper.ChooseImage("", target)
	}
	r.HelperImage = image
	if _, ok, ierr := eng.ImageEnv(ctx, image); ierr != nil {
		add(cImage, Failed, ierr.Error())
	} else if ok {
		add(cImage, OK, image+" is on the Docker host")
	} else {
		add(cImage, Warning, image+" is not on the Docker host: the first run pulls it (with your Docker config's registry credentials); without registry access, load it there or pass --helper-image")
	}

	if err != nil {
		skipRest(cLogin, cBackupPort)
		return r
	}
	login, port := loginThroughHelper(ctx, eng, target, image, creds, community, opts, pw)
	add(cLogin, login.Status, login.Detail)
	add(cBackupPort, port.Status, port.Detail)
	return r
}

func inContext(name string) string {
	if name == "" {
		return ""
	}
	return " (" + name + ")"
}

// checkProject names the deployment's services and which components a
// backup would take or skip, and why.
func checkProject(ctx context.Context, eng Engine, db docker.Container, add func(string, string, string)) {
	const name = "Compose project and components"
	d, err := deployment.FindDeployment(ctx, eng, db)
	if err != nil {
		add(name, Failed, err.Error())
		return
	}
	if d.Project == "" {
		add(name, Warning, "the database is in no Compose project: only the graph is backed up, and no application container is stopped during a restore")
		return
	}
	parts := []string{"project " + d.Project, "graph"}
	var skipped []string
	if _, skip, perr := pgdump.Find(d.TaskManagerDB, d.TaskManager); perr != nil {
		skipped = append(skipped, "task-manager: "+perr.Error())
	} else if skip != "" {
		skipped = append(skipped, "task-manager: "+skip)
	} else {
		parts = append(parts, "task-manager")
	}
	if _, skip := volumearchive.Find(d.Server, ""); skip != "" {
		skipped = append(skipped, "storage: "+skip)
	} else {
		parts = append(parts, "storage")
	}
	if len(skipped) > 0 {
		add(name, Warning, strings.Join(parts, ", ")+"; skipped: "+strings.Join(skipped, "; "))
		return
	}
	add(name, OK, strings.Join(parts, ", "))
}

// loginThroughHelper starts a helper next to the database, as a restore
// does, logs in to Bolt through it and, on Enterprise, tries the backup
// port; the helper is removed on every path.
func loginThroughHelper(ctx context.Context, eng Engine, target helper.Target, image string, creds neo4j.Credentials, community bool, opts Options, pw progress.Writer) (login, port Check) {
	port = Check{Status: Skipped, Detail: "Neo4j Community has no online backup"}
	dir, err := os.MkdirTemp("", "infrahubdb-doctor-")
	if err != nil {
		return Check{Status: Failed, Detail: err.Error()}, Check{Status: Skipped, Detail: "needs the login"}
	}
	defer os.RemoveAll(dir)
	folder, err := backupset.Create(dir)
	if err != nil {
		return Check{Status: Failed, Detail: err.Error()}, Check{Status: Skipped, Detail: "needs the login"}
	}
	s, err := helper.OpenSession(ctx, eng, folder, target, helper.SessionOptions{Command: "doctor", Image: image, Transfer: helper.TransferStream}, pw)
	if err != nil {
		return Check{Status: Failed, Detail: err.Error()}, Check{Status: Skipped, Detail: "needs a helper container"}
	}
	defer s.Close(ctx)
	addr, t, err := opts.BoltAddress, (*docker.Tunnel)(nil), error(nil)
	if addr == "" {
		if t, err = s.Helper.Tunnel(ctx, target.BoltAddress); err == nil {
			addr = t.Addr()
		}
	}
	if err != nil {
		login = Check{Status: Failed, Detail: err.Error()}
	} else {
		bolt, cerr := opts.Connect(ctx, addr, creds)
		if cerr != nil {
			login = Check{Status: Failed, Detail: fmt.Sprintf("Neo4j at %s: %v", target.BoltAddress, cerr)}
		} else {
			login = Check{Status: OK, Detail: "logged in at " + target.BoltAddress}
		}
		var tunnel io.Closer
		if t != nil {
			tunnel = t
		}
		helper.CloseBolt(ctx, bolt, tunnel)
	}
	if !community {
		if err := s.Helper.CanReach(ctx, target.BackupAddress); err != nil {
			port = Check{Status: Failed, Detail: fmt.Sprintf("%s: %v", target.BackupAddress, err)}
		} else {
			port = Check{Status: OK, Detail: target.BackupAddress + " answers"}
		}
	}
	return login, port
}

// checkFolder tells whether the backup folder can take a backup: it exists
// (or can be created), is writable, and how much space is free.
func checkFolder(dir string) (status, detail string) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return OK, dir + " does not exist yet: backup creates it (mode 0700)"
	}
	folder, err := backupset.Open(dir)
	if err != nil {
		return Failed, err.Error()
	}
	f, err := os.CreateTemp(dir, ".infrahubdb-doctor-*")
	if err != nil {
		return Failed, fmt.Sprintf("%s is not writable: %v", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	if free, ok := folder.FreeBytes(); ok {
		return OK, fmt.Sprintf("%s is writable, %d MiB free", dir, free>>20)
	}
	return OK, dir + " is writable"
}
