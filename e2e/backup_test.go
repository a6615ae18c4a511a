package e2e

// docker infrahubdb backup, end to end: the real plugin through the real
// docker CLI against a database container running the Neo4j stand-in.

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// backupResult is the part of `backup --format json` the tests read.
type backupResult struct {
	Transfer  string   `json:"transfer"`
	Databases []string `json:"databases"`
	Files     []struct {
		Name, Database, Type, SHA256 string
		Size                         int64
	} `json:"files"`
	Removed []string `json:"removed"`
	Helper  string   `json:"helper_container"`
}

// runBackup backs up db into dir and returns the parsed JSON result.
func runBackup(t *testing.T, p *kit.Plugin, db *kit.Database, dir string, extra ...string) backupResult {
	t.Helper()
	args := append([]string{"infrahubdb", "backup", dir, "--database-container", db.Name, "--format", "json", "--progress", "plain"}, extra...)
	res := p.Docker(args...)
	res.Assert(t, icmd.Success)
	var out backupResult
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &out), res.Stdout())
	return out
}

func readManifest(t *testing.T, dir string) backupset.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, backupset.ManifestName))
	assert.NilError(t, err)
	var m backupset.Manifest
	assert.NilError(t, json.Unmarshal(b, &m))
	return m
}

// assertClean checks what every run must leave behind: no helper container,
// no *.partial file, no staging dir, and the database online.
func assertClean(t *testing.T, db *kit.Database, dir string) {
	t.Helper()
	assert.Check(t, is.Len(db.Helpers(t), 0), "helper containers left behind")
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	for _, e := range entries {
		assert.Check(t, !strings.HasSuffix(e.Name(), ".partial"), "partial file left: %s", e.Name())
		assert.Check(t, !strings.HasPrefix(e.Name(), ".infrahubdb-work-"), "staging dir left: %s", e.Name())
	}
	assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))
}

func TestBackupFullThenDifferentialThenAggregated(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 10)

	first := runBackup(t, p, db, dir, "--no-aggregate")
	assert.Check(t, is.DeepEqual(first.Databases, []string{"neo4j", "system"}))
	for _, f := range first.Files {
		assert.Check(t, is.Equal(f.Type, "full"), f.Name)
	}
	neo4jFull := kit.BackupFiles(t, dir, "neo4j")
	assert.Assert(t, is.Len(neo4jFull, 1))

	// More writes, same folder: neo4j-admin takes a differential backup.
	db.Seed(t, "neo4j", 5)
	time.Sleep(1100 * time.Millisecond) // artifact names have one-second resolution
	second := runBackup(t, p, db, dir, "--no-aggregate", "--database", "neo4j")
	assert.Assert(t, is.Len(second.Files, 1))
	assert.Check(t, is.Equal(second.Files[0].Type, "diff"))
	chain := kit.BackupFiles(t, dir, "neo4j")
	assert.Check(t, is.Len(chain, 2), "--no-aggregate keeps the chain")

	// A third with aggregation folds the chain into one file per database.
	db.Seed(t, "neo4j", 5)
	time.Sleep(1100 * time.Millisecond)
	third := runBackup(t, p, db, dir, "--database", "neo4j")
	files := kit.BackupFiles(t, dir, "neo4j")
	assert.Assert(t, is.Len(files, 1), "aggregated: %v", files)
	assert.Check(t, is.Equal(third.Files[0].Type, "full"))
	assert.Check(t, is.DeepEqual(third.Removed, chain))

	// The manifest lists exactly the files in the folder, with their hashes.
	m := readManifest(t, dir)
	var listed []string
	for _, f := range m.Files {
		listed = append(listed, f.Name)
		assert.Check(t, len(f.SHA256) == 64)
	}
	want := append(kit.BackupFiles(t, dir, "neo4j"), kit.BackupFiles(t, dir, "system")...)
	assert.Check(t, is.DeepEqual(sortedCopy(listed), sortedCopy(want)))
	assertClean(t, db, dir)
}

func TestBackupFilesArePrivateAndOwnedByTheCaller(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := filepath.Join(t.TempDir(), "new", "backups") // created by the plugin
	runBackup(t, p, db, dir)

	assert.Check(t, is.Equal(kit.Mode(t, dir), os.FileMode(0o700)))
	for _, name := range kit.Files(t, dir) {
		path := filepath.Join(dir, name)
		assert.Check(t, is.Equal(kit.Mode(t, path), os.FileMode(0o600)), name)
		fi, err := os.Stat(path)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(int(fi.Sys().(*syscall.Stat_t).Uid), os.Getuid()), name)
	}
}

