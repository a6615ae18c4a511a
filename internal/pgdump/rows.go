package pgdump

import (
	"context"
	"strconv"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// rowCountQuery counts the rows of every table of the public schema in one
// statement, "table=count" per line (query_to_xml runs a count per table).
const rowCountQuery = `SELECT table_name || '=' || (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`

// CountRows counts the rows of every table of the database, as figures
// keyed "rows:<table>": what a backup records where its capture is
// consistent and a drill checks its restore against.
func CountRows(ctx context.Context, ex Exec, s Source) (map[string]int64, error) {
	var out, stderr limited
	code, err := ex.ExecIn(ctx, s.Container.ID, docker.ExecSpec{
		Cmd:    []string{"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--no-password", "--username=" + s.User, "--dbname=" + s.Database, "-c", rowCountQuery},
		Env:    s.env(sessionTag("count")),
		User:   execUser,
		Stdout: &out,
		Stderr: &stderr,
	})
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, s.commandError("psql", code, stderr.String())
	}
	return parseRowCounts(out.String()), nil
}

func parseRowCounts(out string) map[string]int64 {
	m := map[string]int64{}
	for _, line := range strings.Split(out, "\n") {
		name, n, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		if v, err := strconv.ParseInt(n, 10, 64); err == nil {
			m["rows:"+name] = v
		}
	}
	return m
}
