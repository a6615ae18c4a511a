package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// fakeDaemon serves HTTP on a unix socket, as the daemon does.
func fakeDaemon(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gd") // short: a socket path is at most 108 bytes
	assert.NilError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", sock)
	assert.NilError(t, err)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return sock
}

func TestPutArchiveStreamsTheTarIntoTheContainer(t *testing.T) {
	var method, path, query, ctype, body string
	sock := fakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		method, path, query, ctype, body = r.Method, r.URL.Path, r.URL.Query().Get("path"), r.Header.Get("Content-Type"), string(b)
	})
	err := newDockerAPI(sock).putArchive(context.Background(), "helper 1", "/", strings.NewReader("tar bytes"))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(method, http.MethodPut))
	assert.Check(t, is.Equal(path, "/containers/helper 1/archive"))
	assert.Check(t, is.Equal(query, "/"))
	assert.Check(t, is.Equal(ctype, "application/x-tar"))
	assert.Check(t, is.Equal(body, "tar bytes"))
}

func TestPutArchiveReportsTheDaemonsError(t *testing.T) {
	sock := fakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, `{"message":"no space left on device"}`, http.StatusInternalServerError)
	})
	err := newDockerAPI(sock).putArchive(context.Background(), "h", "/", strings.NewReader("x"))
	assert.ErrorContains(t, err, "no space left on device")
	assert.ErrorContains(t, err, "PUT /containers/h/archive")
}
