package e2e

// A backup folder never leads the plugin out of itself: a symbolic link
// named like a backup artifact, pointing at a file elsewhere on the client,
// is refused by name before anything is uploaded to the (possibly remote)
// Docker host.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestRestoreRefusesALinkNamedLikeABackup(t *testing.T) {
	t.Parallel()
	p, db, dir := backedUpThenChanged(t, kit.Options{})
	app := kit.StartApp(t, db, "infrahub-server", true)
	before := snapshot(t, db, app)

	// The newest "backup" of neo4j is a link to a private file of the
	// client: restored (or merely inspected) it would be uploaded.
	secret := filepath.Join(t.TempDir(), "id_ed25519")
	assert.NilError(t, os.WriteFile(secret, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"), 0o600))
	link := filepath.Join(dir, "neo4j-2030-01-01T00-00-00.backup")
	assert.NilError(t, os.Symlink(secret, link))

	res := icmd.RunCmd(restoreCmd(p, db, nil, dir, "--transfer", "stream", "--progress", "json"))
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "refusing " + link + ": it is a symbolic link, not a regular file"})
	assert.Check(t, is.Contains(res.Stderr(), "move it out of the folder"))
	// Refused before any helper started: nothing was uploaded.
	assert.Check(t, !strings.Contains(res.Stderr(), "Start helper container"), res.Stderr())
	assert.Check(t, !strings.Contains(res.Stderr(), "Upload"), res.Stderr())

	before.assertUnchanged(t, dir)
	_, err := os.Lstat(link)
	assert.Check(t, err, "the link is left for the operator")
}
