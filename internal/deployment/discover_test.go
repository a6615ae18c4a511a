package deployment_test

import (
	"context"
	"errors"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
)

// stock is a container of a project shaped like Infrahub's docker-compose.yml:
// no infrahub_role label.
func stock(project, service string, running bool) docker.Container {
	return docker.Container{
		ID: project + "-" + service + "-id", Name: project + "-" + service + "-1", Running: running,
		ComposeProject: project, ComposeService: service,
		Labels: map[string]string{docker.ComposeProjectLabel: project, docker.ComposeServiceLabel: service},
	}
}

func TestDiscover(t *testing.T) {
	labelled := helpertest.New().Database // "database", labelled, project infrahub, no infrahub-server
	for _, tc := range []struct {
		name      string
		db        *docker.Container
		others    []docker.Container
		named     string
		project   string
		want      string // container name
		wantRule  string
		wantErr   []string
		noDB      bool
		ambiguous bool
	}{
		{name: "label", db: labelled, want: "database", wantRule: deployment.RuleLabel},
		{
			name: "stock compose project", others: []docker.Container{stock("infrahub", "database", true), stock("infrahub", "infrahub-server", true), stock("infrahub", "cache", true)},
			want: "infrahub-database-1", wantRule: deployment.RuleCompose,
		},
		{
			name: "infrahub-server stopped still marks the project", others: []docker.Container{stock("infrahub", "database", true), stock("infrahub", "infrahub-server", false)},
			want: "infrahub-database-1", wantRule: deployment.RuleCompose,
		},
		{
			name: "a database service without infrahub-server is not Infrahub's", others: []docker.Container{stock("other", "database", true)},
			noDB: true, wantErr: []string{"no Infrahub database container found", "--database-container"},
		},
		{
			name: "several projects", others: []docker.Container{stock("a", "database", true), stock("a", "infrahub-server", true), stock("b", "database", true), stock("b", "infrahub-server", true)},
			ambiguous: true, wantErr: []string{"several Infrahub projects run here (a, b)", "--project"},
		},
		{
			name: "several projects, --project picks", project: "b", others: []docker.Container{stock("a", "database", true), stock("a", "infrahub-server", true), stock("b", "database", true), stock("b", "infrahub-server", true)},
			want: "b-database-1", wantRule: deployment.RuleCompose,
		},
		{
			name: "--project unknown", project: "c", others: []docker.Container{stock("a", "database", true), stock("a", "infrahub-server", true)},
			noDB: true, wantErr: []string{`Compose project "c"`},
		},
		{
			name: "label and compose disagree", db: labelled, others: []docker.Container{stock("x", "database", true), stock("x", "infrahub-server", true)},
			ambiguous: true, wantErr: []string{"database (found by label infrahub_role=database", "x-database-1 (found by Compose service database, project x)"},
		},
		{name: "named wins", db: labelled, others: []docker.Container{stock("x", "database", true), stock("x", "infrahub-server", true)}, named: "database", want: "database", wantRule: deployment.RuleNamed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := helpertest.New()
			eng.Database = tc.db
			eng.Others = tc.others
			found, err := deployment.Discover(context.Background(), eng, tc.named, tc.project)
			if tc.want != "" {
				assert.NilError(t, err)
				assert.Check(t, is.Equal(found.Container.Name, tc.want))
				assert.Check(t, is.Equal(found.Rule, tc.wantRule))
				return
			}
			for _, w := range tc.wantErr {
				assert.Check(t, is.ErrorContains(err, w))
			}
			assert.Check(t, is.Equal(errors.Is(err, docker.ErrNoDatabase), tc.noDB))
			var amb *deployment.AmbiguousDatabaseError
			assert.Check(t, is.Equal(errors.As(err, &amb), tc.ambiguous))
			if tc.ambiguous {
				var env *helper.EnvironmentError
				assert.Check(t, errors.As(err, &env), "exit 3")
			}
		})
	}
}