func TestBackupStreamModeLeavesTheSameFolder(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 3)
	bind, stream := kit.Folder(t), kit.Folder(t)

	b := runBackup(t, p, db, bind, "--transfer", "bind")
	s := runBackup(t, p, db, stream, "--transfer", "stream")
	assert.Check(t, is.Equal(b.Transfer, "bind"))
	assert.Check(t, is.Equal(s.Transfer, "stream"))
	assert.Check(t, is.Equal(len(kit.Files(t, bind)), len(kit.Files(t, stream))))
	for _, f := range s.Files {
		assert.Check(t, is.Equal(kit.Mode(t, filepath.Join(stream, f.Name)), os.FileMode(0o600)))
	}

	// A differential backup in stream mode uploads the chain first.
	db.Seed(t, "neo4j", 3)
	time.Sleep(1100 * time.Millisecond)
	diff := runBackup(t, p, db, stream, "--transfer", "stream", "--no-aggregate", "--database", "neo4j")
	assert.Check(t, is.Equal(diff.Files[0].Type, "diff"))
	assertClean(t, db, stream)
}

// When the Docker daemon cannot see the folder (a remote daemon, or here a
// private tmpfs in the plugin's own mount namespace), auto mode streams.
func TestBackupStreamsWhenTheDaemonCannotSeeTheFolder(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare (util-linux) is needed for this test: %v", err)
	}
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	script := `mount -t tmpfs tmpfs "$1" && docker infrahubdb backup "$1" --database-container "$2" --format json --progress plain && ls -1 "$1"`
	cmd := p.Cmd()
	cmd.Command = []string{"unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, db.Name}
	res := icmd.RunCmd(cmd)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stderr(), "cannot see"))
	assert.Check(t, is.Contains(res.Stdout(), `"transfer": "stream"`))
	assert.Check(t, is.Contains(res.Stdout(), backupset.ManifestName))
	// The daemon's side of the path got nothing (no staging dir created there).
	assert.Check(t, is.Len(kit.Files(t, dir), 0))
	assertClean(t, db, dir)
}

// The README's one command names the folder relative to the working
// directory (./backups): the daemon sees it, so it gets bind transfers like
// an absolute path would (the daemon takes only absolute mount sources).
func TestBackupIntoARelativeFolderUsesBind(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	cmd := p.Cmd("infrahubdb", "backup", "./backups", "--database-container", db.Name, "--database", "neo4j", "--format", "json", "--progress", "plain")
	cmd.Dir = dir
	res := icmd.RunCmd(cmd)
	res.Assert(t, icmd.Success)
	assert.Check(t, !strings.Contains(res.Stderr(), "cannot see"), res.Stderr())
	assert.Check(t, is.Contains(res.Stdout(), `"transfer": "bind"`))
	assert.Check(t, is.Contains(res.Stdout(), `"folder": "`+filepath.Join(dir, "backups")+`"`))
	assert.Check(t, is.Len(kit.BackupFiles(t, filepath.Join(dir, "backups"), "neo4j"), 1))
	assertClean(t, db, filepath.Join(dir, "backups"))
}

func TestBackupWithDatabaseURLAndNoLabelledContainer(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{NoLabel: true})
	dir := kit.Folder(t)
	// No container to learn the image from: the pinned default image cannot
	// be pulled here (no registry), which must be a clear error.
	res := p.Docker("infrahubdb", "backup", dir, "--database-url", db.IP(t), "--host-network")
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "could not be pulled"})
	assert.Check(t, is.Contains(res.Stderr(), "--helper-image"))

	// No container to join either: the helper uses the host network and
	// reaches the database by IP.
	res = p.Docker("infrahubdb", "backup", dir, "--database-url", db.IP(t), "--host-network", "--helper-image", db.Image, "--progress", "quiet")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Len(kit.BackupFiles(t, dir, "neo4j"), 1))
}

func TestBackupPicksTheSingleLabelledContainer(t *testing.T) {
	// Not parallel: every other test's database is labelled too.
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	res := p.Docker("infrahubdb", "backup", dir, "--progress", "quiet")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Len(kit.BackupFiles(t, dir, "neo4j"), 1))
	assertClean(t, db, dir)
}

func TestBackupRefusesSeveralLabelledContainers(t *testing.T) {
	// Not parallel: it needs to know which databases are labelled.
	p := kit.InstallPlugin(t)
	a := kit.StartDatabase(t, kit.Options{})
	b := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	res := p.Docker("infrahubdb", "backup", dir)
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "--database-container"})
	assert.Check(t, is.Contains(res.Stderr(), a.Name))
	assert.Check(t, is.Contains(res.Stderr(), b.Name))
	assert.Check(t, is.Len(kit.Files(t, dir), 0))
}

