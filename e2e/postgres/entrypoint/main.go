// Command docker-entrypoint is the entrypoint of the e2e PostgreSQL image
// (e2e/postgres/build-image.sh): the real PostgreSQL 15 server from Debian's
// packages, started the way the official `postgres` image's
// docker-entrypoint.sh starts it, for what the tests use:
//
//   - the command `postgres` (the default; a first argument starting with
//     "-" gets `postgres` put in front) initialises PGDATA (default
//     /var/lib/postgresql/data, a VOLUME) on first start, then execs the
//     server; any other command is exec'd as it is (psql, pg_dump, bash);
//   - started as root it creates and chowns PGDATA and the socket directory
//     and drops to the postgres user (uid/gid 999, as in the official
//     Debian-based image) before initdb and the server;
//   - POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
//     POSTGRES_HOST_AUTH_METHOD=trust: "Database is uninitialized and
//     superuser password is not specified."), POSTGRES_DB (default the user),
//     POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default
//     scram-sha-256, written as `host all all all <method>` to pg_hba.conf;
//     initdb's own lines keep trust for the local socket and loopback, as in
//     the official image), and the *_FILE variants of the first three;
//   - /docker-entrypoint-initdb.d/*.sql run with psql, *.sh with bash (when
//     the image has it), in name order, against a temporary server that
//     listens on the socket only, so a TCP check (pg_isready -h 127.0.0.1)
//     succeeds only once the real server is up.
//
// The image sets STOPSIGNAL SIGINT like the official one: `docker stop` asks
// the postmaster (PID 1) for a fast shutdown, which ends with a checkpoint.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

const (
	uid       = 999
	gid       = 999
	socketDir = "/var/run/postgresql"
	initDir   = "/docker-entrypoint-initdb.d"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		args = append([]string{"postgres"}, args...)
	}
	if args[0] != "postgres" || wantsHelp(args[1:]) {
		execOrDie(args)
	}
	if err := run(args); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-?", "--help", "--describe-config", "-V", "--version":
			return true
		}
	}
	return false
}

func run(args []string) error {
	pgdata := env("PGDATA", "/var/lib/postgresql/data")
	os.Setenv("PGDATA", pgdata)
	if os.Getuid() == 0 {
		for dir, mode := range map[string]os.FileMode{pgdata: 0o700, socketDir: 0o3777} {
			if err := os.MkdirAll(dir, mode); err != nil {
				return err
			}
			if err := chownTree(dir); err != nil {
				return err
			}
			if err := os.Chmod(dir, mode); err != nil {
				return err
			}
		}
		// Drop to postgres for everything that follows, initdb and the
		// server included (Go applies setuid to every thread).
		if err := syscall.Setgroups([]int{gid}); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setgid(gid); err != nil {
			return fmt.Errorf("setgid: %w", err)
		}
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("setuid: %w", err)
		}
		os.Setenv("HOME", "/var/lib/postgresql")
		os.Setenv("USER", "postgres")
	} else {
		_ = os.MkdirAll(pgdata, 0o700)
		_ = os.Chmod(pgdata, 0o700)
	}
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := initialise(pgdata); err != nil {
			return err
		}
	} else {
		fmt.Println()
		fmt.Println("PostgreSQL Database directory appears to contain a database; Skipping initialization")
		fmt.Println()
	}
	execOrDie(args)
	return nil
}

func initialise(pgdata string) error {
	user, err := fileEnv("POSTGRES_USER", "postgres")
	if err != nil {
		return err
	}
	password, err := fileEnv("POSTGRES_PASSWORD", "")
	if err != nil {
		return err
	}
	db, err := fileEnv("POSTGRES_DB", user)
	if err != nil {
		return err
	}
	method := env("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256")
	if password == "" && method != "trust" {
		// The official image's message, shortened.
		return errors.New(`Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.`)
	}

	initdb := []string{"initdb", "--username=" + user}
	if password != "" {
		pwfile, err := os.CreateTemp("", "pwfile-")
		if err != nil {
			return err
		}
		defer os.Remove(pwfile.Name())
		if _, err := pwfile.WriteString(password + "\n"); err != nil {
			return err
		}
		pwfile.Close()
		initdb = append(initdb, "--pwfile="+pwfile.Name())
	}
	initdb = append(initdb, strings.Fields(os.Getenv("POSTGRES_INITDB_ARGS"))...)
	if err := command(initdb...); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}

	hba, err := os.OpenFile(filepath.Join(pgdata, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(hba, "\nhost all all all %s\n", method)
	if cerr := hba.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	// A temporary server on the socket only, as the official image does.
	if err := command("pg_ctl", "-D", pgdata, "-o", "-c listen_addresses='' -p 5432", "-w", "start"); err != nil {
		return fmt.Errorf("temporary server: %w", err)
	}
	psql := []string{"psql", "-v", "ON_ERROR_STOP=1", "--username", user, "--no-password", "--no-psqlrc"}
	if db != "postgres" {
		// The official image runs this against the postgres database.
		// Through stdin: psql interpolates :"db" there, not in -c.
		if err := commandInput(`CREATE DATABASE :"db" ;`+"\n",
			append(psql, "--dbname", "postgres", "--set", "db="+db)...); err != nil {
			return fmt.Errorf("create database %s: %w", db, err)
		}
	}
	fmt.Println()
	if err := runInitScripts(append(psql, "--dbname", db)); err != nil {
		return err
	}
	if err := command("pg_ctl", "-D", pgdata, "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("stopping the temporary server: %w", err)
	}
	fmt.Println()
	fmt.Println("PostgreSQL init process complete; ready for start up.")
	fmt.Println()
	return nil
}

func runInitScripts(psql []string) error {
	entries, err := os.ReadDir(initDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(initDir, name)
		switch {
		case strings.HasSuffix(name, ".sql"):
			fmt.Printf("%s: running %s\n", os.Args[0], path)
			err = command(append(psql, "-f", path)...)
		case strings.HasSuffix(name, ".sh"):
			fmt.Printf("%s: running %s\n", os.Args[0], path)
			err = command("bash", path)
		default:
			fmt.Printf("%s: ignoring %s\n", os.Args[0], path)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

func command(args ...string) error { return commandInput("", args...) }

func commandInput(stdin string, args ...string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

func execOrDie(args []string) {
	path, err := exec.LookPath(args[0])
	if err == nil {
		err = syscall.Exec(path, args, os.Environ())
	}
	fmt.Fprintf(os.Stderr, "docker-entrypoint: exec %s: %v\n", args[0], err)
	os.Exit(127)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// fileEnv reads NAME or, like the official image, NAME_FILE (not both).
func fileEnv(name, def string) (string, error) {
	v, f := os.Getenv(name), os.Getenv(name+"_FILE")
	if v != "" && f != "" {
		return "", fmt.Errorf("both %s and %s_FILE are set (but are exclusive)", name, name)
	}
	if f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		v = strings.TrimRight(string(b), "\n")
	}
	if v == "" {
		v = def
	}
	return v, nil
}

// chownTree gives dir and what is in it to postgres, like the official
// image's `find "$PGDATA" \! -user postgres -exec chown postgres '{}' +`.
func chownTree(dir string) error {
	return filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid == uid && st.Gid == gid {
			return nil
		}
		return os.Lchown(path, uid, gid)
	})
}
