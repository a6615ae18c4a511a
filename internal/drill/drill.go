// Package drill owns verify --drill: a real restore of a backup run, off to
// the side. It starts throwaway containers on the Docker host from the
// deployment's own images (the database's Neo4j, the task-manager-db
// PostgreSQL), without network, with drill-only labels (never
// infrahub_role=database, never a Compose label), random credentials and
// scratch volumes; restores the run's artifacts into them; starts them,
// waits until they answer, and checks figures against those of the run; and
// removes every container and volume it made, on every path, Ctrl-C
// included. The live deployment is only inspected, never stopped or
// changed.
package drill

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/contentcheck"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Engine is what a drill needs from Docker: helpers and throwaway servers
// (StartHelper with Server), execs, and scratch volumes.
type Engine interface {
	helper.Engine
	deployment.Engine
	CreateVolume(ctx context.Context, name string, labels map[string]string) (string, error)
	RemoveVolume(ctx context.Context, name string) error
	StaleVolumes(ctx context.Context, target string) ([]string, error)
}

// Admin is the Cypher a drill runs on its throwaway Neo4j.
type Admin interface {
	WaitOnline(ctx context.Context, name string, timeout time.Duration) error
	Create(ctx context.Context, name string) error
	Start(ctx context.Context, name string) error
	RunScript(ctx context.Context, statements []string, params map[string]any) (int, error)
	CountNodes(ctx context.Context, db string) (int64, error)
	CountByLabel(ctx context.Context, db string) (map[string]int64, error)
	RootID(ctx context.Context, db string) (id string, found bool, err error)
	BranchNames(ctx context.Context, db string) ([]string, error)
	CountRelationshipsByType(ctx context.Context, db string) (map[string]int64, error)
	Close(ctx context.Context) error
}

// Connect opens an Admin on a Bolt address.
type Connect func(ctx context.Context, address string, creds neo4j.Credentials) (Admin, error)

// DefaultMemory is the throwaway Neo4j's memory limit when none is given:
// enough for Neo4j's default heap and page cache on a small graph.
const DefaultMemory = 2 << 30

// Options of one drill.
type Options struct {
	// Run is the run to drill; "" or "latest": the newest complete run.
	Run    string
	Target deployment.TargetOptions
	// Memory limits the throwaway Neo4j (bytes); 0: DefaultMemory.
	Memory int64
	// OnlineWait bounds each wait for a throwaway server to answer.
	OnlineWait time.Duration
	Tool       string
}

// Label marks every container and volume of a drill (with the run it
// drills), so that a drill left by a crash is recognised as such.
const Label = "org.opsmill.infrahubdb.drill"

// FolderLabel names the backup folder a drill container or volume serves.
const FolderLabel = Label + ".folder"

// Drill is one drill in progress: what it made is removed by cleanup.
type drill struct {
	eng     Engine
	folder  *backupset.Folder
	opts    Options
	pw      progress.Writer
	connect Connect
	id      string // random, names everything the drill makes
	run     backupset.RunRecord
	files   []backupset.FileRecord
	dep     deployment.Deployment
	report  *Report

	helpers []helper.Helper
	volumes []string
	// checked is what the content check read in each component's file.
	checked map[string]contentcheck.Result
	// chains are the graph's chains to restore, per database, checked as
	// the restore preflight checks them (checkGraph).
	chains map[string]backupset.Chain
}

// Run drills a run of folder, whose lock the caller holds. The report is
// returned with a failed verdict as a *FailedError (exit 5); an error
// before any restore began (no run, no deployment, an image missing) is
// returned as it is.
func Run(ctx context.Context, eng Engine, connect Connect, folder *backupset.Folder, opts Options, pw progress.Writer) (*Report, error) {
	if opts.Memory == 0 {
		opts.Memory = DefaultMemory
	}
	if opts.OnlineWait == 0 {
		opts.OnlineWait = 5 * time.Minute
	}
	d := &drill{eng: eng, folder: folder, opts: opts, pw: pw, connect: connect, id: randomHex(4)}
	if err := d.plan(ctx); err != nil {
		return nil, err
	}
	defer d.cleanup(ctx)
	d.report.Started = time.Now().UTC()
	if refused := d.checkContent(); len(refused) > 0 {
		// Restore refuses the run before anything stops: the drill
		// starts nothing, for no component.
		d.report.Components = refused
		d.report.finish()
		if err := d.writeReport(); err != nil {
			return d.report, err
		}
		return d.report, &FailedError{Report: d.report}
	}
	start := time.Now()
	for _, c := range backupset.Components {
		if !slices.Contains(d.run.Components, c) {
			continue
		}
		cr := ComponentReport{Component: c}
		var err error
		switch c {
		case backupset.ComponentGraph:
			err = d.graph(ctx, &cr)
		case backupset.ComponentTaskManager:
			err = d.taskManager(ctx, &cr)
		case backupset.ComponentStorage:
			err = d.storage(ctx, &cr)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			cr.Problem = err.Error()
		}
		cr.OK = cr.Problem == "" && len(cr.Mismatches) == 0
		d.report.Components = append(d.report.Components, cr)
	}
	d.report.RTO = time.Since(start)
	d.report.finish()
	if err := d.writeReport(); err != nil {
		return d.report, err
	}
	if d.report.Verdict != VerdictPass {
		return d.report, &FailedError{Report: d.report}
	}
	return d.report, nil
}

