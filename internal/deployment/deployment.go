package deployment

import (
	"context"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// Compose services beside the database that hold the other components.
const (
	TaskManagerDBService = "task-manager-db"
	TaskWorkerService    = "task-worker"
)

// Deployment is the Compose project around the database container: the
// containers (running or not) of the services that hold the task manager's
// database and the object storage. A nil field means the project has no
// such service.
type Deployment struct {
	Project       string
	Database      docker.Container
	Server        *docker.Container // infrahub-server
	TaskManager   *docker.Container // task-manager (Prefect server)
	TaskManagerDB *docker.Container // task-manager-db (PostgreSQL)
}

// FindDeployment lists the services of the database's Compose project; a
// database that is not in a Compose project has none.
func FindDeployment(ctx context.Context, eng Engine, db docker.Container) (Deployment, error) {
	d := Deployment{Project: db.ComposeProject, Database: db}
	cs, err := ProjectContainers(ctx, eng, db, []string{ServerService, TaskManagerService, TaskManagerDBService})
	if err != nil {
		return d, err
	}
	for i := range cs {
		c := &cs[i]
		var slot **docker.Container
		switch c.ComposeService {
		case ServerService:
			slot = &d.Server
		case TaskManagerService:
			slot = &d.TaskManager
		case TaskManagerDBService:
			slot = &d.TaskManagerDB
		}
		// With several replicas, prefer a running one.
		if *slot == nil || (!(*slot).Running && c.Running) {
			*slot = c
		}
	}
	return d, nil
}
