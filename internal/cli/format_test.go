package cli

import (
	"testing"

	"gotest.tools/v3/assert"
)

// --format takes a Go template, as docker's commands do.
func TestFormatTemplate(t *testing.T) {
	folder := backupFolder(t)
	out, err := runRoot(t, "list", folder.Dir, "--format", `{{range .Databases}}{{.Name}} {{end}}`)
	assert.NilError(t, err)
	assert.Equal(t, out, "neo4j system \n")

	out, err = runRoot(t, "verify", folder.Dir, "--format", `{{.OK}} {{len .Checked}}`)
	assert.NilError(t, err)
	assert.Equal(t, out, "true 4\n")

	out, err = runRoot(t, "version", "--format", `{{.Version}}`)
	assert.NilError(t, err)
	assert.Assert(t, out != "" && out != "\n")
}

func TestFormatBadTemplateIsAUsageError(t *testing.T) {
	_, err := runRoot(t, "list", t.TempDir(), "--format", `{{.Nope`)
	assert.Equal(t, statusCode(t, err), ExitUsage)
	assert.ErrorContains(t, err, "--format")
}
