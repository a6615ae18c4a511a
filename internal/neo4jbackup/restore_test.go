package neo4jbackup_test

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
)

// The restore command restore and verify --drill both run.
func TestRestoreArgs(t *testing.T) {
	assert.Check(t, is.DeepEqual(neo4jbackup.RestoreArgs("/backups/neo4j-2026.backup", "neo4j", "/backups/.restore-tmp-neo4j", nil),
		[]string{"database", "restore", "--from-path=/backups/neo4j-2026.backup", "--overwrite-destination=true", "--temp-path=/backups/.restore-tmp-neo4j", "neo4j"}))
	until := time.Date(2026, 12, 6, 10, 0, 5, 0, time.FixedZone("CET", 3600))
	assert.Check(t, is.DeepEqual(neo4jbackup.RestoreArgs("/backups/x", "neo4j", "/tmp/t", &until),
		[]string{"database", "restore", "--from-path=/backups/x", "--overwrite-destination=true", "--restore-until=2026-12-06 09:00:05", "--temp-path=/tmp/t", "neo4j"}), "--restore-until in UTC")
	assert.Check(t, is.Equal(neo4jbackup.TempPath("neo4j"), "/backups/.restore-tmp-neo4j"))
	assert.Check(t, is.Equal(neo4jbackup.MetadataScript("my-db"), "/data/scripts/my-db/restore_metadata.cypher"))
	assert.Check(t, is.DeepEqual(neo4jbackup.PrepareCommands("/backups/drill/neo4j/a.backup", "/backups/.restore-tmp-neo4j", "7474:7474")[0],
		[]string{"chmod", "-R", "a+rX", "/backups/drill/neo4j"}), "the chain's folder readable by the store's owner")
}
