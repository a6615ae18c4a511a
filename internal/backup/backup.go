// Package backup is the backup workflow: in a locked folder, find the
// database, check it can serve an online backup, start a helper and take
// the backup into the folder (internal/neo4jbackup), all or nothing.
package backup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Options of one backup run.
type Options struct {
	Target          deployment.TargetOptions
	HelperImage     string // "" chooses (see helper.ChooseImage)
	RegistryAuth    func(ref string) (string, error)
	Transfer        string
	KeepHelper      bool
	Databases       []string // empty: all ("*")
	Type            string   // TypeAuto, TypeFull, TypeDiff
	IncludeMetadata string   // all, users, roles, none
	Aggregate       bool
	Tool            string // "docker-infrahubdb <version>", for the manifest
	// Context names the Docker context (or host) in messages.
	Context string
	// Offline drives the backup of a Neo4j Community database (offline dump).
	Offline OfflineOptions
	// Verify re-hashes the files just written, checks their chains and
	// runs verify's content checks on them, after the manifest was updated
	// and before Run or RunSet reports success (backup --verify); Check
	// also runs neo4j-admin database check on the graph's new chains or
	// Community dumps in the backup's own helper (--check).
	Verify, Check bool
	// Quiesced says the applications are stopped during the online backup
	// (backup --consistent on Enterprise): nothing of Infrahub writes, so a
	// count whose transaction ids Neo4j does not report is still the
	// backup's (figures.go). Every online backup of a database container
	// counts the graph around neo4j-admin database backup, with the
	// credentials of Offline.Credentials or the deployment, and records the
	// figures that are its artifact's, or why there are none.
	Quiesced bool
}

// Result is what a backup run wrote.
type Result struct {
	Folder       string                 `json:"folder"`
	Database     string                 `json:"database_container,omitempty"`
	Context      string                 `json:"docker_context,omitempty"`
	Transfer     string                 `json:"transfer"`
	Helper       string                 `json:"helper_container,omitempty"` // set when kept
	Databases    []string               `json:"databases"`
	Files        []backupset.FileRecord `json:"files"`
	Removed      []string               `json:"removed,omitempty"` // replaced by aggregation
	Neo4jVersion string                 `json:"neo4j_admin_version,omitempty"`
	Method       string                 `json:"method"`            // "online" or "dump"
	Edition      string                 `json:"edition,omitempty"` // of the database
	Downtime     time.Duration          `json:"downtime_ns,omitempty"`
	// Application containers an offline backup stopped and started again.
	AppsRestarted    []string      `json:"app_containers_restarted,omitempty"`
	AppsNotRestarted []string      `json:"app_containers_not_restarted,omitempty"`
	Started          time.Time     `json:"started"`
	Duration         time.Duration `json:"duration_ns"`
	// Verified is what --verify found in every file of the run; nil
	// without it.
	Verified *Verification `json:"verify,omitempty"`
	// check is what --check found on the graph files, in the run's helper.
	check *graphCheck
}

// Engine is what the backup workflows need from Docker: the helper layer's
// engine, and stopping and starting the deployment's containers for the
// offline dump and --consistent (deployment.Outage).
type Engine interface {
	helper.Engine
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	StartContainer(ctx context.Context, id string) error
}

var _ Engine = (*docker.Engine)(nil)

// Run takes an online backup into folder, whose lock the caller holds. The
// folder gains complete, checksummed files and an updated manifest, or
// nothing at all.
func Run(ctx context.Context, eng Engine, folder *backupset.Folder, opts Options, pw progress.Writer) (*Result, error) {
	res, err := runLocked(ctx, eng, folder, opts, pw)
	if err != nil || !(opts.Verify || opts.Check) {
		return res, err
	}
	v, err := verifyWritten(ctx, folder, res.Files, res.check, pw)
	if err != nil {
		return nil, err
	}
	if !v.OK {
		return nil, &backupset.VerifyError{Problems: v.Problems}
	}
	res.Verified = v
	return res, nil
}

