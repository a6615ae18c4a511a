// Command neo4j is the stand-in's server, the image's default command: it
// checks the licence and NEO4J_AUTH like the real image's entrypoint,
// keeps all state under the data directory (/data), creates the system and
// default databases on first start, and serves Bolt and (enterprise, when
// enabled) the backup port on the configured addresses. Started as root it
// chowns the data directory and drops to neo4j (7474:7474), like the real
// entrypoint. It logs like Neo4j to stdout and stops cleanly on SIGTERM.
//
// Stand-in only: the fault knob "startup" (a delay) holds the server back
// before it listens; "bolt", "start", "stop", "create", "backup" and
// "corrupt" act where those steps happen.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/backupport"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/bolt"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/cypher"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/settings"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

// neo4jUID is the uid and gid of the neo4j user in the image.
const neo4jUID = 7474

const licenceMessage = `
In order to use Neo4j Enterprise Edition you must accept the license agreement.

The license agreement is available at https://neo4j.com/terms/licensing/
If you have a support contract the following terms apply https://neo4j.com/terms/support-terms/

If you do not have a commercial license and want to evaluate the Software
please read the terms of the evaluation agreement before you accept.
https://neo4j.com/terms/enterprise_us/

(c) Neo4j Sweden AB. All Rights Reserved.
Use of this Software without a proper commercial license, or evaluation license
with Neo4j, Inc. or its affiliates is prohibited.
Neo4j has the right to terminate your usage if you are not compliant.

More information is also available at: https://neo4j.com/licensing/
If you have further inquiries about licensing, please contact us via https://neo4j.com/contact-us/

To accept the commercial license agreement set the environment variable
NEO4J_ACCEPT_LICENSE_AGREEMENT=yes

To accept the terms of the evaluation agreement set the environment variable
NEO4J_ACCEPT_LICENSE_AGREEMENT=eval

To do this you can use the following docker argument:

        --env=NEO4J_ACCEPT_LICENSE_AGREEMENT=<yes|eval>
`

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--version", "version":
			fmt.Println("neo4j " + cypher.Version)
			return
		case "console", "start":
		default:
			fmt.Fprintf(os.Stderr, "Unmatched argument at index 0: '%s'\n", os.Args[1])
			os.Exit(2)
		}
	}
	os.Exit(run())
}

// logger prints Neo4j-style log lines.
type logger struct{ w io.Writer }

func (l logger) info(format string, args ...any) {
	ts := time.Now().UTC().Format("2006-01-02 15:04:05.000-0700")
	fmt.Fprintf(l.w, "%s INFO  %s\n", ts, fmt.Sprintf(format, args...))
}

