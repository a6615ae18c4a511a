package neo4jbackup

import (
	"context"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
)

// AggregateArgs is the aggregate command of release r for one database (a
// name or a pattern) in dir, and its display text. Calendar releases
// (2025.01 on) renamed `database aggregate-backup` to `backup aggregate`
// and deprecated the old name ([S5b]).
func AggregateArgs(r neo4j.Release, dir, db string, extra ...string) (args []string, text string) {
	cmd := []string{"database", "aggregate-backup"}
	if r.Calendar() {
		cmd = []string{"backup", "aggregate"}
	}
	args = append(append(cmd, "--from-path="+dir), extra...)
	return append(args, db), "neo4j-admin " + strings.Join(cmd, " ")
}

// AdminRelease asks the helper's neo4j-admin for its version.
func AdminRelease(ctx context.Context, s *helper.Session) (neo4j.Release, string, error) {
	v, err := adminVersion(ctx, s)
	if err != nil {
		return neo4j.Release{}, "", err
	}
	return neo4j.ParseRelease(v), v, nil
}