// plan chooses the run and finds the deployment's images. Nothing is made.
func (d *drill) plan(ctx context.Context) error {
	m, err := d.folder.ReadManifest()
	if err != nil {
		return err
	}
	run, err := chooseRun(m, d.opts.Run)
	if err != nil {
		return err
	}
	d.run, d.files = run, m.RunFiles(run.ID)
	target, err := deployment.FindTarget(ctx, d.eng, d.opts.Target)
	if err != nil {
		return err
	}
	if target.Container == nil {
		return &helper.EnvironmentError{Err: errors.New("a drill starts its throwaway Neo4j from the database container's image: name the container with --database-container or --project")}
	}
	d.dep = deployment.Deployment{Database: *target.Container}
	if target.Container.ComposeProject != "" {
		if d.dep, err = deployment.FindDeployment(ctx, d.eng, *target.Container); err != nil {
			return err
		}
	}
	if err := d.removeStale(ctx); err != nil {
		return err
	}
	d.report = &Report{RunID: run.ID, Neo4jImage: target.Container.Image, MemoryLimit: d.opts.Memory, Tool: d.opts.Tool}
	if slices.Contains(run.Components, backupset.ComponentTaskManager) {
		if d.dep.TaskManagerDB == nil {
			return &helper.EnvironmentError{Err: errors.New("run " + run.ID + " has a task-manager backup, and the deployment has no task-manager-db container whose image the drill could use")}
		}
		d.report.PostgresImage = d.dep.TaskManagerDB.Image
	}
	return nil
}

// chooseRun is the run named (an ID), or the newest complete one.
func chooseRun(m *backupset.Manifest, id string) (backupset.RunRecord, error) {
	for i := len(m.Runs) - 1; i >= 0; i-- {
		r := m.Runs[i]
		if id != "" && id != "latest" {
			if r.ID != id {
				continue
			}
			if !r.Complete {
				return r, &helper.EnvironmentError{Err: fmt.Errorf("run %s is incomplete (its backup did not finish): there is nothing whole to drill", id)}
			}
			return r, nil
		}
		if r.Complete {
			return r, nil
		}
	}
	if id != "" && id != "latest" {
		return backupset.RunRecord{}, &helper.EnvironmentError{Err: fmt.Errorf("the folder has no backup run %s: see `docker infrahubdb list`", id)}
	}
	return backupset.RunRecord{}, &helper.EnvironmentError{Err: errors.New("the folder holds no complete backup run to drill (backups taken before runs existed are drilled by restoring them: take a backup with this plugin first)")}
}

// checkContent runs on the run's task-manager and storage files the
// content check that verify and restore's preflight run (contentcheck),
// after their checksum, before any container starts. A refused file is its
// component's failure, with verify's message; restore would refuse the
// whole run before anything stops, so nothing is restored then.
func (d *drill) checkContent() []ComponentReport {
	d.checked = map[string]contentcheck.Result{}
	var refused []ComponentReport
	if r := d.checkGraph(); r != nil {
		refused = append(refused, *r)
	}
	for _, c := range backupset.Components {
		if !slices.Contains(d.run.Components, c) || !contentcheck.Applies(c) {
			continue
		}
		rec, ok := d.fileOf(c)
		if !ok {
			continue // the component's drill says so
		}
		if problem := d.checkFile(rec); problem != "" {
			refused = append(refused, ComponentReport{Component: c, Artifact: rec.Name, Problem: problem})
		}
	}
	return refused
}

// checkGraph chooses the run's graph chains and checks them with the one
// chain check that verify and restore's preflight run (backupset.CheckChain):
// a chain they refuse is the graph's failure, with verify's message, before
// any container starts. nil when the run has no graph or its chains pass.
func (d *drill) checkGraph() *ComponentReport {
	if !slices.Contains(d.run.Components, backupset.ComponentGraph) {
		return nil
	}
	chains, err := d.graphDatabases()
	if err == nil {
		d.chains = chains
		return nil
	}
	r := &ComponentReport{Component: backupset.ComponentGraph, Problem: err.Error()}
	var cr *chainRefusal
	if errors.As(err, &cr) {
		r.Artifact = cr.p.File
	}
	return r
}

// checkFile checks one file as restore's preflight does: its checksum,
// then its content. It returns the problem, "" when there is none.
func (d *drill) checkFile(rec backupset.FileRecord) string {
	var problem string
	_ = progress.Run(d.pw, progress.Event{ID: "drill-check " + rec.Name, Text: "Check the content of " + rec.Name}, func() error {
		// The folder's own reader: a sealed staging folder decrypts it.
		f, err := d.folder.OpenChecked(rec)
		if err != nil {
			problem = err.Error()
			return err
		}
		defer f.Close()
		res, p := contentcheck.CheckOpen(f, rec.Size, rec)
		if p != nil {
			problem = p.String()
			return errors.New(problem)
		}
		if res.Warning != "" {
			d.pw.Info(rec.Name + ": " + res.Warning)
		}
		d.checked[rec.Component] = res
		return nil
	})
	return problem
}

