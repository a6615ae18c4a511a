package drill

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jdump"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/volumearchive"
)

// neo4jUser is the uid:gid of the neo4j user of the official images.
const neo4jUser = "7474:7474"

// stageSub is where the artifacts are put in the drill's loader helper,
// under helper.WorkDir.
const stageSub = "drill"

// graphDatabases lists, per database of the run (system aside: a restore
// never restores it), the chain that ends with the run's file of it. A
// chain that the restore preflight refuses is refused with verify's problem
// of it (backupset.CheckChain), word for word: the file it names and the
// problem are returned as the error's.
func (d *drill) graphDatabases() (map[string]backupset.Chain, error) {
	cat, err := d.folder.Scan()
	if err != nil {
		return nil, err
	}
	all := cat.Chains()
	out := map[string]backupset.Chain{}
	for _, f := range d.files {
		// The chains are grouped by the database the file's name says, as
		// restore and verify group them; a record that says otherwise is
		// the chain's problem.
		db, _, named := backupset.ParseArtifactName(f.Name)
		if f.Component != "" && f.Component != backupset.ComponentGraph || !named || db == "system" {
			continue
		}
		chain, err := backupset.ChooseChain(all[db], f.Time)
		var ce *backupset.ChainError
		if errors.As(err, &ce) {
			return nil, &chainRefusal{ce.Problem}
		}
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", db, err)
		}
		// A drill reads a folder with a manifest (its runs): every file of
		// the chain must be recorded.
		if p := backupset.CheckChain(chain, true); p != nil {
			return nil, &chainRefusal{*p}
		}
		if _, seen := out[db]; !seen || chain.RestorePoint().Time.After(out[db].RestorePoint().Time) {
			out[db] = chain
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("run %s holds no graph database to restore", d.run.ID)
	}
	return out, nil
}

// chainRefusal is a chain the restore preflight refuses, as verify says it.
type chainRefusal struct{ p backupset.Problem }

func (e *chainRefusal) Error() string { return e.p.String() }

