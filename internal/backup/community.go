package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jdump"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Bolt is what the offline backup asks Neo4j (internal/neo4j.Admin).
type Bolt interface {
	ServerInfo(ctx context.Context) (version, edition string, err error)
	Databases(ctx context.Context) ([]neo4j.Database, error)
	WaitOnline(ctx context.Context, name string, timeout time.Duration) error
	CountNodes(ctx context.Context, db string) (int64, error)
	CountByLabel(ctx context.Context, db string) (map[string]int64, error)
	RootID(ctx context.Context, db string) (id string, found bool, err error)
	BranchNames(ctx context.Context, db string) ([]string, error)
	CountRelationshipsByType(ctx context.Context, db string) (map[string]int64, error)
	// LastCommittedTxn is SHOW DATABASES' lastCommittedTxn of db; known is
	// false when Neo4j does not report it (see figures.go).
	LastCommittedTxn(ctx context.Context, db string) (tx int64, known bool, err error)
	Close(ctx context.Context) error
}

// Connect opens a Bolt session with the run's credentials.
type Connect func(ctx context.Context, address string, creds neo4j.Credentials) (Bolt, error)

// OfflineOptions drive the backup of a Neo4j Community database: an offline
// dump, which stops the database container.
type OfflineOptions struct {
	Connect     Connect
	Credentials *neo4j.Credentials // nil: deployment.FindCredentials
	BoltAddress string             // tests: connect here instead of tunnelling
	AppServices []string           // Compose services to stop; task-manager is added
	StopTimeout time.Duration      // for the database container's clean shutdown
	OnlineWait  time.Duration
	// Confirm is asked once, after every check passed and before anything
	// stops; false cancels the run with nothing changed. nil confirms.
	Confirm func(p *DumpPlan) (bool, error)
	// WhileStopped, when set, runs once the applications are stopped,
	// alongside the database's shutdown and dump, and ends before the
	// database and the applications start again (a run captures the other
	// components there); its error fails the backup and stops the dump.
	WhileStopped func(ctx context.Context) error
}

// DumpPlan is what an offline backup will do; the consent prompt shows it.
type DumpPlan struct {
	DatabaseContainer string        `json:"database_container"`
	Found             string        `json:"found_by"`
	Edition           string        `json:"edition"`
	Version           string        `json:"neo4j_version"`
	Databases         []string      `json:"databases"`
	StoreSize         int64         `json:"store_size"`
	Estimate          time.Duration `json:"estimated_downtime_ns"`
	Apps              []string      `json:"app_containers_to_stop"`
	StopTimeout       time.Duration `json:"stop_timeout_ns"`
	// Consistent marks the plan of backup --consistent on Neo4j Enterprise:
	// only the application containers stop, the database stays online.
	Consistent bool `json:"consistent,omitempty"`
}

// ErrNotConfirmed is returned when the operator declined, or gave no
// consent without a terminal. Nothing was changed.
var ErrNotConfirmed = exitcode.New(exitcode.Declined, "offline backup not confirmed: nothing was changed")

// estimate is a rough downtime for dumping size bytes: neo4j-admin reads and
// compresses the store at some 50 MiB/s on modest disks, plus a shutdown
// and a start of the server.
func estimate(size int64) time.Duration {
	return 30*time.Second + time.Duration(size/(50<<20))*time.Second
}

// offline is the state of one offline backup.
type offline struct {
	eng     Engine
	opts    Options
	pw      progress.Writer
	target  helper.Target
	session *helper.Session
	creds   neo4j.Credentials
	bolt    Bolt
	tunnel  interface{ Close() error }
	dbs     []string
	image   string
	// spare is a helper started to wait for the database when the run's
	// own was removed from outside.
	spare *helper.Session
	// busy: a neo4j-admin run in the helper may not have ended (the dump
	// did not return, or failed): bringBack stops the helper first.
	busy bool
}

