package guardian

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

func TestJudge(t *testing.T) {
	gone := func(owner string) bool { return owner == "here:1" }
	for _, tc := range []struct {
		name    string
		owner   string
		running bool
		want    verdict
	}{
		{"live owner, guardian running", "here:2", true, live},
		{"live owner, lock without a guardian", "here:2", false, live},
		{"dead owner, guardian still running: it is bringing the deployment back", "here:1", true, finishing},
		{"dead owner, lock without a guardian", "here:1", false, stale},
		{"owner on another host: never proven gone", "there:1", false, live},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := docker.Container{Running: tc.running, Labels: map[string]string{docker.LabelOwner: tc.owner}}
			assert.Check(t, is.Equal(judge(c, gone), tc.want))
		})
	}
}

func TestLockedErrorNamesTheHolder(t *testing.T) {
	c := docker.Container{Name: "/infrahubdb-guardian-abc", Running: true, Labels: map[string]string{
		docker.LabelOwner: "laptop:4242", docker.LabelCommand: "backup", docker.LabelStarted: "2026-12-06T10:00:00Z",
	}}
	msg := (&LockedError{Holder: holderOf(c)}).Error()
	for _, want := range []string{"another docker infrahubdb run holds this deployment: backup", "pid 4242 on laptop", "2026-12-06T10:00:00Z", "--wait", "infrahubdb-guardian-abc"} {
		assert.Check(t, is.Contains(msg, want))
	}
	c.Running = false
	assert.Check(t, strings.Contains((&LockedError{Holder: holderOf(c)}).Error(), "docker rm -f infrahubdb-guardian-abc"))
}

func TestSocketPath(t *testing.T) {
	p, why := socketPath("unix:///var/run/docker.sock", false)
	assert.Check(t, is.Equal(p, "/var/run/docker.sock"))
	assert.Check(t, is.Equal(why, ""))
	p, _ = socketPath("ssh://me@host", false)
	assert.Check(t, is.Equal(p, "/var/run/docker.sock"), "the daemon's default, proven by the guardian")
	p, why = socketPath("unix:///run/user/1000/docker.sock", true)
	assert.Check(t, is.Equal(p, ""))
	assert.Check(t, is.Contains(why, "rootless"))
}
