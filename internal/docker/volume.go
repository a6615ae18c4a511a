package docker

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
)

// CreateVolume creates a named local volume carrying labels (a drill's
// scratch volume), and returns its name.
func (e *Engine) CreateVolume(ctx context.Context, name string, labels map[string]string) (string, error) {
	res, err := e.api.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: "local", Labels: labels})
	if err != nil {
		return "", fmt.Errorf("create volume %s: %w", name, e.wrap(err))
	}
	return res.Volume.Name, nil
}

// RemoveVolume removes a volume; a missing one is not an error. It works
// with a cancelled ctx: cleanup must happen on Ctrl-C too.
func (e *Engine) RemoveVolume(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := e.api.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true})
	if err == nil || IsNotFound(err) || strings.Contains(err.Error(), "no such volume") {
		return nil
	}
	return fmt.Errorf("remove volume %s: %w", name, e.wrap(err))
}

// StaleVolumes lists the volumes made for helpers serving target (a
// drill's scratch volumes) whose owner is a process of this host that no
// longer exists: left by a run killed before its cleanup. Volumes of runs
// on other hosts are presumed live.
func (e *Engine) StaleVolumes(ctx context.Context, target string) ([]string, error) {
	filters := client.Filters{}
	filters.Add("label", LabelHelper)
	filters.Add("label", LabelTarget+"="+target)
	res, err := e.api.VolumeList(ctx, client.VolumeListOptions{Filters: filters})
	if err != nil {
		return nil, e.wrap(err)
	}
	host, _, _ := parseOwner(Owner())
	var out []string
	for _, v := range res.Items {
		if isStale(Container{Running: true, Labels: v.Labels}, host, processAlive) {
			out = append(out, v.Name)
		}
	}
	return out, nil
}
