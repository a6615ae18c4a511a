package helper

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
)

// ContainerExec runs a command in an existing container (the database's).
type ContainerExec interface {
	ExecIn(ctx context.Context, containerID string, spec docker.ExecSpec) (int, error)
}

// AdminVersion is what `neo4j-admin --version` prints in the helper: the
// bare version ([S13e]). It is asked once per session (a JVM start with a
// real Neo4j); concurrent callers wait for the first.
func (s *Session) AdminVersion(ctx context.Context) (string, error) {
	s.versionMu.Lock()
	defer s.versionMu.Unlock()
	if s.version != nil {
		return *s.version, nil
	}
	v, err := s.adminVersion(ctx)
	if err == nil {
		s.version = &v
	}
	return v, err
}

func (s *Session) adminVersion(ctx context.Context) (string, error) {
	var out strings.Builder
	code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"neo4j-admin", "--version"}, Stdout: &Limited{W: &out, N: 4096}})
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", &EnvironmentError{Err: fmt.Errorf("neo4j-admin --version failed in helper image %s (exit %d): is it a Neo4j Enterprise image?", s.Image(), code)}
	}
	return strings.TrimSpace(out.String()), nil
}

// ServerRelease is the Neo4j release of the database container: what its
// own neo4j-admin says, else the version in its image tag
// (neo4j:5.26.0-enterprise); unknown when neither tells.
func ServerRelease(ctx context.Context, eng ContainerExec, c docker.Container) neo4j.Release {
	var out strings.Builder
	code, err := eng.ExecIn(ctx, c.ID, docker.ExecSpec{Cmd: []string{"neo4j-admin", "--version"}, Stdout: &Limited{W: &out, N: 4096}})
	if err == nil && code == 0 {
		if r := neo4j.ParseRelease(out.String()); r.Known {
			return r
		}
	}
	tag := c.Image
	if i := strings.LastIndexByte(tag, ':'); i >= 0 && !strings.Contains(tag[i:], "/") {
		return neo4j.ParseRelease(tag[i+1:])
	}
	return neo4j.Release{}
}

// CheckHelperRelease refuses a helper whose neo4j-admin is older than the
// database server before anything runs: artifacts of a release cannot be
// read by an older one ("Downgrade is not supported", NEO4J.md §5.8, [S3]),
// and Neo4j pairs equal versions in its own recipes ([S11][S14]). It names
// the helper image and both versions in the output.
func (s *Session) CheckHelperRelease(ctx context.Context, server neo4j.Release) (neo4j.Release, error) {
	v, err := s.AdminVersion(ctx)
	if err != nil {
		return neo4j.Release{}, err
	}
	helper := neo4j.ParseRelease(v)
	s.pw.Info(fmt.Sprintf("helper image %s runs neo4j-admin %s; the database runs Neo4j %s", s.Image(), orUnknown(v), server))
	if helper.Known && server.Known && helper.Less(server) {
		return helper, &EnvironmentError{Err: fmt.Errorf("helper image %s has neo4j-admin %s, older than the database's Neo4j %s: an older neo4j-admin cannot read what a newer server writes; use the database's own image or a neo4j:%s-enterprise image (--helper-image or NEO4J_BACKUP_DOCKER_IMAGE)", s.Image(), helper, server, server)}
	}
	return helper, nil
}

func orUnknown(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}
