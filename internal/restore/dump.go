package restore

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jdump"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// isCommunity reports whether the target runs Neo4j Community: there a
// restore is an offline load (STOP/START/CREATE DATABASE are Enterprise-only
// [S9e], and load needs the whole DBMS offline [S19]).
func isCommunity(t helper.Target) bool {
	return t.Container != nil && helper.Edition(*t.Container) == "community"
}

// loadable refuses, before anything stops, what Community cannot load: a
// differential chain (load takes full backups only [S20b]), and an online
// backup from Enterprise 5.22 or later or of unknown version, whose store
// may be in the Enterprise-only block format ("Block format detected ...
// but unavailable in this edition", neo4j/neo4j#13444; block is the
// default for new Enterprise databases since 5.22 [S21]). Full backups load
// into Community from 5.20 [S3][S19].
func loadable(db DatabasePlan, cat *backupset.Catalog) error {
	if backupset.IsDump(db.Artifact) {
		return nil
	}
	if len(db.Files) > 1 {
		return fmt.Errorf("database %s: the newest backup is a chain of %d files (full + differential): Neo4j Community loads only a single full backup; aggregate it first with an Enterprise helper, or restore into Neo4j Enterprise", db.Name, len(db.Files))
	}
	version := recordedVersion(cat, db.Artifact)
	if !aligned(version) {
		v := version
		if v == "" {
			v = "an unknown version"
		}
		return fmt.Errorf("database %s: %s is an online backup from Neo4j Enterprise %s, whose store may be in the block format that Neo4j Community cannot load (the default since 5.22); restore it into Neo4j Enterprise, or migrate it there to the aligned format and take a dump", db.Name, db.Artifact, v)
	}
	return nil
}

// recordedVersion is the Neo4j version the manifest records for the
// artifact name, "" when it records none.
func recordedVersion(cat *backupset.Catalog, name string) string {
	for _, a := range cat.Artifacts {
		if a.Name == name && a.Record != nil {
			return a.Record.Neo4jVersion
		}
	}
	return ""
}

// notNewer refuses, before anything stops, to load an artifact written by a
// newer Neo4j than the server that must open it: load answers "The loaded
// database is of a newer version than the current binaries. Downgrade is
// not supported." (NEO4J.md §5.8, [S3], neo4j/neo4j#13494), and it is not
// documented whether it says so before or after deleting the database
// [S20d]. The same holds for an online backup restored with neo4j-admin
// database restore (§5.8): every file of the chain is checked. An unknown
// version on either side is let through.
func notNewer(db DatabasePlan, cat *backupset.Catalog, server neo4j.Release) error {
	for _, name := range append([]string{db.Artifact}, db.Files...) {
		written := neo4j.ParseRelease(recordedVersion(cat, name))
		if written.Known && server.Known && server.Less(written) {
			return &helper.EnvironmentError{Err: fmt.Errorf("database %s: %s was written by Neo4j %s, newer than the database's Neo4j %s: Neo4j cannot open a newer store (downgrade is not supported); upgrade the database container to %s or later; nothing was changed", db.Name, name, written, server, written)}
		}
	}
	return nil
}

// loadSub is where the archive of db is staged in the helper's work dir:
// a folder of its own, so that load finds exactly one archive for it
// ("Multiple archives match" otherwise [S20b]).
func loadSub(db string) string { return path.Join("load", db) }

// aligned is true for Neo4j 5.20 and 5.21: full backups load into Community
// (5.20+) and new Enterprise stores were not yet block (before 5.22).
func aligned(version string) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && major == 5 && minor >= 20 && minor < 22
}

