package neo4jbackup

import (
	"path"
	"regexp"
	"strings"
)

// aggregateResult matches the line in which aggregate names its result
// (research NEO4J-OUTPUT.md §3.1, Neo4j's own Helm chart reads it) and the
// "nothing to aggregate" form claimed for 5.26 and 2026.x (§3.3).
var aggregateResult = regexp.MustCompile(`(?:aggregated backup chain of database '([^']+)', new artifact|No aggregation needed for database '([^']+)'\. Found existing full backup): '([^']+)'`)

// ParseAggregateOutput returns the file each database's aggregate wrote (or
// found already full), by base name, as neo4j-admin printed it. The name is
// undocumented ([S5]): it is taken from the output, never derived.
func ParseAggregateOutput(out string) map[string]string {
	res := map[string]string{}
	for _, m := range aggregateResult.FindAllStringSubmatch(out, -1) {
		db := m[1]
		if db == "" {
			db = m[2]
		}
		res[db] = path.Base(m[3])
	}
	return res
}

// FoundInconsistencies reports whether neo4j-admin database check printed
// its summary of problems: "Inconsistencies found" (the console message
// and the logged ConsistencySummaryStatistics, NEO4J-OUTPUT.md §4.2-4.4).
// Whether a report file exists is undocumented in detail (§7): the printed
// summary and the exit status decide.
func FoundInconsistencies(out string) bool {
	return strings.Contains(strings.ToLower(out), "inconsistencies found")
}

// NothingToAggregate reports the message with which aggregate declines a
// chain that needs no aggregation; Neo4j's own backup job accepts it with a
// non-zero exit (NEO4J-OUTPUT.md §3.1, its operations.go).
func NothingToAggregate(out string) bool {
	lower := strings.ToLower(out)
	return strings.Contains(lower, "no aggregation needed") || strings.Contains(lower, "no need to aggregate")
}