// runLocked is Run with the folder lock held by the caller (RunSet),
// without the verification of what it wrote (the caller's, over the whole
// run) but with --check, which needs the run's helper.
func runLocked(ctx context.Context, eng Engine, folder *backupset.Folder, opts Options, pw progress.Writer) (*Result, error) {
	res := &Result{Folder: folder.Dir, Started: time.Now(), Method: "online", Context: opts.Context}
	// Commit updates the manifest: find an unusable one now, not after a
	// backup whose files it could then not record.
	if _, err := folder.ReadManifest(); err != nil {
		return nil, err
	}
	// With the lock held, *.partial files can only be leftovers of a run
	// that died: they are not backups, remove them.
	if removed, err := folder.RemovePartials(); err != nil {
		return nil, err
	} else if len(removed) > 0 {
		pw.Info(fmt.Sprintf("removed %d partial file(s) left by an interrupted run: %s", len(removed), strings.Join(removed, ", ")))
	}

	target, err := deployment.FindTarget(ctx, eng, opts.Target)
	if err != nil {
		return nil, err
	}
	if target.Container != nil {
		res.Database = target.Container.Name
		if helper.Edition(*target.Container) == "community" && opts.DatabaseURL() == "" {
			var out *Result
			err := deployment.Watching(ctx, eng, *target.Container, func(ctx context.Context) (err error) {
				out, err = runOffline(ctx, eng, folder, target, opts, pw, res)
				return err
			})
			res := out
			if res != nil {
				res.Duration = time.Since(res.Started)
			}
			return res, err
		}
		res.Edition = helper.Edition(*target.Container)
		pw.Info(fmt.Sprintf("database container %s (found by %s) on %s: Neo4j %s, online backup", target.Container.Name, target.Rule, orString(opts.Context, "the Docker host"), orString(res.Edition, "edition unknown")))
		if err := CheckBackupSource(*target.Container); err != nil {
			return nil, err
		}
	}
	// The server's release is asked in its own container while the helper
	// starts.
	var server neo4j.Release
	asked := make(chan struct{})
	if c := target.Container; c != nil {
		go func() {
			defer close(asked)
			server = helper.ServerRelease(ctx, eng, *c)
		}()
		defer func() { <-asked }() // nothing outlives the run
	}
	image := helper.ChooseImage(opts.HelperImage, target)
	if err := helper.EnsureImage(ctx, eng, image, opts.RegistryAuth, pw); err != nil {
		return nil, err
	}

	s, err := helper.OpenSession(ctx, eng, folder, target, helper.SessionOptions{Command: "backup", Image: image, Transfer: opts.Transfer, KeepHelper: opts.KeepHelper}, pw)
	if err != nil {
		return nil, err
	}
	defer s.Close(ctx)
	res.Transfer = s.Mode
	spec := neo4jbackup.Spec{
		Sub: "", Databases: opts.Databases, Type: opts.Type, IncludeMetadata: opts.IncludeMetadata,
		Aggregate: opts.Aggregate, SeedFromFolder: true,
		// --check runs in the helper after Take (--verify re-hashes here).
		ReleaseHelper: !opts.Check,
	}
	if target.Container != nil {
		spec.Preflight = func(ctx context.Context) error {
			<-asked
			_, err := s.CheckHelperRelease(ctx, server)
			return err
		}
	}
	if opts.KeepHelper {
		res.Helper = s.Helper.Name()
	}

	counter := openGraphCounter(ctx, eng, s, target, folder, opts, pw)
	if counter != nil {
		defer counter.close(ctx)
		spec.BeforeBackup, spec.AfterBackup = counter.before, counter.after
	}
	files, err := neo4jbackup.Take(ctx, s, folder, spec)
	if err != nil {
		return nil, err
	}
	if counter != nil {
		counter.record(files.Records)
	}
	if err := neo4jbackup.Commit(folder, files, opts.Tool); err != nil {
		return nil, err
	}
	if opts.Check {
		if res.check, err = checkWritten(ctx, s, folder, files.Databases()); err != nil {
			return nil, err
		}
	}
	res.Files, res.Removed, res.Neo4jVersion = files.Records, files.Replaced, files.Neo4jVersion
	res.Databases = files.Databases()
	res.Duration = time.Since(res.Started)
	return res, nil
}

// DatabaseURL is --database-url: with it, the database is reached over the
// network, online only.
func (o Options) DatabaseURL() string { return o.Target.DatabaseURL }

// CheckBackupSource refuses database containers that cannot serve an online
// backup, before any container is started.
func CheckBackupSource(c docker.Container) error {
	if helper.Edition(c) == "community" {
		return &helper.EnvironmentError{Err: fmt.Errorf("database container %s runs Neo4j Community (image %s): online backup needs Neo4j Enterprise; use a neo4j:<version>-enterprise image with NEO4J_ACCEPT_LICENSE_AGREEMENT=yes", c.Name, c.Image)}
	}
	if v, ok := c.EnvValue("NEO4J_server_backup_enabled"); ok && strings.EqualFold(v, "false") {
		return &helper.EnvironmentError{Err: fmt.Errorf("database container %s has the backup port disabled (NEO4J_server_backup_enabled=false): set it to true and NEO4J_server_backup_listen__address=0.0.0.0:6362, then recreate the container", c.Name)}
	}
	return nil
}