// runLoad restores a Neo4j Community database offline: check everything,
// stage the archives, stop the applications and the database container,
// dump the current databases as the safety backup (load deletes a database
// before writing it [S20d]), load, start the database and wait until it is
// online, start the applications. A failure after the first load rolls back
// from the safety dumps. Everything stopped is started again on every path.
func runLoad(ctx context.Context, eng Engine, folder *backupset.Folder, target helper.Target, opts Options, pw progress.Writer) (*Result, error) {
	// The helper joins the database's networks, not its namespace: it need
	// not be stopped and started again around the database's start
	// (bringBack).
	target = deployment.OverNetwork(target)
	c := *target.Container
	p := &Plan{Folder: folder.Dir, DatabaseContainer: c.Name, target: target, Method: "load"}
	if err := p.chooseChains(folder, opts); err != nil {
		return nil, err
	}
	p.checkOnUpload = checkOnUpload(folder, opts)
	if err := verifyChains(ctx, folder, p.toVerify(opts), pw); err != nil {
		return nil, err
	}
	cat, err := folder.Scan()
	if err != nil {
		return nil, err
	}
	server := helper.ServerRelease(ctx, eng, c)
	for _, db := range p.Databases {
		if err := loadable(db, cat); err != nil {
			return nil, &helper.EnvironmentError{Err: fmt.Errorf("%w; nothing was changed", err)}
		}
		if err := notNewer(db, cat, server); err != nil {
			return nil, err
		}
	}
	if _, ok := c.MountAt("/data"); !ok {
		return nil, &helper.EnvironmentError{Err: fmt.Errorf("database container %s keeps /data in no volume or bind mount: a restore cannot reach its data; mount a volume at /data", c.Name)}
	}
	if p.credentials, _, err = deployment.FindCredentials(ctx, eng, c, opts.Credentials); err != nil {
		return nil, err
	}
	p.Image = opts.HelperImage
	if p.Image == "" {
		p.Image = c.Image // the database's own image: same version, on the host
	}
	var apps []docker.Container
	if opts.StopApps {
		if apps, err = deployment.RunningApps(ctx, eng, c, withTransient(deployment.WithTaskManager(opts.AppServices))); err != nil {
			return nil, err
		}
		for _, a := range apps {
			p.AppNames = append(p.AppNames, a.Name)
		}
		p.Apps = apps
	}
	if opts.SafetyBackup {
		p.SafetyDir = opts.SafetyDir
		if p.SafetyDir == "" {
			p.SafetyDir = folder.Path(backupset.SafetyDirName(time.Now()))
		}
	}
	r := &runner{eng: eng, folder: folder, opts: opts, pw: pw, plan: p, res: &Result{Plan: p, DryRun: opts.DryRun, Started: time.Now()}}
	// Nothing runs beside the database's stop: the task manager stops with
	// it. The cache and the message queue are set aside: emptied beside the
	// safety dump (loader.run).
	l := &loader{runner: r, outage: deployment.NewOutage(eng, c, apps, opts.StopTimeout, pw).StopWithDatabase().SetAside(CacheService, MessageQueueService)}
	err = deployment.Watching(ctx, eng, c, l.run)
	r.res.Duration = time.Since(r.res.Started)
	r.res.AppsRestarted, r.res.AppsNotRestarted = l.outage.AppsRestarted, l.outage.AppsNotRestarted
	r.res.Downtime = l.outage.Downtime()
	// Offline, every database was down for the whole outage.
	for i := range r.res.Databases {
		r.res.Databases[i].Downtime = r.res.Downtime
	}
	return r.res, err
}

// keepSub is where the guardian copies a safety dump kept in the helper
// before loading it back (neo4jdump.Keep).
const keepSub = "guardian"

// loader is one offline restore.
type loader struct {
	*runner
	outage  *deployment.Outage
	safety  map[string]string // database -> safety dump name in r.safety
	current []string          // databases that exist now (others are new)
	putBack []agent.Command   // the commands that load the safety dumps kept in the helper
	// busy: a neo4j-admin run in the helper may not have ended (a dump or
	// a load did not return, or failed): bringBack stops the helper first.
	busy bool
}

// guardReplacing tells the guardian, if any, how to put the safety dumps
// back should this run die before guardReplaced.
func (l *loader) guardReplacing(ctx context.Context) error {
	if g := l.opts.Guard; g != nil {
		return g.Replacing(ctx, l.session.Helper.Name(), l.putBack)
	}
	return nil
}

func (l *loader) guardReplaced(ctx context.Context) {
	if g := l.opts.Guard; g != nil {
		g.Replaced(ctx)
	}
}