// fileOf is the run's file of component.
func (d *drill) fileOf(component string) (backupset.FileRecord, bool) {
	for _, f := range d.files {
		c := f.Component
		if c == "" {
			c = backupset.ComponentGraph
		}
		if c == component {
			return f, true
		}
	}
	return backupset.FileRecord{}, false
}

// labels are the drill-only labels of everything the drill makes: the
// helper labels (so a crashed drill's containers are found and removed as
// stale helpers are) and Label; never a Compose label, never
// infrahub_role.
func (d *drill) labels(what string) map[string]string {
	l := docker.HelperLabels("drill", lockKey, time.Now())
	l[Label] = d.run.ID
	l[Label+".part"] = d.id + ":" + what
	l[FolderLabel] = d.folder.Dir
	return l
}

// lockKey is the helper target of every drill's containers: the containers
// of a drill whose client died (kill -9, a lost ssh link) are stale helpers
// of it, removed by the next drill.
const lockKey = "drill"

// removeStale removes the containers, then the volumes, of drills whose
// client is gone.
func (d *drill) removeStale(ctx context.Context) error {
	stale, _, err := d.eng.StaleHelpers(ctx, lockKey)
	if err != nil {
		return err
	}
	for _, c := range stale {
		if err := d.eng.RemoveContainer(ctx, c.ID); err != nil {
			return fmt.Errorf("remove container %s left by a drill that did not finish: %w", c.Name, err)
		}
		d.pw.Info(fmt.Sprintf("removed container %s left by a drill that did not finish (owner %s)", c.Name, c.Labels[docker.LabelOwner]))
	}
	vols, err := d.eng.StaleVolumes(ctx, lockKey)
	if err != nil {
		return err
	}
	for _, v := range vols {
		if err := d.eng.RemoveVolume(ctx, v); err != nil {
			return fmt.Errorf("remove volume %s left by a drill that did not finish: %w", v, err)
		}
		d.pw.Info(fmt.Sprintf("removed volume %s left by a drill that did not finish", v))
	}
	return nil
}

// volume makes a scratch volume for what.
func (d *drill) volume(ctx context.Context, what string) (string, error) {
	name, err := d.eng.CreateVolume(ctx, "infrahubdb-drill-"+d.id+"-"+what, d.labels(what))
	if err != nil {
		return "", err
	}
	d.volumes = append(d.volumes, name)
	return name, nil
}

// start starts a helper (or a throwaway server with spec.Server) that the
// cleanup removes.
func (d *drill) start(ctx context.Context, spec docker.HelperSpec) (helper.Helper, error) {
	h, err := d.eng.StartHelper(ctx, spec)
	if err != nil {
		return nil, err
	}
	d.helpers = append(d.helpers, h)
	return h, nil
}

// remove removes one of the drill's containers now.
func (d *drill) remove(ctx context.Context, h helper.Helper) {
	_ = h.Remove(ctx)
	d.helpers = slices.DeleteFunc(d.helpers, func(x helper.Helper) bool { return x == h })
}

// cleanup removes every container, then every volume, the drill made, on
// a fresh context: Ctrl-C too.
func (d *drill) cleanup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	_ = progress.Run(d.pw, progress.Event{ID: "drill-cleanup", Text: "Remove the drill's containers and volumes"}, func() error {
		var errs []error
		for _, h := range slices.Backward(d.helpers) {
			errs = append(errs, h.Remove(ctx))
		}
		d.helpers = nil
		for _, v := range d.volumes {
			errs = append(errs, d.eng.RemoveVolume(ctx, v))
		}
		d.volumes = nil
		return errors.Join(errs...)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// execOut runs cmd in h and returns its stdout, failing on a non-zero exit
// with its stderr.
func execOut(ctx context.Context, h helper.Helper, user string, cmd ...string) (string, error) {
	var out, errOut strings.Builder
	code, err := h.Exec(ctx, docker.ExecSpec{Cmd: cmd, User: user, Stdout: &helper.Limited{W: &out, N: 1 << 20}, Stderr: &helper.Limited{W: &errOut, N: 64 << 10}})
	if err != nil {
		return "", err
	}
	if code != 0 {
		msg := strings.TrimSpace(errOut.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return out.String(), fmt.Errorf("%s exited with code %d: %s", cmd[0], code, msg)
	}
	return out.String(), nil
}

// pgSource is the throwaway PostgreSQL as a pgdump source.
func pgSource(c docker.Container, user, password, db string) pgdump.Source {
	return pgdump.Source{Container: c, User: user, Password: password, Database: db, From: "the drill's throwaway container"}
}
