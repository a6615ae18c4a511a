package docsgen

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gotest.tools/v3/assert"
)

const reference = "../../docs/reference"

// TestReferenceIsUpToDate fails when docs/reference differs from what the
// commands generate: a flag, a help text or a command changed without the
// reference being regenerated.
func TestReferenceIsUpToDate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "reference")
	assert.NilError(t, Generate(out))
	const fix = "docs/reference or docs/schema is out of date with the commands: run `make docs` and commit the result"
	for _, sub := range []string{".", ManDir, SchemaDir} {
		want, got := files(t, filepath.Join(out, sub)), files(t, filepath.Join(reference, sub))
		if sub == SchemaDir {
			got = slices.DeleteFunc(got, func(n string) bool { return n == "progress-line.schema.json" }) // hand-written, checked by its own test
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: files in %s: generated %v, committed %v", fix, filepath.Join("docs/reference", sub), want, got)
		}
		for _, name := range want {
			generated, err := os.ReadFile(filepath.Join(out, sub, name))
			assert.NilError(t, err)
			committed, err := os.ReadFile(filepath.Join(reference, sub, name))
			assert.NilError(t, err)
			if string(generated) != string(committed) {
				t.Errorf("%s: %s differs", fix, filepath.Join("docs/reference", sub, name))
			}
		}
	}
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}