func TestFindTargetSharesTheNetworkNamespace(t *testing.T) {
	eng := helpertest.New()
	target, err := deployment.FindTarget(context.Background(), eng, deployment.TargetOptions{})
	assert.NilError(t, err)
	assert.Check(t, target.SharedNetwork)
	assert.Check(t, is.Equal(target.BackupAddress, "127.0.0.1:6362"))
	assert.Check(t, is.Equal(target.BoltAddress, "127.0.0.1:7687"))

	target, err = deployment.FindTarget(context.Background(), eng, deployment.TargetOptions{DatabaseURL: "172.18.0.2:6362"})
	assert.NilError(t, err)
	assert.Check(t, !target.SharedNetwork, "--database-url joins networks")
	assert.Check(t, is.Equal(target.BackupAddress, "172.18.0.2:6362"))

	target, err = deployment.FindTarget(context.Background(), eng, deployment.TargetOptions{HostNetwork: true})
	assert.NilError(t, err)
	assert.Check(t, !target.SharedNetwork, "--host-network")
}

// OverNetwork moves a helper from the database's namespace onto its
// networks (the offline steps restart the database), and Readdress follows
// the IP the database gets when it starts again; an address the operator
// gave, or a database without an IP, is left as it is.
func TestOverNetworkFollowsTheDatabasesIP(t *testing.T) {
	eng := helpertest.New()
	shared, err := deployment.FindTarget(context.Background(), eng, deployment.TargetOptions{BoltPort: 7688})
	assert.NilError(t, err)
	over := deployment.OverNetwork(shared)
	assert.Check(t, !over.SharedNetwork && over.FollowIP)
	assert.Check(t, is.Equal(over.BoltAddress, "172.18.0.2:7688"))
	assert.Check(t, is.Equal(over.BackupAddress, "172.18.0.2:6362"))

	restarted := *eng.Database
	restarted.Networks = []docker.Network{{Name: "infrahub_default", ID: "net-id", IP: "172.18.0.9"}}
	again, err := deployment.Readdress(over, restarted)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(again.BoltAddress, "172.18.0.9:7688"))
	restarted.Networks = nil
	_, err = deployment.Readdress(over, restarted)
	assert.Check(t, is.ErrorContains(err, "no IP address"))

	given, err := deployment.FindTarget(context.Background(), eng, deployment.TargetOptions{DatabaseURL: "172.18.0.2:6362"})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(deployment.OverNetwork(given), given), "an address the operator gave")
	same, err := deployment.Readdress(given, restarted)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(same, given))

	eng.Database.Networks = nil
	noIP, err := deployment.FindTarget(context.Background(), eng, deployment.TargetOptions{})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(deployment.OverNetwork(noIP), noIP), "no IP: the namespace is shared")
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// The run lock is taken on the database container whether it runs or not:
// a second run meets the lock of a first one whose dump stopped it.
func TestDiscoverForLockFindsAStoppedDatabase(t *testing.T) {
	eng := helpertest.New()
	eng.Database = nil
	eng.Others = []docker.Container{stock("a", "database", false), stock("a", "infrahub-server", false), stock("b", "database", true), stock("b", "infrahub-server", true)}
	c, ok := deployment.DiscoverForLock(context.Background(), eng, "", "a")
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(c.Name, "a-database-1"))
	c, ok = deployment.DiscoverForLock(context.Background(), eng, "", "b")
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(c.Name, "b-database-1"))
	c, ok = deployment.DiscoverForLock(context.Background(), eng, "", "")
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(c.Name, "b-database-1"), "the running one, as Discover finds it")
	eng.Others[2].Running = false
	_, ok = deployment.DiscoverForLock(context.Background(), eng, "", "")
	assert.Check(t, !ok, "two stopped deployments: none is picked")
	_, ok = deployment.DiscoverForLock(context.Background(), eng, "", "c")
	assert.Check(t, !ok)
}
