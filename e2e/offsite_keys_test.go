package e2e

// Off-site encryption with each kind of key the operator may hold (issue
// 19): an SSH key, a passphrase file and the passphrase in the environment,
// through the real plugin against the kit's S3 server. The folder is made
// with locationtest.FolderWithRuns (no database needed: copy only moves files).

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset/locationtest"
	"github.com/opsmill/docker-infrahubdb/internal/s3location/s3test"
)

func TestOffsiteKeys(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	folder, _ := locationtest.FolderWithRuns(t, time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	dir := folder.Dir
	keys := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		path := filepath.Join(keys, name)
		assert.NilError(t, os.WriteFile(path, []byte(content), mode))
		return path
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	assert.NilError(t, err)
	sp, err := ssh.NewPublicKey(pub)
	assert.NilError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	assert.NilError(t, err)
	sshPub := write("id_ed25519.pub", string(ssh.MarshalAuthorizedKey(sp)), 0o644)
	sshKey := write("id_ed25519", string(pem.EncodeToMemory(block)), 0o600)
	passFile := write("passphrase", "correct horse battery staple\n", 0o600)
	wrongPass := write("wrong", "not it\n", 0o600)

	for _, tc := range []struct {
		name   string
		up     []string // copy flags
		down   []string // copy back and verify flags
		env    []string
		refuse []string // flags that must not open it (exit 3)
	}{
		{name: "ssh key", up: []string{"--encrypt-to", sshPub}, down: []string{"--identity", sshKey}},
		{name: "passphrase file", up: []string{"--encrypt-with-passphrase", "--passphrase-file", passFile},
			down: []string{"--passphrase-file", passFile}, refuse: []string{"--passphrase-file", wrongPass}},
		{name: "passphrase in the environment", up: []string{"--encrypt-with-passphrase"}, down: nil,
			env: []string{"INFRAHUBDB_PASSPHRASE=from the environment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s3 := kit.NewS3Location(t, "keys")
			env := append(append(p.Env(), s3.Env...), tc.env...)
			run := func(args ...string) *icmd.Result {
				res := icmd.RunCmd(icmd.Cmd{Command: append([]string{"docker", "infrahubdb"}, args...), Env: env, Timeout: kit.PluginTimeout})
				for _, secret := range []string{s3test.SecretKey, "correct horse", "from the environment"} {
					assert.Check(t, !strings.Contains(res.Combined(), secret), "a secret shows in the output")
				}
				return res
			}
			run(append([]string{"copy", dir, s3.URL}, tc.up...)...).Assert(t, icmd.Success)
			res := run(append([]string{"verify", s3.URL}, tc.down...)...)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "decrypted plaintext checked"))
			if tc.refuse != nil {
				run(append([]string{"verify", s3.URL}, tc.refuse...)...).Assert(t, icmd.Expected{ExitCode: 3, Err: "passphrase opens none"})
			}
			// A second off-site copy, S3 to S3: the stored bytes as they
			// are, no key needed, still opened by the same keys.
			second := kit.NewS3Location(t, "second")
			run("copy", s3.URL, second.URL).Assert(t, icmd.Success)
			run(append([]string{"verify", second.URL}, tc.down...)...).Assert(t, icmd.Success)

			back := filepath.Join(t.TempDir(), "back")
			run(append([]string{"copy", s3.URL, back}, tc.down...)...).Assert(t, icmd.Success)
			for _, name := range []string{"neo4j-2026-12-01T03-00-00.dump", "storage-2026-12-01T03-00-00.tar"} {
				a, err := os.ReadFile(filepath.Join(dir, name))
				assert.NilError(t, err)
				b, err := os.ReadFile(filepath.Join(back, name))
				assert.NilError(t, err)
				assert.Check(t, string(a) == string(b), name)
			}
			run("verify", back).Assert(t, icmd.Success)
		})
	}
}