func (l *loader) run(ctx context.Context) (err error) {
	r := l.runner
	s, err := r.openSession(ctx)
	if err != nil {
		return err
	}
	r.session = s
	defer r.closeSession(ctx)
	r.res.Transfer = s.Mode
	if r.opts.KeepHelper {
		r.res.Helper = s.Helper.Name()
	}
	if err := r.connect(ctx); err != nil {
		return err
	}
	for _, db := range r.plan.Databases {
		if _, exists, err := r.admin.Database(ctx, db.Name); err != nil {
			return err
		} else if exists {
			l.current = append(l.current, db.Name)
		} else {
			return &helper.EnvironmentError{Err: fmt.Errorf("database %s does not exist in container %s: Neo4j Community cannot create databases (CREATE DATABASE is Enterprise-only); restore it with --database into the default database", db.Name, r.plan.DatabaseContainer)}
		}
	}
	if r.owner, err = neo4jdump.Owner(ctx, s.Helper); err != nil {
		return err
	}
	for _, db := range r.plan.Databases {
		if err := r.putOnce(db, func() error { return r.stageDumpFile(ctx, db) }); err != nil {
			return err
		}
	}
	if r.opts.DryRun {
		r.handOver()
		return nil
	}
	if r.opts.Confirm != nil {
		ok, err := r.opts.Confirm(r.plan)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotConfirmed
		}
	}
	if r.plan.SafetyDir != "" {
		if err := neo4jdump.Prepare(ctx, s, "safety", r.owner); err != nil {
			return err
		}
	}
	l.closeBolt(ctx) // the server goes away with its container

	defer l.outage.StartApps(ctx)
	started := false
	defer func() {
		if !started { // never leave the database stopped
			if berr := l.bringBack(ctx); berr != nil {
				err = errors.Join(err, berr)
			}
		}
	}()
	if err := l.outage.StopApps(ctx); err != nil {
		return err
	}
	if err := l.outage.StopDatabase(ctx); err != nil {
		return err
	}
	// The cache and the message queue (set aside) stop now that nothing
	// uses them, are emptied side by side and start again, beside the
	// safety dump and the load: off the downtime's critical path.
	image := r.plan.target.Container.Image
	emptied := l.outage.Beside(ctx, func(ctx context.Context, c docker.Container) error {
		return emptyOne(ctx, r.eng, image, c, r.pw)
	})
	l.busy = true
	if r.plan.SafetyDir != "" {
		if err := l.safetyDumps(ctx); err != nil {
			return fmt.Errorf("safety dump failed, nothing was loaded: %w", err)
		}
	}
	if err := emptied(); err != nil {
		return err
	}

	// From here on the old databases are gone as soon as a load starts.
	if err := l.guardReplacing(ctx); err != nil {
		return err
	}
	loadErr := l.loadAll(ctx, false)
	if loadErr == nil {
		l.busy = false
		l.guardReplaced(ctx)
	}
	started = true
	err = l.bringBack(ctx)
	if loadErr == nil && err == nil {
		for _, db := range r.res.Databases {
			if err = r.resetDeploymentID(ctx, db.Name); err != nil {
				break
			}
		}
	}
	if loadErr == nil && err == nil {
		if cerr := ctx.Err(); cerr == nil {
			return nil
		}
	}
	cause := errors.Join(loadErr, err, ctx.Err())
	return l.rollback(ctx, cause)
}

func (l *loader) closeBolt(ctx context.Context) {
	helper.CloseBolt(ctx, l.admin, l.tunnel)
	l.admin, l.tunnel = nil, nil
}

// safetyDumps dumps the current databases into the safety folder and checks
// each arrived whole, before any load deletes them.
func (l *loader) safetyDumps(ctx context.Context) error {
	r := l.runner
	f, err := backupset.Create(r.plan.SafetyDir)
	if err != nil {
		return err
	}
	r.safety = f
	for _, db := range l.current {
		// Hashed while it is written: the move that proves it whole and
		// durable before the load has only its end left to hash.
		r.session.Follow("safety", db+".dump")
	}
	if err := neo4jdump.Dump(ctx, r.session, "safety", l.current, r.owner); err != nil {
		return err
	}
	keep := r.opts.Guard != nil
	for _, db := range l.current {
		if keep {
			l.putBack = append(l.putBack, neo4jdump.Keep("safety", keepSub, db, r.owner)...)
		}
	}
	at := time.Now().UTC()
	var recs []backupset.FileRecord
	l.safety = map[string]string{}
	for _, db := range l.current {
		rec, err := neo4jdump.Fetch(ctx, r.session, f, "safety", db, at, "community", "", keep)
		if err != nil {
			return err
		}
		if rec.Size == 0 {
			return fmt.Errorf("the safety dump of %s is empty", db)
		}
		recs = append(recs, rec)
		l.safety[db] = rec.Name
	}
	return neo4jbackup.Commit(f, neo4jbackup.Fetched{Records: recs}, r.opts.Tool)
}

// loadAll loads every planned database (or, for a rollback, its safety
// dump). A cancelled load would leave half a store: it runs to its end.
func (l *loader) loadAll(ctx context.Context, rollback bool) error {
	r := l.runner
	for _, db := range r.plan.Databases {
		sub := loadSub(db.Name)
		if rollback {
			name, ok := l.safety[db.Name]
			if !ok {
				continue
			}
			sub = path.Join("rollback", db.Name)
			if err := neo4jdump.Stage(context.WithoutCancel(ctx), r.session, r.safety, sub, name, db.Name, r.owner); err != nil {
				return err
			}
		}
		res := DatabaseResult{Name: db.Name, Restored: db.Artifact}
		if name, ok := l.safety[db.Name]; ok {
			res.SafetyBackup = path.Join(r.plan.SafetyDir, name)
		}
		if err := neo4jdump.Load(context.WithoutCancel(ctx), r.session, sub, db.Name, r.owner); err != nil {
			return err
		}
		if !rollback {
			r.res.Databases = append(r.res.Databases, res)
		}
		if ctx.Err() != nil && !rollback {
			return ctx.Err()
		}
	}
	return nil
}