// graph restores the run's graph into a throwaway Neo4j from the
// database's image: neo4j-admin load (a dump) or restore (a chain) into a
// scratch /data while no server runs, then the server starts, without
// network, and is asked through a helper sharing its network namespace.
func (d *drill) graph(ctx context.Context, cr *ComponentReport) error {
	started := time.Now()
	defer func() { cr.Duration = time.Since(started) }()
	dbs := d.chains // chosen and checked before anything started (checkGraph)
	image := d.dep.Database.Image
	vol, err := d.volume(ctx, "graph")
	if err != nil {
		return err
	}
	data := docker.Mount{Type: docker.MountVolume, Name: vol, Destination: "/data", RW: true}
	loader, err := d.start(ctx, docker.HelperSpec{Name: docker.HelperName("drill-load"), Image: image, Labels: d.labels("graph-load"), NoNetwork: true, Mounts: []docker.Mount{data}, User: "0"})
	if err != nil {
		return err
	}
	cr.Figures, cr.Expected = map[string]int64{}, map[string]int64{}
	for db, chain := range dbs {
		names := backupset.Names(chain.Files)
		cr.Artifact = strings.Join(names, " + ")
		text := fmt.Sprintf("Restore %s into the drill's Neo4j (%s)", cr.Artifact, image)
		if err := progress.Run(d.pw, progress.Event{ID: "drill-graph " + db, Text: text}, func() error {
			return d.loadGraph(ctx, loader, db, chain)
		}); err != nil {
			return fmt.Errorf("%s does not restore: %w", cr.Artifact, err)
		}
		expectGraph(cr, db, chain)
	}
	d.remove(ctx, loader)

	// The password is random and the server has no network: what docker
	// inspect shows of it opens nothing but this throwaway container.
	password := randomHex(12)
	community := helper.Edition(d.dep.Database) == "community"
	env, err := serverEnv(password, slices.Sorted(maps.Keys(dbs)), community)
	if err != nil {
		return err
	}
	server, err := d.start(ctx, docker.HelperSpec{Name: "infrahubdb-drill-neo4j-" + d.id, Image: image, Labels: d.labels("neo4j"), NoNetwork: true,
		Mounts: []docker.Mount{data}, Env: env, Server: true, Memory: d.opts.Memory})
	if err != nil {
		return err
	}
	bolt, err := d.start(ctx, docker.HelperSpec{Name: docker.HelperName("drill-bolt"), Image: image, Labels: d.labels("bolt"), JoinContainer: server.Name()})
	if err != nil {
		return err
	}
	admin, closeBolt, err := d.login(ctx, bolt, neo4j.Credentials{User: "neo4j", Password: password})
	if err != nil {
		return fmt.Errorf("the drill's Neo4j did not answer: %w", err)
	}
	defer closeBolt()
	for db := range dbs {
		if err := progress.Run(d.pw, progress.Event{ID: "drill-online " + db, Text: "Wait until " + db + " is online in the drill's Neo4j"}, func() error {
			if err := bringOnline(ctx, admin, db, community, d.opts.OnlineWait, d.pw); err != nil {
				return err
			}
			// As restore replays it once the database is online, read in
			// the server's /data. A dump holds no users or roles [S18]:
			// nothing is replayed after a load, as by restore.
			if !backupset.IsDump(dbs[db].RestorePoint().Name) {
				if _, err := neo4jbackup.ReplayMetadata(ctx, server, admin, db, d.pw); err != nil {
					return fmt.Errorf("replay of its restore_metadata.cypher: %w", err)
				}
			}
			n, err := admin.CountNodes(ctx, db)
			if err != nil {
				return err
			}
			byLabel, err := admin.CountByLabel(ctx, db)
			if err != nil {
				return err
			}
			maps.Copy(cr.Figures, neo4j.Figures(db, n, byLabel))
			byType, err := admin.CountRelationshipsByType(ctx, db)
			if err != nil {
				return err
			}
			maps.Copy(cr.Figures, neo4j.RelationshipFigures(db, byType))
			if byLabel["Root"] > 0 {
				id, _, err := admin.RootID(ctx, db)
				if err != nil {
					return err
				}
				if cr.RootIDs == nil {
					cr.RootIDs = map[string]string{}
				}
				cr.RootIDs[db] = id
			}
			if byLabel["Branch"] > 0 {
				branches, err := admin.BranchNames(ctx, db)
				if err != nil {
					return err
				}
				if slices.Contains(branches, "main") {
					cr.Figures[neo4j.MainBranchFigure(db)] = 1
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("database %s does not answer: %w", db, err)
		}
	}
	d.report.PeakMemory = peakMemory(ctx, server)
	cr.ExpectedFrom = "the figures the backup recorded"
	cr.compare()
	return nil
}

// expectGraph takes the figures the backup recorded for db from the
// chain's last file, the run's own: a differential backup's figures are the
// chain's state at its highest transaction, and an older file's describe
// an older state. Where that file has none, the drill says why and
// compares none for db.
func expectGraph(cr *ComponentReport, db string, chain backupset.Chain) {
	if len(chain.Files) == 0 {
		return
	}
	rec := chain.Files[len(chain.Files)-1].Record
	if rec == nil || len(rec.Figures) == 0 {
		why := "the backup recorded none"
		if rec != nil && rec.FiguresNotRecorded != "" {
			why = rec.FiguresNotRecorded
		}
		cr.NotCompared = append(cr.NotCompared, fmt.Sprintf("the figures of database %s are not compared: %s", db, why))
		return
	}
	maps.Copy(cr.Expected, rec.Figures)
	if rec.RootID != "" {
		if cr.ExpectedRootIDs == nil {
			cr.ExpectedRootIDs = map[string]string{}
		}
		cr.ExpectedRootIDs[db] = rec.RootID
	}
}

// serverEnv is the environment of the drill's throwaway Neo4j: its random
// password and, on Community, the restored database as its default one:
// Community serves a single user database, the one
// initial.dbms.default_database names (neo4j unless set), and cannot create
// another (CREATE DATABASE is Enterprise-only).
func serverEnv(password string, dbs []string, community bool) ([]string, error) {
	env := []string{"NEO4J_AUTH=neo4j/" + password}
	if !community {
		return env, nil
	}
	if len(dbs) != 1 {
		return nil, fmt.Errorf("the run holds %d graph databases (%s) and the deployment runs Neo4j Community, which serves one: restore them into Neo4j Enterprise", len(dbs), strings.Join(dbs, ", "))
	}
	return append(env, "NEO4J_initial_dbms_default__database="+dbs[0]), nil
}

// startTries and startPause bound the START attempts of a restored
// database in the drill's Neo4j, as restore's defaults do.
const (
	startTries = 3
	startPause = 2 * time.Second
)

// bringOnline brings a restored database online in the drill's Neo4j and
// waits until it is: on Enterprise as restore does after a restore
// (neo4jbackup.StartDatabase: CREATE DATABASE IF NOT EXISTS, START,
// currentStatus online), since a fresh server knows no database it did not
// create but its default one; on Community the server's default database
// is the restored one (serverEnv) and comes online by itself.
func bringOnline(ctx context.Context, admin Admin, db string, community bool, wait time.Duration, pw progress.Writer) error {
	if community {
		return admin.WaitOnline(ctx, db, wait)
	}
	return neo4jbackup.StartDatabase(ctx, admin, db, neo4jbackup.StartOptions{Tries: startTries, RetryPause: startPause, OnlineWait: wait}, pw)
}

// loadGraph puts the chain of db into the loader and restores it into the
// scratch /data as the neo4j user, with restore's own commands:
// neo4jdump.Load for a dump, neo4jbackup.Restore for a chain of online
// backups (which leaves the chain's restore_metadata.cypher in /data).
func (d *drill) loadGraph(ctx context.Context, loader helper.Helper, db string, chain backupset.Chain) error {
	sub := path.Join(stageSub, db)
	dir := path.Join(helper.WorkDir, sub)
	files := map[string]backupset.FileRecord{}
	for _, f := range chain.Files {
		if f.Record == nil {
			return fmt.Errorf("%s is not recorded in the manifest: its checksum cannot be checked", f.Name)
		}
		files[neo4jdump.StagedName(f.Name, db)] = *f.Record
	}
	if err := d.copyIn(ctx, loader, dir, files); err != nil {
		return err
	}
	run := helper.On(loader, d.pw)
	if err := run.Run(ctx, "chown", "-R", neo4jUser, "/data", dir); err != nil {
		return err
	}
	point := chain.RestorePoint().Name
	if backupset.IsDump(point) {
		return neo4jdump.Load(ctx, run, sub, db, neo4jUser)
	}
	return neo4jbackup.Restore(ctx, run, neo4jbackup.RestoreSpec{Database: db, FromPath: path.Join(dir, point), Owner: neo4jUser}, d.pw)
}

// copyIn streams the folder's files, re-hashed against the manifest on the
// way in, into dir of h (created), under the names given.
func (d *drill) copyIn(ctx context.Context, h helper.Helper, dir string, files map[string]backupset.FileRecord) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		// dir and its parents, made as the tar is extracted at /.
		var parents []string
		for p := strings.TrimPrefix(dir, "/"); p != "." && p != ""; p = path.Dir(p) {
			parents = append([]string{p}, parents...)
		}
		var err error
		for _, p := range parents {
			if err == nil {
				err = tw.WriteHeader(&tar.Header{Name: p + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Now()})
			}
		}
		for name, rec := range files {
			if err != nil {
				break
			}
			err = d.copyFile(tw, path.Join(strings.TrimPrefix(dir, "/"), name), rec)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	err := h.CopyTo(ctx, "/", pr)
	pr.CloseWithError(errors.New("copy ended"))
	return err
}

func (d *drill) copyFile(tw *tar.Writer, name string, rec backupset.FileRecord) error {
	f, err := d.folder.OpenChecked(rec)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: rec.Size, ModTime: time.Now()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// login opens Bolt to the drill's Neo4j through a tunnel in bolt, retrying
// while the server starts.
func (d *drill) login(ctx context.Context, bolt helper.Helper, creds neo4j.Credentials) (Admin, func(), error) {
	var admin Admin
	var tunnel interface{ Close() error }
	err := progress.Run(d.pw, progress.Event{ID: "drill-login", Text: "Start the drill's Neo4j and log in"}, func() error {
		deadline := time.Now().Add(d.opts.OnlineWait)
		for {
			t, err := bolt.Tunnel(context.WithoutCancel(ctx), "127.0.0.1:7687")
			if err == nil {
				admin, err = d.connect(ctx, t.Addr(), creds)
				if err == nil {
					tunnel = t
					return nil
				}
				_ = t.Close()
			}
			if time.Now().After(deadline) || ctx.Err() != nil || errors.Is(err, neo4j.ErrUnauthorized) {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return admin, func() { helper.CloseBolt(ctx, admin, tunnel) }, nil
}

// peakMemory reads the memory high-water mark of a container's cgroup
// (cgroup v2, then v1); 0 when neither can be read.
func peakMemory(ctx context.Context, h helper.Helper) int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.peak", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes"} {
		out, err := execOut(ctx, h, "", "cat", p)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64); err == nil {
			return n
		}
	}
	return 0
}

// taskManager restores the run's pg_dump into a throwaway PostgreSQL from
// task-manager-db's image, and counts the rows of every table.
func (d *drill) taskManager(ctx context.Context, cr *ComponentReport) error {
	started := time.Now()
	defer func() { cr.Duration = time.Since(started) }()
	rec, ok := d.fileOf(backupset.ComponentTaskManager)
	if !ok {
		return errors.New("the run lists a task manager without its file")
	}
	cr.Artifact = rec.Name
	live, _, err := pgdump.Find(d.dep.TaskManagerDB, d.dep.TaskManager)
	if err != nil {
		return err
	}
	vol, err := d.volume(ctx, "task-manager")
	if err != nil {
		return err
	}
	dataDir := "/var/lib/postgresql/data"
	if v, ok := d.dep.TaskManagerDB.EnvValue("PGDATA"); ok {
		dataDir = v
	}
	for _, m := range d.dep.TaskManagerDB.Mounts {
		if strings.HasPrefix(m.Destination, "/var/lib/postgresql") {
			dataDir = m.Destination
		}
	}
	password := randomHex(12)
	server, err := d.start(ctx, docker.HelperSpec{Name: "infrahubdb-drill-postgres-" + d.id, Image: d.dep.TaskManagerDB.Image, Labels: d.labels("postgres"), NoNetwork: true,
		Mounts: []docker.Mount{{Type: docker.MountVolume, Name: vol, Destination: dataDir, RW: true}},
		Env:    []string{"POSTGRES_USER=" + live.User, "POSTGRES_PASSWORD=" + password, "POSTGRES_DB=" + live.Database}, Server: true})
	if err != nil {
		return err
	}
	src := pgSource(docker.Container{ID: server.Name(), Name: server.Name()}, live.User, password, live.Database)
	if err := progress.Run(d.pw, progress.Event{ID: "drill-postgres", Text: "Start the drill's PostgreSQL (" + d.dep.TaskManagerDB.Image + ")"}, func() error {
		return d.waitPostgres(ctx, server, src)
	}); err != nil {
		return fmt.Errorf("the drill's PostgreSQL did not start: %w", err)
	}
	if err := progress.Run(d.pw, progress.Event{ID: "drill-tm", Text: "pg_restore " + rec.Name + " into the drill's PostgreSQL"}, func() error {
		f, err := d.folder.OpenChecked(rec)
		if err != nil {
			return err
		}
		defer f.Close()
		return pgdump.Restore(ctx, d.eng, src, f)
	}); err != nil {
		return fmt.Errorf("%s does not restore: %w", rec.Name, err)
	}
	figures, err := pgdump.CountRows(ctx, d.eng, src)
	if err != nil {
		return fmt.Errorf("the restored task manager does not answer: %w", err)
	}
	cr.Figures = figures
	cr.Expected = rec.Figures
	cr.ExpectedFrom = "the figures the backup recorded"
	if len(rec.Figures) == 0 {
		cr.NotCompared = append(cr.NotCompared, "the backup recorded no row counts of the task manager (they are counted only when its capture is consistent: Neo4j Community, or backup --consistent): its figures are not compared")
	}
	cr.compare()
	return nil
}

// waitPostgres waits until the server accepts TCP connections on its
// loopback: the official image's entrypoint runs a first server for its
// initialisation on the unix socket only, then the real one.
func (d *drill) waitPostgres(ctx context.Context, server helper.Helper, src pgdump.Source) error {
	deadline := time.Now().Add(d.opts.OnlineWait)
	for {
		_, err := execOut(ctx, server, "postgres", "pg_isready", "-q", "-h", "127.0.0.1", "-U", src.User, "-d", src.Database)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// storage extracts the run's archive into a scratch volume and counts its
// files and bytes against the archive's own.
func (d *drill) storage(ctx context.Context, cr *ComponentReport) error {
	started := time.Now()
	defer func() { cr.Duration = time.Since(started) }()
	rec, ok := d.fileOf(backupset.ComponentStorage)
	if !ok {
		return errors.New("the run lists a storage without its file")
	}
	cr.Artifact = rec.Name
	vol, err := d.volume(ctx, "storage")
	if err != nil {
		return err
	}
	h, err := d.start(ctx, docker.HelperSpec{Name: docker.HelperName("drill-storage"), Image: d.dep.Database.Image, Labels: d.labels("storage"), NoNetwork: true,
		Mounts: []docker.Mount{{Type: docker.MountVolume, Name: vol, Destination: volumearchive.MountPoint, RW: true}}, User: "0"})
	if err != nil {
		return err
	}
	// The content check (checkContent) read the archive before any
	// container started: its files and bytes are what must come back.
	stats := d.checked[backupset.ComponentStorage]
	if err := progress.Run(d.pw, progress.Event{ID: "drill-storage", Text: "Extract " + rec.Name + " into a scratch volume"}, func() error {
		// Opened again (a sealed file is a stream, read once): checked
		// again against its record.
		f, err := d.folder.OpenChecked(rec)
		if err != nil {
			return err
		}
		defer f.Close()
		return volumearchive.Restore(ctx, h, f)
	}); err != nil {
		return fmt.Errorf("%s does not restore: %w", rec.Name, err)
	}
	out, err := execOut(ctx, h, "", "find", volumearchive.MountPoint, "-type", "f", "-printf", `%s\n`)
	if err != nil {
		return err
	}
	files, bytes := int64(0), int64(0)
	for _, s := range strings.Fields(out) {
		n, _ := strconv.ParseInt(s, 10, 64)
		files++
		bytes += n
	}
	cr.Figures = map[string]int64{"files": files, "bytes": bytes}
	cr.Expected = map[string]int64{"files": int64(stats.Files), "bytes": stats.Bytes}
	cr.ExpectedFrom = "the archive itself"
	cr.compare()
	return nil
}