func run() int {
	// Docker secrets first: a NEO4J_*_FILE variable may set any of the
	// others, the licence's and NEO4J_AUTH included (settings.LoadSecrets).
	environ, err := settings.LoadSecrets(os.Environ(), os.ReadFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Clearenv()
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		os.Setenv(name, value)
	}
	edition := settings.Edition(environ)
	if edition == "enterprise" {
		if v := os.Getenv("NEO4J_ACCEPT_LICENSE_AGREEMENT"); v != "yes" && v != "eval" {
			fmt.Fprint(os.Stderr, licenceMessage)
			return 1
		}
	}
	// The entrypoint writes NEO4J_* into neo4j.conf before anything else
	// reads it [S13b]; neo4j-admin later reads only that file [S8].
	conf, err := settings.ApplyEnv(settings.ConfFile(environ), environ)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dataDir := conf.DataDir()
	// [S13b] the entrypoint checks /data before NEO4J_AUTH.
	if err := dropPrivileges(dataDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rawAuth := os.Getenv("NEO4J_AUTH")
	if p := os.Getenv("NEO4J_AUTH_PATH"); p != "" {
		if rawAuth, err = settings.AuthFromPath(p, os.ReadFile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	envAuth, err := settings.ParseAuth(rawAuth, conf)
	if err != nil {
		var invalid *settings.InvalidAuthError
		if errors.As(err, &invalid) {
			fmt.Println(rawAuth + " is invalid")
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if !envAuth.Disabled && rawAuth != "" {
		fmt.Println("Changed password for user 'neo4j'. IMPORTANT: this change will only take effect if performed before the database is started for the first time.")
	}

	log := logger{w: os.Stdout}
	if f, err := os.OpenFile("/logs/neo4j.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		defer f.Close()
		log.w = io.MultiWriter(os.Stdout, f)
	}
	log.info("Logging config in use: File '/var/lib/neo4j/conf/user-logs.xml'")
	log.info("Starting...")

	st, err := store.Open(dataDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The DBMS holds <data>/databases/store_lock while it runs: offline
	// tools (dump, load; in Community the whole DBMS must be down [S18])
	// see it from another container sharing the volume.
	dbmsLock, err := store.Lock(st.DBMSLockPath())
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			err = fmt.Errorf("Lock file has been locked by another process: %s. Please ensure no other process is using this database, and that the directory is writable (required even for read-only access)", st.DBMSLockPath())
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer store.Unlock(dbmsLock)
	// [S21] block is Enterprise-only and the default for new Enterprise
	// databases from 5.22; Community uses aligned.
	st.NewFormat = "aligned"
	if edition == "enterprise" && version.AtLeast(cypher.Version, "5.22") {
		st.NewFormat = "block"
	}
	auth, err := settings.InitAuth(dataDir, envAuth)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	boltAddr := listenAddress(conf, settings.BoltListenAddress)
	engine := &cypher.Engine{Store: st, Edition: edition, Address: "localhost:" + port(boltAddr)}
	if err := engine.Startup(conf.Get(settings.DefaultDatabase)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	faults.Delay(dataDir, "startup")
	log.info("This instance is ServerId{%s} (%s)", serverID(st)[:8], serverID(st))
	log.info("======== Neo4j %s ========", cypher.Version)

	boltListener, err := net.Listen("tcp", boltAddr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Bolt: %v\n", err)
		return 1
	}
	debug := os.Getenv("NEO4J_DEBUG") != ""
	boltServer := &bolt.Server{Engine: engine, Authenticate: auth.Check, DataDir: dataDir}
	if debug {
		boltServer.Logf = func(format string, args ...any) { log.info("[bolt] "+format, args...) }
	}
	go boltServer.Serve(boltListener)
	log.info("Bolt enabled on %s.", boltAddr)

	var backupListener net.Listener
	if edition == "enterprise" && conf.Bool(settings.BackupEnabled) {
		addr := listenAddress(conf, settings.BackupListenAddress)
		if backupListener, err = net.Listen("tcp", addr); err != nil {
			fmt.Fprintf(os.Stderr, "Backup server: %v\n", err)
			return 1
		}
		bs := &backupport.Server{Store: st}
		if debug {
			bs.Logf = func(format string, args ...any) { log.info("[backup] "+format, args...) }
		}
		go bs.Serve(backupListener)
		log.info("Backup server listening on %s.", addr)
	}
	log.info("Started.")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	log.info("Neo4j Server shutdown initiated by request")
	boltListener.Close()
	if backupListener != nil {
		backupListener.Close()
	}
	boltServer.CloseConnections()
	if err := engine.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	log.info("Stopped.")
	return 0
}

// listenAddress returns a listen address setting with the host defaulted
// to server.default_listen_address (0.0.0.0 in the image) when only a port
// is given, like Neo4j.
func listenAddress(conf settings.Settings, name string) string {
	addr := conf.Get(name)
	host, p, err := net.SplitHostPort(addr)
	if err != nil { // a bare port or host
		if strings.Trim(addr, "0123456789") == "" {
			host, p = "", addr
		} else {
			host, p = addr, port(settings.Settings{}.Get(name))
		}
	}
	if host == "" {
		host = conf["server.default_listen_address"]
		if host == "" {
			host = "0.0.0.0"
		}
	}
	return net.JoinHostPort(host, p)
}

func port(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "7687"
	}
	return p
}

// serverID is a stable id for this data directory.
func serverID(st *store.Store) string {
	path := filepath.Join(st.Dir, "server_id")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 8 {
		return strings.TrimSpace(string(b))
	}
	id := store.NewStoreID() + store.NewStoreID()
	_ = os.WriteFile(path, []byte(id), 0o644)
	return id
}

// dropPrivileges, when running as root, continues as neo4j (7474:7474)
// like the real entrypoint, which chowns a mounted folder (recursively) only
// when the folder, or some file in it, is not writable by neo4j
// (check_mounted_folder_writable_with_chown [S13b]). So a root-owned 0777
// /data stays root-owned while what the server creates in it is 7474's.
func dropPrivileges(dataDir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	for _, dir := range []string{dataDir, "/logs"} {
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		reason := ""
		if !writableByNeo4j(dir) {
			reason = fmt.Sprintf("Warning: Folder mounted to %q is not writable from inside container. Changing folder owner to neo4j.", dir)
		} else if someNotWritable(dir) {
			reason = fmt.Sprintf("Warning: Some files inside %q are not writable from inside container. Changing folder owner to neo4j.", dir)
		}
		if reason == "" {
			continue
		}
		fmt.Println(reason)
		err := filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, neo4jUID, neo4jUID)
		})
		if err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	if err := syscall.Setgroups([]int{neo4jUID}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(neo4jUID); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(neo4jUID); err != nil {
		return fmt.Errorf("setuid: %w", err)
	}
	return nil
}

// writableByNeo4j is the entrypoint's is_writable: others may write, or
// neo4j owns it with owner write, or its group is neo4j's with group write.
func writableByNeo4j(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	m := fi.Mode().Perm()
	return m&0o002 != 0 || st.Uid == neo4jUID && m&0o200 != 0 || st.Gid == neo4jUID && m&0o020 != 0
}

// someNotWritable is `su-exec neo4j find <dir> -not -writable`.
func someNotWritable(dir string) bool {
	found := false
	_ = filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || found {
			return filepath.SkipAll
		}
		if fi.Mode()&os.ModeSymlink == 0 && !writableByNeo4j(path) {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