// bringBack starts the database container, logs in and waits until every
// planned database is online, with a fresh context. A helper in the
// database's network namespace is stopped first and started after the
// database, so that it joins its new namespace; one on its networks
// (deployment.OverNetwork) keeps running and learns the database's new IP,
// unless a dump or a load may still run in it (busy), which stopping it
// kills.
func (l *loader) bringBack(ctx context.Context) error {
	r := l.runner
	cctx, cancel := context.WithTimeout(deployment.Detach(ctx), r.opts.OnlineWait+2*time.Minute)
	defer cancel()
	restart := r.plan.target.SharedNetwork || l.busy
	if restart {
		_ = r.session.Helper.Stop(cctx)
	}
	if err := l.outage.StartDatabase(cctx); err != nil {
		return err
	}
	if restart {
		if err := r.session.Helper.Start(cctx); err != nil {
			return &deployment.DatabaseDownError{Container: r.plan.DatabaseContainer, Err: fmt.Errorf("cannot wait for it: the helper container did not start again: %w", err)}
		}
	}
	if r.plan.target.FollowIP {
		c, err := r.eng.Inspect(cctx, r.plan.target.Container.ID)
		if err == nil {
			r.plan.target, err = deployment.Readdress(r.plan.target, c)
		}
		if err != nil {
			return &deployment.DatabaseDownError{Container: r.plan.DatabaseContainer, Err: err}
		}
	}
	deadline := time.Now().Add(r.opts.OnlineWait)
	// One exec that polls the Bolt port from inside the helper: no login
	// (a tunnel exec each) per attempt while Neo4j starts, and the login
	// follows the port's opening within 50 ms. Its failure is left to the
	// logins below, which say why.
	awaitBolt(cctx, r.session.Helper, r.plan.target.BoltAddress, r.opts.OnlineWait, r.pw)
	var err error
	for {
		l.closeBolt(cctx)
		if err = r.connect(cctx); err == nil || time.Now().After(deadline) || errors.Is(err, neo4j.ErrUnauthorized) {
			break
		}
		// Every moment spent here is downtime: ask again soon.
		time.Sleep(200 * time.Millisecond)
	}
	for _, db := range r.plan.Databases {
		if err != nil {
			break
		}
		err = r.admin.WaitOnline(cctx, db.Name, time.Until(deadline))
	}
	if err != nil {
		return &deployment.DatabaseDownError{Container: r.plan.DatabaseContainer, Err: err}
	}
	for i := range r.res.Databases {
		if n, cerr := r.admin.CountNodes(cctx, r.res.Databases[i].Name); cerr == nil {
			r.res.Databases[i].Nodes = n
		}
	}
	return nil
}

// awaitBolt waits until the Bolt port at addr accepts connections, polled
// from inside h (docker.Helper.AwaitReachable), as a step of its own: the
// time Neo4j takes to start, apart from the login's. A failure is left to
// the login that follows, which says why.
func awaitBolt(ctx context.Context, h helper.Helper, addr string, within time.Duration, pw progress.Writer) {
	step := progress.Event{ID: "await-bolt", Text: "Wait until Neo4j accepts connections on " + addr}
	_ = progress.Run(pw, step, func() error {
		_ = h.AwaitReachable(ctx, addr, within)
		return nil
	})
}

// rollback loads the safety dumps after a failed load, and starts the
// database again.
func (l *loader) rollback(ctx context.Context, cause error) error {
	r := l.runner
	db := r.plan.Databases[0].Name
	if len(l.safety) == 0 {
		return &DegradedError{Database: db, Err: cause, State: "loaded partly or not at all, without a safety dump (--no-safety-backup)"}
	}
	r.pw.Info(fmt.Sprintf("the load failed (%v): rolling back to the safety dumps in %s", firstLine(cause.Error()), r.plan.SafetyDir))
	cctx := deployment.Detach(ctx)
	l.closeBolt(cctx)
	err := l.outage.StopDatabase(cctx)
	if err == nil {
		l.busy = true
		if err = l.loadAll(cctx, true); err == nil {
			l.busy = false
			l.guardReplaced(cctx)
		}
	}
	if berr := l.bringBack(cctx); berr != nil {
		err = errors.Join(err, berr)
	}
	if err != nil {
		return &DegradedError{Database: db, Safety: path.Join(r.plan.SafetyDir, l.safety[db]), Err: errors.Join(cause, fmt.Errorf("rollback: %w", err)), State: "see above"}
	}
	for i := range r.res.Databases {
		r.res.Databases[i].RolledBack = true
	}
	return withCancel(ctx, &RolledBackError{Database: db, Safety: path.Join(r.plan.SafetyDir, l.safety[db]), Err: cause})
}
