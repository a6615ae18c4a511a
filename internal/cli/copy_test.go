package cli

import (
	"bytes"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/offsite"
)

// TestPrintCopyResumed: the table says which files a resumed copy kept, and
// which interrupted copies it left for prune, and why.
func TestPrintCopyResumed(t *testing.T) {
	var buf bytes.Buffer
	err := printCopy("s3://b/p")(&buf, &offsite.CopyResult{Copied: []offsite.CopiedRun{{
		Source: "run-1", ID: "run-1-ab", Files: 3, Bytes: 3 << 20,
		Resumed: []string{"a", "b"}, ResumedBytes: 2 << 20,
		NotResumed: []offsite.NotResumed{{ID: "run-1-cd", Reason: "a differs; it is left for prune"}},
	}}})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(buf.String(),
		"copied run-1 → s3://b/p runs/run-1-ab (3 file(s), 3.0 MiB; resumed: 2 file(s), 2.0 MiB already there, checked)\n"+
			"  not resumed: interrupted copy runs/run-1-cd: a differs; it is left for prune\n"))
}
