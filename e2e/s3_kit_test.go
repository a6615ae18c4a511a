package e2e

import (
	"errors"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
)

// TestKitS3Location: the kit's S3 server takes a create-only write through
// the environment an operator would set, refuses a second one, and a flipped
// byte on its disk shows in what is read back (the corruption tests rely on
// it).
func TestKitS3Location(t *testing.T) {
	loc := kit.NewS3Location(t, "kit")
	for _, kv := range loc.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	l, err := s3location.Open(t.Context(), loc.URL, s3location.Options{})
	assert.NilError(t, err)
	rec, err := backupset.WriteObject(t.Context(), l, "runs/r/x", []byte("hello"))
	assert.NilError(t, err)
	_, err = backupset.WriteObject(t.Context(), l, "runs/r/x", []byte("again"))
	assert.Assert(t, errors.Is(err, backupset.ErrObjectExists), "%v", err)

	_, err = os.Stat(loc.ObjectPath("runs/r/x"))
	assert.NilError(t, err)
	loc.FlipByte(t, "runs/r/x", 0)
	data, err := backupset.ReadObject(t.Context(), l, "runs/r/x", 100)
	assert.NilError(t, err)
	assert.Equal(t, len(data), int(rec.Size))
	assert.Assert(t, string(data) != "hello")
}