func TestBackupNeedsNoListenAddressButExplainsIt(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{BackupListen: kit.Unset})
	dir := kit.Folder(t)
	// The helper shares the database's network namespace: 127.0.0.1:6362 answers.
	ok := kit.Folder(t)
	p.Docker("infrahubdb", "backup", ok, "--database-container", db.Name).Assert(t, icmd.Success)
	// Over the network (--database-url), the loopback listen address is the cause.
	res := p.Docker("infrahubdb", "backup", dir, "--database-container", db.Name, "--database-url", db.IP(t))
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "NEO4J_server_backup_listen__address=0.0.0.0:6362"})
	assert.Check(t, is.Contains(res.Stderr(), "127.0.0.1"))
	assert.Check(t, is.Len(kit.Files(t, dir), 0))
	assertClean(t, db, dir)
}

// Community has no online backup: the backup is an offline dump, which
// stops the database, so without a terminal it needs --yes (exit 2, nothing
// changed).
func TestBackupCommunityNeedsConsent(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it needs a community image")
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{Community: true})
	dir := kit.Folder(t)
	started := kit.MustDocker(t, "inspect", "-f", "{{.State.StartedAt}}", db.Name)
	res := p.Docker("infrahubdb", "backup", dir, "--database-container", db.Name)
	res.Assert(t, icmd.Expected{ExitCode: 2, Err: "--yes"})
	assert.Check(t, is.Contains(res.Stderr(), "Community"))
	assert.Check(t, is.Contains(res.Stderr(), "nothing was changed"))
	assert.Check(t, is.Len(db.Helpers(t), 0))
	assert.Check(t, is.Equal(kit.MustDocker(t, "inspect", "-f", "{{.State.StartedAt}}", db.Name), started), "the database was not stopped")
	assert.Check(t, is.DeepEqual(kit.Files(t, dir), []string{}))
}

func TestBackupLockConflicts(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})

	t.Run("folder lock held by a live process", func(t *testing.T) {
		dir := kit.Folder(t)
		host, _ := os.Hostname()
		lock := `{"host":"` + host + `","pid":` + itoa(os.Getpid()) + `,"command":"backup","started":"2026-01-01T00:00:00Z"}`
		assert.NilError(t, os.WriteFile(filepath.Join(dir, backupset.LockName), []byte(lock), 0o600))
		res := p.Docker("infrahubdb", "backup", dir, "--database-container", db.Name)
		res.Assert(t, icmd.Expected{ExitCode: 4, Err: "locked"})
		assert.Check(t, is.Len(db.Helpers(t), 0))
	})

	t.Run("stale folder lock is taken over", func(t *testing.T) {
		dir := kit.Folder(t)
		host, _ := os.Hostname()
		lock := `{"host":"` + host + `","pid":999999,"command":"backup","started":"2026-01-01T00:00:00Z"}`
		assert.NilError(t, os.WriteFile(filepath.Join(dir, backupset.LockName), []byte(lock), 0o600))
		res := p.Docker("infrahubdb", "backup", dir, "--database-container", db.Name, "--progress", "plain")
		res.Assert(t, icmd.Expected{ExitCode: 0, Err: "stale lock"})
		_, err := os.Stat(filepath.Join(dir, backupset.LockName))
		assert.Check(t, os.IsNotExist(err), "lock file left behind")
	})

	t.Run("another helper serves the database", func(t *testing.T) {
		dir := kit.Folder(t)
		other := kit.MustDocker(t, "run", "-d", "--rm", "--label", "org.opsmill.infrahubdb.helper=backup",
			"--label", "org.opsmill.infrahubdb.target="+db.ID, "--label", "org.opsmill.infrahubdb.owner=elsewhere:1",
			"--label", kit.RunLabel+"="+kit.RunID, "--entrypoint", "sleep", db.Image, "infinity")
		t.Cleanup(func() { kit.Docker("rm", "-f", "-v", other) })
		res := p.Docker("infrahubdb", "backup", dir, "--database-container", db.Name)
		res.Assert(t, icmd.Expected{ExitCode: 4, Err: "another docker infrahubdb run"})
		assert.Check(t, is.Len(kit.BackupFiles(t, dir, "neo4j"), 0))
	})
}

func TestBackupInterruptedCleansUp(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it slows the backup down with a fault knob")
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.SetFaults(t, `{"delay":{"backup":"20s"}}`)

	run := p.Start(t, p.Cmd("infrahubdb", "backup", dir, "--database-container", db.Name, "--progress", "plain"))
	run.WaitForOutput(t, "neo4j-admin database backup", time.Minute)
	time.Sleep(500 * time.Millisecond)
	run.Interrupt(t)
	res := run.Wait()
	assert.Check(t, is.Equal(res.ExitCode, 130), res.Combined())
	assert.Check(t, is.Len(kit.BackupFiles(t, dir, "neo4j"), 0))
	_, err := os.Stat(filepath.Join(dir, backupset.LockName))
	assert.Check(t, os.IsNotExist(err), "lock file left behind")
	db.SetFaults(t, `{}`)
	assertClean(t, db, dir)
}

