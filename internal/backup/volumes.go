package backup

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// accountVolumes says, for every named volume of the deployment's
// services, which component captures it or why none does, so that a run
// never misses data without a word: Infrahub's stock compose also mounts
// workflow_data at /opt/infrahub/workflow on infrahub-server, which no
// component captures (INFRAHUB.md §1). Anonymous volumes (the VOLUME of an
// image, such as the cache's and the message queue's) are left out: they
// hold what a restore empties anyway.
func accountVolumes(ctx context.Context, eng helper.Engine, plan componentPlan) ([]backupset.VolumeRecord, error) {
	if plan.target.Container == nil || plan.dep.Project == "" {
		return nil, nil
	}
	cs, err := eng.List(ctx, map[string]string{docker.ComposeProjectLabel: plan.dep.Project}, true)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b docker.Container) int { return strings.Compare(a.Name, b.Name) })
	var out []backupset.VolumeRecord
	seen := map[string]bool{}
	for _, c := range cs {
		for _, m := range c.Mounts {
			if m.Type != docker.MountVolume || anonymous(m.Name) || seen[m.Name] {
				continue
			}
			seen[m.Name] = true
			v := backupset.VolumeRecord{Name: m.Name, Service: c.ComposeService, Path: m.Destination}
			v.Component, v.Skipped = volumeComponent(c, m, plan)
			out = append(out, v)
		}
	}
	return out, nil
}

// volumeComponent names the component that captures the volume m of c, or
// why none does.
func volumeComponent(c docker.Container, m docker.Mount, plan componentPlan) (component, skipped string) {
	db := *plan.target.Container
	switch {
	case c.ID == db.ID && m.Destination == "/data":
		if plan.graph {
			return backupset.ComponentGraph, ""
		}
		return "", "the graph was not asked for (--component)"
	case c.ID == db.ID && m.Destination == "/logs":
		return "", "Neo4j's logs: a restore does not need them"
	case plan.taskManager != nil && c.ID == plan.taskManager.Container.ID:
		return backupset.ComponentTaskManager, ""
	case plan.storage != nil && m.Name == plan.storage.Mount.Name:
		return backupset.ComponentStorage, ""
	case c.ComposeService == deployment.TaskManagerDBService:
		return "", "the task-manager component was not taken in this run"
	}
	return "", fmt.Sprintf("no component captures it (%s of %s): copy it yourself if the deployment needs its content", m.Destination, c.ComposeService)
}

// anonymous reports a volume Docker named itself: 64 hex digits.
func anonymous(name string) bool {
	return len(name) == 64 && strings.Trim(name, "0123456789abcdef") == ""
}