// runOffline backs up a Neo4j Community database with neo4j-admin database
// dump: online backup does not exist there, and dump needs the whole DBMS
// offline [S18][S19]; stopping Neo4j in its container stops the container
// (NEO4J.md §5.7). Steps: preflight, consent, stop apps, stop the database
// container cleanly, dump neo4j and system from a helper on its /data, start
// it again and wait until online, start the apps, then fetch the dumps.
func runOffline(ctx context.Context, eng Engine, folder *backupset.Folder, target helper.Target, opts Options, pw progress.Writer, res *Result) (*Result, error) {
	o := &offline{eng: eng, opts: opts, pw: pw, target: target}
	oo := opts.Offline
	if oo.Connect == nil {
		return nil, &helper.EnvironmentError{Err: errors.New("offline backup is not available here")}
	}
	if oo.StopTimeout == 0 {
		oo.StopTimeout = 120 * time.Second
	}
	if oo.OnlineWait == 0 {
		oo.OnlineWait = 5 * time.Minute
	}
	// The helper joins the database's networks, not its namespace: it
	// need not be stopped and started again around the database's start
	// (bringBack).
	target = deployment.OverNetwork(target)
	o.target = target
	c := *target.Container
	res.Method, res.Edition = "dump", "community"
	var err error
	if o.creds, _, err = deployment.FindCredentials(ctx, eng, c, oo.Credentials); err != nil {
		return nil, err
	}
	apps, err := deployment.RunningApps(ctx, eng, c, deployment.WithTaskManager(oo.AppServices))
	if err != nil {
		return nil, err
	}
	// The database's own image: same version as the store, already on the
	// host; Community has neo4j-admin dump and load [S18][S19].
	image := opts.HelperImage
	if image == "" {
		image = c.Image
	}
	s, err := helper.OpenSession(ctx, eng, folder, target, helper.SessionOptions{Command: "backup", Image: image, Transfer: opts.Transfer, KeepHelper: opts.KeepHelper, MountData: true, ReadableSeeds: true}, pw)
	if err != nil {
		return nil, err
	}
	o.session, o.image = s, image
	defer func() {
		o.closeBolt(ctx)
		s.Close(ctx)
		if o.spare != nil {
			o.spare.Close(ctx)
		}
	}()
	res.Transfer = s.Mode
	if opts.KeepHelper {
		res.Helper = s.Helper.Name()
	}

	plan, owner, err := o.preflight(ctx, folder, c, apps)
	if err != nil {
		return nil, err
	}
	res.Neo4jVersion = plan.Version
	pw.Info(fmt.Sprintf("database container %s (found by %s) on %s: Neo4j %s %s; offline dump of %v", c.Name, target.Rule, orString(opts.Context, "the Docker host"), plan.Edition, plan.Version, plan.Databases))
	if err := askConsent(oo.Confirm, plan); err != nil {
		return nil, err
	}
	if err := neo4jdump.Prepare(ctx, s, "dump", owner); err != nil {
		return nil, err
	}
	outage := deployment.NewOutage(eng, c, apps, oo.StopTimeout, pw)
	if oo.WhileStopped == nil {
		// Nothing is captured beside the dump: the task manager need not be
		// quiet before the database stops.
		outage.StopWithDatabase()
	}
	at := time.Now().UTC()
	var stopped time.Time // the point in time the dumps hold
	broughtBack := false
	bringBack := func() error {
		broughtBack = true
		err := o.bringBack(ctx, outage, oo)
		res.AppsRestarted, res.AppsNotRestarted = outage.AppsRestarted, outage.AppsNotRestarted
		res.Downtime = outage.Downtime()
		return err
	}
	defer func() {
		if !broughtBack {
			_ = bringBack()
		}
	}()
	err = outage.StopApps(ctx)
	var figures map[string]map[string]int64
	var rootIDs map[string]string
	if err == nil {
		// Nothing writes once the applications are stopped: the node
		// counts are those the dumps will hold, for a drill to check.
		figures, rootIDs = o.countNodes(ctx)
	}
	o.closeBolt(ctx) // the server goes away with its container
	if err == nil {
		// The other components are captured while the database shuts down
		// and is dumped: the outage lasts no longer than the longer of the
		// two. A failed capture stops the dump, never the clean shutdown.
		err = alongside(ctx, func(dctx context.Context) error {
			if err := outage.StopDatabase(ctx); err != nil {
				return err
			}
			stopped = time.Now().UTC()
			o.busy = true
			err := neo4jdump.Dump(dctx, s, "dump", o.dbs, owner)
			o.busy = err != nil
			return err
		}, oo.WhileStopped)
	}
	if backErr := bringBack(); backErr != nil {
		return nil, errors.Join(backErr, deployment.NotRestartedError(res.AppsNotRestarted), err)
	}
	if err != nil {
		return nil, withCancel(ctx, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.spare != nil {
		return nil, errors.New("the helper container was removed from outside during the offline backup: its dumps are lost; the database and the applications run again; run the backup again")
	}

	var written []backupset.FileRecord
	for _, db := range o.dbs {
		rec, err := neo4jdump.Fetch(ctx, s, folder, "dump", db, at, plan.Edition, plan.Version, false)
		if err != nil {
			removeRecords(folder, written)
			return nil, err
		}
		rec.Captured = stopped
		rec.Figures, rec.RootID = figures[db], rootIDs[db]
		written = append(written, rec)
	}
	if err := neo4jbackup.Commit(folder, neo4jbackup.Fetched{Records: written}, opts.Tool); err != nil {
		removeRecords(folder, written)
		return nil, err
	}
	res.Files, res.Databases = written, o.dbs
	if opts.Check {
		// The database and the applications run again: neo4j-admin
		// database check reads the copies of the dumps in the helper.
		if res.check, err = checkWritten(ctx, s, folder, o.dbs); err != nil {
			return nil, err
		}
	}
	if err := deployment.NotRestartedError(res.AppsNotRestarted); err != nil {
		return res, err
	}
	return res, nil
}

// preflight proves everything before anything stops: a Bolt login, the
// server's edition and version, the databases (all online), the store's
// owner and size, and room for the dumps in the folder.
func (o *offline) preflight(ctx context.Context, folder *backupset.Folder, c docker.Container, apps []docker.Container) (*DumpPlan, string, error) {
	if err := o.connect(ctx, 0); err != nil {
		return nil, "", err
	}
	version, edition, err := o.bolt.ServerInfo(ctx)
	if err != nil {
		return nil, "", err
	}
	all, err := o.bolt.Databases(ctx)
	if err != nil {
		return nil, "", err
	}
	for _, d := range all {
		if len(o.opts.Databases) > 0 && !slices.Contains(o.opts.Databases, d.Name) {
			continue
		}
		if d.Type == "composite" {
			continue
		}
		if d.CurrentStatus != "online" {
			return nil, "", &helper.EnvironmentError{Err: fmt.Errorf("database %s is %s, not online: a dump of it now may not start again cleanly; start it first", d.Name, d.CurrentStatus)}
		}
		o.dbs = append(o.dbs, d.Name)
	}
	for _, want := range o.opts.Databases {
		if !slices.Contains(o.dbs, want) {
			return nil, "", &helper.EnvironmentError{Err: fmt.Errorf("database %q does not exist in container %s (it has: %v)", want, c.Name, names(all))}
		}
	}
	owner, err := neo4jdump.Owner(ctx, o.session.Helper)
	if err != nil {
		return nil, "", err
	}
	size, err := neo4jdump.StoreSize(ctx, o.session.Helper, o.dbs)
	if err != nil {
		return nil, "", err
	}
	// A dump is compressed [S20c], so the store size is an upper bound.
	if free, ok := folder.FreeBytes(); ok && free < size {
		return nil, "", &helper.EnvironmentError{Err: fmt.Errorf("%s has %d MiB free, the store of %v is %d MiB: free space or choose another folder; nothing was stopped", folder.Dir, free>>20, o.dbs, size>>20)}
	}
	plan := &DumpPlan{
		DatabaseContainer: c.Name, Found: o.target.Rule, Edition: edition, Version: version, Databases: o.dbs,
		StoreSize: size, Estimate: estimate(size), StopTimeout: o.opts.Offline.StopTimeout,
	}
	if plan.StopTimeout == 0 {
		plan.StopTimeout = 120 * time.Second
	}
	for _, a := range apps {
		plan.Apps = append(plan.Apps, a.Name)
	}
	return plan, owner, nil
}

// loginRetry is how often connect tries again while the server starts.
const loginRetry = 200 * time.Millisecond

// connect opens the tunnel and logs in, retrying for wait (a server that is
// starting refuses connections for a while).
func (o *offline) connect(ctx context.Context, wait time.Duration) error {
	o.closeBolt(ctx)
	return progress.RunStep(o.pw, progress.Event{ID: "login", Text: "Log in to Neo4j as " + o.creds.User}, func(s *progress.Step) error {
		addr := o.opts.Offline.BoltAddress
		if addr == "" {
			t, err := o.session.Helper.Tunnel(context.WithoutCancel(ctx), o.target.BoltAddress)
			if err != nil {
				return err
			}
			o.tunnel, addr = t, t.Addr()
		}
		deadline := time.Now().Add(wait)
		for {
			b, err := o.opts.Offline.Connect(ctx, addr, o.creds)
			if err == nil {
				o.bolt = b
				s.End(progress.Done, o.target.BoltAddress)
				return nil
			}
			if errors.Is(err, neo4j.ErrUnauthorized) || time.Now().After(deadline) || ctx.Err() != nil {
				return err
			}
			// Every moment spent here is downtime: ask again soon.
			select {
			case <-ctx.Done():
			case <-time.After(loginRetry):
			}
		}
	})
}

func (o *offline) closeBolt(ctx context.Context) {
	helper.CloseBolt(ctx, o.bolt, o.tunnel)
	o.bolt, o.tunnel = nil, nil
}

// bringBack starts the database container, waits until Neo4j is online, and
// starts the applications, on every path and with a fresh context. A helper
// in the database's network namespace is stopped first and started after
// the database, so that it joins its new namespace; one on its networks
// (deployment.OverNetwork) keeps running and learns the database's new IP,
// unless a dump may still run in it (Ctrl-C, a failure: busy), which
// stopping it kills, since it would hold the store lock.
func (o *offline) bringBack(ctx context.Context, outage *deployment.Outage, oo OfflineOptions) error {
	cctx, cancel := context.WithTimeout(deployment.Detach(ctx), oo.OnlineWait+2*time.Minute)
	defer cancel()
	defer outage.StartApps(cctx)
	restart := o.target.SharedNetwork || o.busy
	if restart {
		_ = o.session.Helper.Stop(cctx)
	}
	if err := outage.StartDatabase(cctx); err != nil {
		return err
	}
	if restart {
		if err := o.startHelper(cctx); err != nil {
			return err
		}
	}
	if err := o.readdress(cctx); err != nil {
		return err
	}
	wctx, wcancel := context.WithTimeout(cctx, oo.OnlineWait)
	defer wcancel()
	// One exec that polls the Bolt port from inside the helper: no login
	// (a tunnel exec each) per attempt while Neo4j starts, and the login
	// follows the port's opening within 50 ms. Its failure is left to the
	// login, which says why.
	step := progress.Event{ID: "await-bolt", Text: "Wait until Neo4j accepts connections on " + o.target.BoltAddress}
	_ = progress.Run(o.pw, step, func() error {
		err := o.session.Helper.AwaitReachable(wctx, o.target.BoltAddress, oo.OnlineWait)
		if err != nil && !restart && !errors.As(err, new(*docker.UnreachableError)) && wctx.Err() == nil {
			// The exec itself failed: the helper kept running may be
			// gone; a new one waits.
			if err := o.startHelper(cctx); err == nil {
				_ = o.session.Helper.AwaitReachable(wctx, o.target.BoltAddress, oo.OnlineWait)
			}
		}
		return nil
	})
	err := o.connect(wctx, oo.OnlineWait)
	for _, db := range o.dbs {
		if err != nil {
			break
		}
		err = o.bolt.WaitOnline(wctx, db, oo.OnlineWait)
	}
	o.closeBolt(cctx)
	if err != nil {
		return &deployment.DatabaseDownError{Container: o.target.Container.Name, Err: err}
	}
	return nil
}

// startHelper starts the stopped helper again, or, when it was removed from
// outside, another one to wait for the database.
func (o *offline) startHelper(ctx context.Context) error {
	err := o.session.Helper.Start(ctx)
	if err == nil {
		return nil
	}
	o.pw.Info(fmt.Sprintf("the helper container %s is gone (%v): starting a new one to wait for the database", o.session.Helper.Name(), err))
	if rerr := helper.RemoveLost(ctx, o.eng, o.session.Helper.ID()); rerr != nil {
		return &deployment.DatabaseDownError{Container: o.target.Container.Name, Err: fmt.Errorf("cannot wait for it: %w", rerr)}
	}
	spare, serr := helper.OpenSession(ctx, o.eng, nil, o.target, helper.SessionOptions{Command: "backup", Image: o.image, Transfer: helper.TransferStream}, o.pw)
	if serr != nil {
		return &deployment.DatabaseDownError{Container: o.target.Container.Name, Err: fmt.Errorf("cannot wait for it: no helper container: %w", serr)}
	}
	o.spare, o.session = spare, spare
	return nil
}

// readdress points the target at the database container's IP once it runs
// again, when the helper reaches it over the network (deployment.Readdress).
func (o *offline) readdress(ctx context.Context) error {
	if !o.target.FollowIP {
		return nil
	}
	c, err := o.eng.Inspect(ctx, o.target.Container.ID)
	if err == nil {
		o.target, err = deployment.Readdress(o.target, c)
	}
	if err != nil {
		return &deployment.DatabaseDownError{Container: o.target.Container.Name, Err: err}
	}
	return nil
}

// alongside runs main and, when set, also at the same time, each with a
// context that the other's failure cancels, and returns the first failure
// (not the cancellation it caused). When ctx itself is cancelled it returns
// what both returned.
func alongside(ctx context.Context, main, also func(context.Context) error) error {
	if also == nil {
		return main(ctx)
	}
	gctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	alsoErr := make(chan error, 1)
	go func() {
		err := also(gctx)
		if err != nil {
			cancel(err)
		}
		alsoErr <- err
	}()
	err := main(gctx)
	if err != nil {
		cancel(err)
	}
	err2 := <-alsoErr
	if ctx.Err() != nil {
		return errors.Join(err, err2)
	}
	return context.Cause(gctx)
}

func removeRecords(folder *backupset.Folder, recs []backupset.FileRecord) {
	for _, r := range recs {
		_ = os.Remove(folder.Path(r.Name))
	}
}

func names(dbs []neo4j.Database) []string {
	var out []string
	for _, d := range dbs {
		out = append(out, d.Name)
	}
	return out
}

// withCancel keeps an interruption visible to the exit code mapping.
func withCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// countNodes counts the databases to dump (countGraph).
func (o *offline) countNodes(ctx context.Context) (map[string]map[string]int64, map[string]string) {
	if o.bolt == nil {
		return nil, nil
	}
	return countGraph(ctx, o.bolt, o.dbs, o.pw)
}

// countGraph counts the nodes of each database but system, in all and per
// label (neo4j.Figures), and its relationships per type, and reads its Root
// node's id (countDatabase); a count that fails is left out (said on the
// progress output): the backup does not depend on it. The offline dump
// counts only while nothing writes (the applications stopped, the database
// about to stop), so the figures are those of the dump.
func countGraph(ctx context.Context, b Bolt, dbs []string, pw progress.Writer) (map[string]map[string]int64, map[string]string) {
	figures, rootIDs := map[string]map[string]int64{}, map[string]string{}
	for _, db := range dbs {
		if db == "system" {
			continue
		}
		f, rootID, err := countDatabase(ctx, b, db)
		if err != nil {
			pw.Info(fmt.Sprintf("the node counts of %s could not be recorded (a drill will not compare them): %v", db, err))
			continue
		}
		figures[db] = f
		if rootID != "" {
			rootIDs[db] = rootID
		}
	}
	return figures, rootIDs
}
