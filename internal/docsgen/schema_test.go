package docsgen

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// The schema of docs/schema/progress-line.schema.json describes what
// --progress json really prints: every key of every kind of line is in it,
// every status is in its enum, and each line has the keys of one kind.
func TestProgressSchemaMatchesTheOutput(t *testing.T) {
	raw, err := os.ReadFile("../../docs/schema/progress-line.schema.json")
	assert.NilError(t, err)
	var schema struct {
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
		OneOf []struct {
			Required []string `json:"required"`
		} `json:"oneOf"`
	}
	assert.NilError(t, json.Unmarshal(raw, &schema))

	var buf bytes.Buffer
	pw, err := progress.New(progress.ModeJSON, &buf)
	assert.NilError(t, err)
	for _, s := range []progress.Status{progress.Working, progress.Done, progress.Warning, progress.Error, progress.Skipped} {
		id := "step-" + s.String()
		pw.Event(progress.Event{ID: id, ParentID: "parent", Text: "a step", Status: progress.Working, Current: 1, Total: 2})
		pw.Event(progress.Event{ID: id, Text: "a step", Detail: "why", Status: s})
	}
	pw.Log("step-done", "a line of neo4j-admin")
	pw.Info("took over a stale lock")
	pw.Close()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	lines = append(lines, progress.ErrorLine("boom", 3))

	for _, line := range lines {
		var m map[string]any
		assert.NilError(t, json.Unmarshal([]byte(line), &m), line)
		for k, v := range m {
			p, ok := schema.Properties[k]
			assert.Assert(t, ok, "key %q of %s is not in the schema", k, line)
			if len(p.Enum) > 0 {
				assert.Assert(t, slices.Contains(p.Enum, v.(string)), "%s: %v not in %v", k, v, p.Enum)
			}
		}
		kinds := 0
		for _, kind := range schema.OneOf {
			if !slices.ContainsFunc(kind.Required, func(k string) bool { _, ok := m[k]; return !ok }) {
				kinds++
			}
		}
		assert.Equal(t, kinds, 1, "%s matches %d kinds of line", line)
	}
}
