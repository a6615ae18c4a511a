package deployment

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// Compose services of a stock Infrahub deployment (INFRAHUB.md §1).
const (
	DatabaseService = "database"
	ServerService   = "infrahub-server"
)

// Discovery rules, in the order they apply.
const (
	RuleNamed   = "--database-container"
	RuleLabel   = "label " + docker.DatabaseRoleLabel + "=" + docker.DatabaseRole
	RuleCompose = "Compose service " + DatabaseService
)

// Found is the database container and how it was found.
type Found struct {
	Container docker.Container
	Rule      string // RuleNamed, RuleLabel or RuleCompose
}

// NoDatabaseError says no rule found a database container. It is
// docker.ErrNoDatabase for errors.Is, so --database-url alone still works.
type NoDatabaseError struct{ Project string }

func (e *NoDatabaseError) Error() string {
	where := "no running Compose project has both a " + DatabaseService + " and an " + ServerService + " service"
	if e.Project != "" {
		where = fmt.Sprintf("Compose project %q has no running %s service next to an %s service", e.Project, DatabaseService, ServerService)
	}
	return fmt.Sprintf("no Infrahub database container found: no running container is labelled %s=%s and %s; start the deployment (docker compose -p <project> up -d), name the container with --database-container, or give the database address with --database-url",
		docker.DatabaseRoleLabel, docker.DatabaseRole, where)
}

func (e *NoDatabaseError) Is(target error) bool { return target == docker.ErrNoDatabase }

// AmbiguousDatabaseError says several containers qualify; it lists them with
// the rule that found each, and the projects when --project would choose.
type AmbiguousDatabaseError struct {
	Candidates []Found
	Projects   []string // Compose projects among the candidates
}

func (e *AmbiguousDatabaseError) Error() string {
	var list []string
	for _, f := range e.Candidates {
		item := fmt.Sprintf("%s (found by %s", f.Container.Name, f.Rule)
		if p := f.Container.ComposeProject; p != "" {
			item += ", project " + p
		}
		list = append(list, item+")")
	}
	hint := "choose one with --database-container"
	if len(e.Projects) > 1 {
		hint = fmt.Sprintf("several Infrahub projects run here (%s): choose one with --project NAME, or the container with --database-container", strings.Join(e.Projects, ", "))
	}
	return fmt.Sprintf("%d containers could be the Infrahub database: %s; %s", len(e.Candidates), strings.Join(list, ", "), hint)
}

// Discover finds the database container: the one named with
// --database-container; else the running containers labelled
// infrahub_role=database (the old tool's way) together with the running
// "database" service of each Compose project that also has an
// "infrahub-server" service (Infrahub's stock compose file sets no label,
// INFRAHUB.md §1). Compose v1 and v2 both set the labels
// com.docker.compose.project and com.docker.compose.service. project
// restricts both rules to one Compose project. Two candidates, whichever
// rules found them, are an error: the plugin never picks silently.
func Discover(ctx context.Context, eng Engine, named, project string) (Found, error) {
	if named != "" {
		c, err := eng.FindDatabase(ctx, named)
		if err != nil {
			return Found{}, err
		}
		if project != "" && c.ComposeProject != project {
			return Found{}, &helper.EnvironmentError{Err: fmt.Errorf("database container %s belongs to Compose project %q, not to --project %q", c.Name, c.ComposeProject, project)}
		}
		return Found{Container: c, Rule: RuleNamed}, nil
	}
	var found []Found
	add := func(c docker.Container, rule string) {
		if !c.Running || (project != "" && c.ComposeProject != project) {
			return
		}
		if slices.ContainsFunc(found, func(f Found) bool { return f.Container.ID == c.ID }) {
			return
		}
		found = append(found, Found{Container: c, Rule: rule})
	}
	labelled, err := eng.List(ctx, map[string]string{docker.DatabaseRoleLabel: docker.DatabaseRole}, false)
	if err != nil {
		return Found{}, err
	}
	for _, c := range labelled {
		add(c, RuleLabel)
	}
	projects, err := infrahubProjects(ctx, eng, project)
	if err != nil {
		return Found{}, err
	}
	for _, p := range projects {
		dbs, err := eng.List(ctx, map[string]string{docker.ComposeProjectLabel: p, docker.ComposeServiceLabel: DatabaseService}, false)
		if err != nil {
			return Found{}, err
		}
		for _, c := range dbs {
			add(c, RuleCompose)
		}
	}
	switch len(found) {
	case 0:
		return Found{}, &NoDatabaseError{Project: project}
	case 1:
		return found[0], nil
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Container.Name < found[j].Container.Name })
	var inProjects []string
	for _, f := range found {
		if p := f.Container.ComposeProject; p != "" && !slices.Contains(inProjects, p) {
			inProjects = append(inProjects, p)
		}
	}
	sort.Strings(inProjects)
	return Found{}, &helper.EnvironmentError{Err: &AmbiguousDatabaseError{Candidates: found, Projects: inProjects}}
}