func TestBackupProgressAndFormatModes(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})

	res := p.Docker("infrahubdb", "backup", kit.Folder(t), "--database-container", db.Name, "--progress", "plain")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stderr(), "#1 "))
	assert.Check(t, is.Contains(res.Stderr(), "done"))
	assert.Check(t, is.Contains(res.Stdout(), "Backed up neo4j, system"))

	res = p.Docker("infrahubdb", "backup", kit.Folder(t), "--database-container", db.Name, "--progress", "json")
	res.Assert(t, icmd.Success)
	sc := bufio.NewScanner(strings.NewReader(res.Stderr()))
	lines := 0
	for sc.Scan() {
		var ev map[string]any
		assert.Check(t, json.Unmarshal(sc.Bytes(), &ev), "not JSON: %s", sc.Text())
		lines++
	}
	assert.Check(t, lines > 3)

	res = p.Docker("infrahubdb", "backup", kit.Folder(t), "--database-container", db.Name, "--quiet", "--format", "json")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(res.Stderr(), ""))
	var out backupResult
	assert.Check(t, json.Unmarshal([]byte(res.Stdout()), &out))

	res = p.Docker("infrahubdb", "backup", kit.Folder(t), "--database-container", db.Name, "--progress", "sideways")
	res.Assert(t, icmd.Expected{ExitCode: 2, Err: "--progress"})
}

func TestBackupRemovesHelpersOfCrashedRuns(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	host, err := os.Hostname()
	assert.NilError(t, err)
	// A helper whose owner (this host, a pid that is gone) crashed.
	stale := kit.MustDocker(t, "run", "-d", "--label", "org.opsmill.infrahubdb.helper=backup",
		"--label", "org.opsmill.infrahubdb.target="+db.ID, "--label", "org.opsmill.infrahubdb.owner="+host+":999999",
		"--label", kit.RunLabel+"="+kit.RunID, "--name", kit.UniqueName(t, "stale-helper"),
		"--entrypoint", "sleep", db.Image, "infinity")
	t.Cleanup(func() { kit.Docker("rm", "-f", "-v", stale) })

	res := p.Docker("infrahubdb", "backup", dir, "--database-container", db.Name, "--progress", "plain")
	res.Assert(t, icmd.Expected{ExitCode: 0, Err: "left by a crashed run"})
	assert.Check(t, kit.Docker("inspect", stale).ExitCode != 0, "stale helper still exists")
	assertClean(t, db, dir)
}

func TestBackupEnvironmentErrors(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)

	t.Run("daemon unreachable", func(t *testing.T) {
		cmd := p.Cmd("infrahubdb", "backup", kit.Folder(t))
		cmd.Env = append(cmd.Env, "DOCKER_HOST=unix:///nonexistent/docker.sock")
		res := icmd.RunCmd(cmd)
		res.Assert(t, icmd.Expected{ExitCode: 3, Err: "cannot reach the Docker daemon"})
		assert.Check(t, is.Contains(res.Stderr(), "docker context ls"))
	})

	t.Run("folder is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "not-a-dir")
		assert.NilError(t, os.WriteFile(file, nil, 0o600))
		res := p.Docker("infrahubdb", "backup", file)
		res.Assert(t, icmd.Expected{ExitCode: 3, Err: "not-a-dir"})
	})

	t.Run("missing folder argument", func(t *testing.T) {
		res := p.Docker("infrahubdb", "backup")
		res.Assert(t, icmd.Expected{ExitCode: 2, Err: "requires exactly 1 argument"})
	})
}

// A full disk must fail the run with a clear message and leave no partial
// file: the folder is a tiny tmpfs in the plugin's own mount namespace.
func TestBackupDiskFull(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	// Incompressible data, so the artifact is bigger than the 64 KiB tmpfs.
	random := make([]byte, 256<<10)
	_, _ = rand.Read(random)
	db.Run(t, "neo4j", "CREATE (:Blob {data: $data})", map[string]any{"data": hex.EncodeToString(random)})

	dir := kit.Folder(t)
	script := `mount -t tmpfs -o size=64k tmpfs "$1" && docker infrahubdb backup "$1" --database-container "$2" --database neo4j --transfer stream --progress plain; code=$?; ls -1a "$1"; exit $code`
	cmd := p.Cmd()
	cmd.Command = []string{"unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, db.Name}
	res := icmd.RunCmd(cmd)
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "disk full while writing"})
	assert.Check(t, !strings.Contains(res.Stdout(), ".partial"), res.Stdout())
	assert.Check(t, !strings.Contains(res.Stdout(), ".backup"), res.Stdout())
	assert.Check(t, is.Len(db.Helpers(t), 0))
}
