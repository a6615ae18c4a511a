package deployment

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// TargetOptions select the database.
type TargetOptions struct {
	DatabaseContainer string // --database-container
	DatabaseURL       string // --database-url HOST[:PORT]
	BackupPort        int    // --database-backup-port
	BoltPort          int    // --database-cypher-port
	HostNetwork       bool   // --host-network
	Project           string // --project: the Compose project
	// FoundBy is how an earlier step of the same run found DatabaseContainer
	// (a Rule), so that the output still says so; "" is --database-container.
	FoundBy string
}

// Pin returns o naming the container t found, so that later steps of the
// same run work on it whatever starts meanwhile.
func (o TargetOptions) Pin(t helper.Target) TargetOptions {
	if t.Container != nil && o.DatabaseURL == "" {
		o.DatabaseContainer, o.FoundBy = t.Container.ID, t.Rule
	}
	return o
}

// FindTarget finds the database container and the addresses to reach it.
// The database is reached by IP on a network it shares with the helper,
// never by container name: names do not resolve on the default bridge.
func FindTarget(ctx context.Context, eng Engine, o TargetOptions) (helper.Target, error) {
	t := helper.Target{HostNetwork: o.HostNetwork}
	host, backupPort, err := splitURL(o.DatabaseURL, o.BackupPort)
	if err != nil {
		return helper.Target{}, err
	}
	found, err := Discover(ctx, eng, o.DatabaseContainer, o.Project)
	c := found.Container
	switch {
	case err == nil && (o.DatabaseContainer != "" || host == "" || names(c, host)):
		t.Container = &c
		t.LockKey = c.ID
		t.Rule = found.Rule
		if o.FoundBy != "" {
			t.Rule = o.FoundBy
		}
		if host != "" && net.ParseIP(host) == nil {
			host = "" // a container or service name: use its IP, names may not resolve
		}
	case o.DatabaseURL != "" && o.DatabaseContainer == "" && (err == nil || errors.Is(err, docker.ErrNoDatabase) || errors.As(err, new(*docker.AmbiguousError)) || errors.As(err, new(*AmbiguousDatabaseError))):
		// --database-url alone is enough for a backup, like the old tool:
		// the database is not (or not surely) the labelled container.
	default:
		return helper.Target{}, err
	}

	if host == "" && !o.HostNetwork && t.Container != nil && c.Running {
		// Share the database's network namespace: no listen address, IP or
		// name resolution matters then.
		host, t.SharedNetwork = "127.0.0.1", true
	}
	if host == "" {
		host = containerIP(c)
		if host == "" {
			if !onHostNetwork(c) {
				return helper.Target{}, &helper.EnvironmentError{Err: fmt.Errorf("database container %s has no IP address on any network: connect it to a network, or pass --database-url", c.Name)}
			}
			// A database on the host network is reached on loopback from a
			// helper that shares that network.
			host, t.HostNetwork = "127.0.0.1", true
		}
	}
	t.BackupAddress = net.JoinHostPort(host, strconv.Itoa(backupPort))
	t.BoltAddress = net.JoinHostPort(host, strconv.Itoa(orDefault(o.BoltPort, 7687)))
	if t.LockKey == "" {
		t.LockKey = t.BackupAddress
	}
	return t, nil
}

// CheckDatabaseURL reports a --database-url that FindTarget cannot use, so
// that the command line is refused before anything runs.
func CheckDatabaseURL(url string) error {
	_, _, err := splitURL(url, 0)
	return err
}

// splitURL parses --database-url (HOST, HOST:PORT, or a bolt:// style URL).
func splitURL(url string, defaultPort int) (string, int, error) {
	defaultPort = orDefault(defaultPort, 6362)
	if url == "" {
		return "", defaultPort, nil
	}
	if i := strings.Index(url, "://"); i >= 0 {
		url = url[i+3:]
	}
	url = strings.TrimSuffix(url, "/")
	host, portStr, err := net.SplitHostPort(url)
	if err != nil {
		// No port: the whole value is the host.
		return strings.Trim(url, "[]"), defaultPort, nil
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("--database-url %q: %q is not a port number; use HOST or HOST:PORT with a port from 1 to 65535", url, portStr)
	}
	return host, port, nil
}

func containerIP(c docker.Container) string {
	for _, n := range c.Networks {
		if n.IP != "" {
			return n.IP
		}
	}
	return ""
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func onHostNetwork(c docker.Container) bool {
	for _, n := range c.Networks {
		if n.Name == "host" {
			return true
		}
	}
	return false
}

// names reports whether host (from --database-url) designates container c:
// one of its IPs, its name or its Compose service name.
func names(c docker.Container, host string) bool {
	if host == c.Name || host == c.ComposeService || strings.HasPrefix(c.ID, host) {
		return true
	}
	for _, n := range c.Networks {
		if n.IP == host {
			return true
		}
	}
	return false
}

// OverNetwork returns t with the helper on the database container's
// networks, reaching it at its IP, instead of in its network namespace:
// for the offline steps (a Community dump or load), which stop and start
// the database container. A helper in the namespace of a container that
// starts again has to be stopped before it and started after it, to join
// its new namespace; one on its networks keeps running, and only learns
// its new IP (Readdress). Only Bolt is reached over the network, where
// Infrahub's own services reach it. t is returned unchanged unless it
// shares the namespace of a container with an IP on a network (a
// container on the host network, or on none, keeps sharing it).
func OverNetwork(t helper.Target) helper.Target {
	if !t.SharedNetwork || t.Container == nil || onHostNetwork(*t.Container) {
		return t
	}
	ip := containerIP(*t.Container)
	if ip == "" {
		return t
	}
	t.SharedNetwork, t.FollowIP = false, true
	t.BoltAddress = rehost(t.BoltAddress, ip)
	t.BackupAddress = rehost(t.BackupAddress, ip)
	return t
}

// Readdress returns t with its addresses on c's IP, c being the database
// container t reaches over the network (OverNetwork) as inspected after it
// started again: Docker may give it another IP (the old one taken by a
// container started meanwhile). Any other target (one that shares the
// namespace, or an address the operator gave) is returned unchanged.
func Readdress(t helper.Target, c docker.Container) (helper.Target, error) {
	if !t.FollowIP {
		return t, nil
	}
	ip := containerIP(c)
	if ip == "" {
		return t, fmt.Errorf("database container %s has no IP address on its networks after its start", c.Name)
	}
	t.BoltAddress = rehost(t.BoltAddress, ip)
	t.BackupAddress = rehost(t.BackupAddress, ip)
	return t, nil
}

// rehost is the host:port addr with host replaced.
func rehost(addr, host string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(host, port)
}