// infrahubProjects lists the Compose projects that have an infrahub-server
// service container (running or not: a crashed run may have left the
// applications stopped), restricted to project when set.
func infrahubProjects(ctx context.Context, eng Engine, project string) ([]string, error) {
	labels := map[string]string{docker.ComposeServiceLabel: ServerService}
	if project != "" {
		labels[docker.ComposeProjectLabel] = project
	}
	servers, err := eng.List(ctx, labels, true)
	if err != nil {
		return nil, err
	}
	var projects []string
	for _, c := range servers {
		if p := c.ComposeProject; p != "" && !slices.Contains(projects, p) {
			projects = append(projects, p)
		}
	}
	sort.Strings(projects)
	return projects, nil
}

// ProjectContainers lists the containers of the database's Compose project
// whose service is one of services (running or not), sorted by name.
func ProjectContainers(ctx context.Context, eng Engine, db docker.Container, services []string) ([]docker.Container, error) {
	if db.ComposeProject == "" {
		return nil, nil
	}
	cs, err := eng.List(ctx, map[string]string{docker.ComposeProjectLabel: db.ComposeProject}, true)
	if err != nil {
		return nil, err
	}
	var out []docker.Container
	for _, c := range cs {
		if c.ID != db.ID && slices.Contains(services, c.ComposeService) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// LockEngine is what DiscoverForLock needs: discovery, and the inspection
// of a named container whether it runs or not.
type LockEngine interface {
	Engine
	Inspect(ctx context.Context, nameOrID string) (docker.Container, error)
}

// DiscoverForLock finds the database container whose run lock a command
// takes, by Discover's rules, running or stopped: while another run holds
// the deployment, the database may be stopped for a dump or a load, and a
// second run must then meet that run's lock (and refuse or wait), not a
// missing database. ok is false when none, or several, are found: the
// command then takes no lock and its workflow reports what is wrong.
func DiscoverForLock(ctx context.Context, eng LockEngine, named, project string) (c docker.Container, ok bool) {
	if found, err := Discover(ctx, eng, named, project); err == nil {
		return found.Container, true
	}
	if named != "" {
		c, err := eng.Inspect(ctx, named)
		if err != nil || (project != "" && c.ComposeProject != project) {
			return docker.Container{}, false
		}
		return c, true
	}
	var found []docker.Container
	add := func(cs []docker.Container) {
		for _, c := range cs {
			if (project == "" || c.ComposeProject == project) && !slices.ContainsFunc(found, func(f docker.Container) bool { return f.ID == c.ID }) {
				found = append(found, c)
			}
		}
	}
	labelled, err := eng.List(ctx, map[string]string{docker.DatabaseRoleLabel: docker.DatabaseRole}, true)
	if err != nil {
		return docker.Container{}, false
	}
	add(labelled)
	projects, err := infrahubProjects(ctx, eng, project)
	if err != nil {
		return docker.Container{}, false
	}
	for _, p := range projects {
		dbs, err := eng.List(ctx, map[string]string{docker.ComposeProjectLabel: p, docker.ComposeServiceLabel: DatabaseService}, true)
		if err != nil {
			return docker.Container{}, false
		}
		add(dbs)
	}
	if len(found) != 1 {
		return docker.Container{}, false
	}
	return found[0], true
}
