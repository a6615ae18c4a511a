package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"gotest.tools/v3/assert"
)

// A ping the engine answered with an error status is an answer; no
// connection, or none in time, is silence.
func TestPingSilence(t *testing.T) {
	assert.Check(t, silence(nil) == nil)
	api, err := client.New(client.WithHost("unix://" + filepath.Join(t.TempDir(), "no-engine.sock")))
	assert.NilError(t, err)
	_, err = api.Ping(context.Background(), client.PingOptions{})
	assert.Check(t, silence(err) != nil, "no connection: %v", err)
	assert.Check(t, silence(fmt.Errorf("ping: %w", context.DeadlineExceeded)) != nil)
	assert.Check(t, silence(context.Canceled) != nil)
	assert.Check(t, silence(fmt.Errorf("daemon: %w", cerrdefs.ErrInternal)) == nil)
	assert.Check(t, silence(errors.New("Error response from daemon: 503 Service Unavailable")) == nil)
}
