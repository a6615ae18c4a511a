package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	dockercli "github.com/docker/cli/cli"
	"github.com/moby/moby/client"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

func TestInterruptedErrorsNameTheSignal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{context.Canceled, "Error: interrupted (Ctrl-C or SIGTERM)"},
		{fmt.Errorf("neo4j-admin database backup: %w", context.Canceled), "Error: interrupted (Ctrl-C or SIGTERM): neo4j-admin database backup: interrupted"},
		{errors.Join(context.Canceled, errors.New("restore of database neo4j failed\nthe database was rolled back")),
			"Error: interrupted (Ctrl-C or SIGTERM)\nrestore of database neo4j failed\nthe database was rolled back"},
	} {
		var se dockercli.StatusError
		assert.Assert(t, errors.As(toStatusError(tc.err), &se))
		assert.Check(t, is.Equal(se.StatusCode, ExitInterrupted))
		assert.Check(t, is.Equal(se.Status, tc.want))
	}
}

// TestExitCodes covers the whole mapping of errors to exit codes: each
// error the lower packages type, as they produce it where that is cheap,
// and the precedence between them.
func TestExitCodes(t *testing.T) {
	ctx := context.Background()
	daemon := fakeDaemon(t)
	_, missing := daemon.FindDatabase(ctx, "missing")
	_, stopped := daemon.FindDatabase(ctx, "stopped")
	// A container without an IP is no error any more: the helper joins its
	// network namespace and reaches it on 127.0.0.1.
	_, noIP := deployment.FindTarget(ctx, daemon, deployment.TargetOptions{DatabaseContainer: "no-ip"})
	assert.NilError(t, noIP)
	newer := newerManifest(t)
	badPort := (&backupOptions{
		output: outputOptions{progress: "auto", format: "table"}, deployment: deploymentFlags{backupPort: 6362, databaseURL: "db:notaport"},
		outage:     outageFlags{stopTimeout: time.Minute, onlineTimeout: time.Minute},
		backupType: neo4jbackup.TypeAuto, includeMetadata: "all", helper: helperFlags{transfer: helper.TransferAuto},
	}).validate()
	unreachable := fmt.Errorf("%w at unix:///x.sock: dial", docker.ErrDaemonUnreachable)
	boom := errors.New("boom")

	for _, tc := range []struct {
		name string
		err  error
		code int
	}{
		{"unknown error", boom, ExitError},
		{"explicit code wins", withCode(ExitVerify, context.Canceled), ExitVerify},
		{"usage error", usageError("bad flag"), ExitUsage},
		{"--database-url with a bad port", badPort, ExitUsage},
		{"verify --adopt with a manifest", fmt.Errorf("%w: x", catalog.ErrHasManifest), ExitUsage},

		{"--database-container missing", missing, ExitEnvironment},
		{"--database-container stopped", stopped, ExitEnvironment},
		{"manifest of a newer plugin", newer, ExitEnvironment},
		{"malformed manifest", fmt.Errorf("%w x", backupset.ErrMalformedManifest), ExitEnvironment},
		{"no database", docker.ErrNoDatabase, ExitEnvironment},
		{"ambiguous database", &docker.AmbiguousError{}, ExitEnvironment},
		{"daemon unreachable", unreachable, ExitEnvironment},
		{"environment", &helper.EnvironmentError{Err: boom}, ExitEnvironment},
		{"link named like a backup", &backupset.NotRegularError{Path: "/x", Kind: "symbolic link"}, ExitEnvironment},
		{"disk full", &backupset.DiskFullError{Path: "/x", Err: syscall.ENOSPC}, ExitEnvironment},
		{"wrong credentials", fmt.Errorf("login: %w", neo4j.ErrUnauthorized), ExitEnvironment},
		{"prune refused", &catalog.PruneRefusedError{Err: errors.New("no")}, ExitEnvironment},
		{"check not run", &neo4jbackup.CheckNotRunError{Database: "neo4j", Reason: "r"}, ExitEnvironment},

		{"folder locked", &backupset.LockedError{Path: "/x"}, ExitLocked},
		{"helper locked", &helper.HelperLockError{Database: "db"}, ExitLocked},

		{"restore preflight", &restore.VerifyError{Problems: []string{"p"}}, ExitVerify},
		{"folder verification", &backupset.VerifyError{}, ExitVerify},
		{"backup --verify", fmt.Errorf("backup: %w", &backupset.VerifyError{}), ExitVerify},

		{"rolled back", &restore.RolledBackError{Database: "neo4j", Err: boom}, ExitRolledBack},
		{"degraded", &restore.DegradedError{Database: "neo4j", Err: boom}, ExitDegraded},
		{"degraded after Ctrl-C", errors.Join(context.Canceled, &restore.DegradedError{Database: "neo4j", Err: boom}), ExitDegraded},
		{"rolled back after Ctrl-C", errors.Join(context.Canceled, &restore.RolledBackError{Database: "neo4j", Err: boom}), ExitInterrupted},

		{"interrupted", fmt.Errorf("step: %w", context.Canceled), ExitInterrupted},
		{"interrupted while locked", errors.Join(context.Canceled, &backupset.LockedError{}), ExitInterrupted},
		{"confirmation refused", restore.ErrNotConfirmed, ExitDeclined},
		{"offline backup declined", backup.ErrNotConfirmed, ExitDeclined},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Assert(t, tc.err != nil)
			assert.Check(t, is.Equal(exitCode(tc.err), tc.code), "%v", tc.err)
			var se dockercli.StatusError
			assert.Assert(t, errors.As(toStatusError(tc.err), &se))
			assert.Check(t, is.Equal(se.StatusCode, tc.code))
		})
	}
}

// fakeDaemon is a Docker API that knows the containers "stopped" and
// "no-ip" (running, on no network) and nothing else.
func fakeDaemon(t *testing.T) *docker.Engine {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Api-Version", "1.41")
		name := strings.TrimSuffix(r.URL.Path[strings.LastIndex(r.URL.Path, "/containers/")+len("/containers/"):], "/json")
		running := map[string]bool{"stopped": false, "no-ip": true}
		state, ok := running[name]
		if !strings.Contains(r.URL.Path, "/containers/") || !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"message":"No such container: %s"}`, name)
			return
		}
		fmt.Fprintf(w, `{"Id":"%[1]s-id","Name":"/%[1]s","State":{"Running":%[2]t},"Config":{"Image":"neo4j:5.26.0-enterprise"},"NetworkSettings":{"Networks":{}}}`, name, state)
	}))
	t.Cleanup(srv.Close)
	api, err := client.New(client.WithHost("tcp://"+srv.Listener.Addr().String()), client.WithAPIVersion("1.41"))
	assert.NilError(t, err)
	return docker.New(api)
}

func newerManifest(t *testing.T) error {
	t.Helper()
	folder, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(folder.Path(backupset.ManifestName), []byte(`{"version": 99, "tool": "docker-infrahubdb v9", "files": []}`), 0o600))
	_, err = folder.ReadManifest()
	return err
}
