// Package version holds the build-time identity of the plugin.
package version

// Stamped by the Makefile with -ldflags -X.
var (
	Version = "dev"
	Commit  = "unknown"
)

// DefaultHelperImage is the Neo4j Enterprise image used for helper containers
// when neither --helper-image, NEO4J_BACKUP_DOCKER_IMAGE nor the database
// container's own enterprise image applies: the release Infrahub ships
// (opsmill/infrahub docker-compose.yml, Infrahub 1.9), so that it is never
// older than the database of a current deployment.
const DefaultHelperImage = "neo4j:2025.10.1-enterprise"
