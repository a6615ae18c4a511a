package cli

import (
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// A flag error under --progress json is a JSON line whichever side of the
// bad flag --progress stands.
func TestFlagErrorIsJSONWhateverTheOrder(t *testing.T) {
	for _, args := range [][]string{
		{"list", "--progress", "json", "--bogus", "x"},
		{"list", "--bogus", "--progress", "json", "x"},
		{"list", "--bogus", "--progress=json", "x"},
	} {
		old := os.Args
		os.Args = append([]string{"docker-infrahubdb"}, args...)
		_, err := runRoot(t, args...)
		os.Args = old
		assert.Equal(t, statusCode(t, err), ExitUsage)
		assert.Assert(t, strings.HasPrefix(err.Error(), `{"time":`), "%v: %s", args, err)
	}
}

func TestFlagErrorIsJSONUnderInfrahubdbProgress(t *testing.T) {
	t.Setenv("INFRAHUBDB_PROGRESS", "json")
	args := []string{"list", "--bogus", "x"}
	old := os.Args
	os.Args = append([]string{"docker-infrahubdb"}, args...)
	defer func() { os.Args = old }()
	_, err := runRoot(t, args...)
	assert.Equal(t, statusCode(t, err), ExitUsage)
	assert.Assert(t, strings.HasPrefix(err.Error(), `{"time":`), "%s", err)
}
