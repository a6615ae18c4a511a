package helpertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// Engine.Admin takes over neo4j-admin (after Faults) and may use the
// helper's file accessors; other commands stay with the built-in fake.
func TestAdminHook(t *testing.T) {
	ctx := context.Background()
	e := New()
	e.Admin = func(h *Helper, args []string, stdout io.Writer) int {
		data, err := h.FileData("/backups/in")
		if err != nil {
			return 1
		}
		if err := h.WriteFile("/backups/out", bytes.ToUpper(data)); err != nil {
			return 1
		}
		if err := h.RemoveFile("/backups/in"); err != nil {
			return 1
		}
		fmt.Fprintln(stdout, strings.Join(args, " "))
		return 0
	}
	hh, err := e.StartHelper(ctx, docker.HelperSpec{Name: "admin", Image: "img"})
	assert.NilError(t, err)
	h := hh.(*Helper)
	code, err := h.Exec(ctx, docker.ExecSpec{Cmd: []string{"mkdir", "-p", "/backups"}})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(code, 0))
	assert.NilError(t, h.WriteFile("/backups/in", []byte("data")))

	var out bytes.Buffer
	code, err = h.Exec(ctx, docker.ExecSpec{Cmd: []string{"neo4j-admin", "database", "check", "neo4j"}, Stdout: &out})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(code, 0))
	assert.Check(t, is.Equal(out.String(), "database check neo4j\n"))
	assert.Check(t, is.DeepEqual(h.Files("/backups"), []string{"out"}))
	data, err := h.FileData("/backups/out")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(data), "DATA"))

	e.Faults["version"] = &Fault{Code: 3, Stderr: "refused"}
	code, err = h.Exec(ctx, docker.ExecSpec{Cmd: []string{"neo4j-admin", "--version"}})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(code, 3), "faults apply before the hook")
}
