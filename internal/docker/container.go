package docker

import (
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// Compose labels, used to find the Infrahub app containers of the database's project.
const (
	ComposeProjectLabel = "com.docker.compose.project"
	ComposeServiceLabel = "com.docker.compose.service"
)

// Container is what the workflows need to know about a container.
type Container struct {
	ID      string
	Name    string // without the leading "/"
	Image   string // as the operator named it, e.g. neo4j:5.20-enterprise
	ImageID string
	Labels  map[string]string
	Env     []string
	Running bool
	// Networks the container is attached to, sorted by name.
	Networks       []Network
	Mounts         []Mount
	ComposeProject string
	ComposeService string
	User           string
	// ExitCode is the exit code of a stopped container (137: killed).
	ExitCode int
	// Health is the healthcheck status ("" without a healthcheck).
	Health string
}

// Network is one network attachment; IP is empty when the network gives the container none
// (host network).
type Network struct {
	Name, ID, IP string
}

// Mount is a volume or bind mount. For a volume, Name is the volume name; for a bind mount, Source
// is the path on the daemon's host.
type Mount struct {
	Type        string // "volume" or "bind"
	Name        string
	Source      string
	Destination string
	RW          bool
}

// Mount types.
const (
	MountVolume = string(mount.TypeVolume)
	MountBind   = string(mount.TypeBind)
)

// EnvValue returns the value of key in the container's environment.
func (c Container) EnvValue(key string) (string, bool) {
	return envValue(c.Env, key)
}

// MountAt returns the mount whose destination is dir.
func (c Container) MountAt(dir string) (Mount, bool) {
	for _, m := range c.Mounts {
		if m.Destination == dir {
			return m, true
		}
	}
	return Mount{}, false
}

func envValue(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

func containerFromInspect(r container.InspectResponse) Container {
	c := Container{
		ID:      r.ID,
		Name:    strings.TrimPrefix(r.Name, "/"),
		ImageID: r.Image,
		Running: r.State != nil && r.State.Running,
	}
	if r.State != nil {
		c.ExitCode = r.State.ExitCode
		if r.State.Health != nil {
			c.Health = string(r.State.Health.Status)
		}
	}
	if cfg := r.Config; cfg != nil {
		c.Image = cfg.Image
		c.Labels = cfg.Labels
		c.Env = cfg.Env
		c.User = cfg.User
		c.ComposeProject = cfg.Labels[ComposeProjectLabel]
		c.ComposeService = cfg.Labels[ComposeServiceLabel]
	}
	if ns := r.NetworkSettings; ns != nil {
		for name, ep := range ns.Networks {
			if ep == nil {
				continue
			}
			n := Network{Name: name, ID: ep.NetworkID}
			if ep.IPAddress.IsValid() {
				n.IP = ep.IPAddress.String()
			}
			c.Networks = append(c.Networks, n)
		}
		sort.Slice(c.Networks, func(i, j int) bool { return c.Networks[i].Name < c.Networks[j].Name })
	}
	for _, m := range r.Mounts {
		if m.Type != mount.TypeVolume && m.Type != mount.TypeBind {
			continue
		}
		c.Mounts = append(c.Mounts, Mount{
			Type:        string(m.Type),
			Name:        m.Name,
			Source:      m.Source,
			Destination: m.Destination,
			RW:          m.RW,
		})
	}
	return c
}
