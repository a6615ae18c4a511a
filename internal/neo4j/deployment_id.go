package neo4j

import (
	"context"
	"fmt"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// ResetDeploymentID gives Infrahub's graph in db a new deployment identity:
// the uuid of its Root node, set as OpsMill's infrahub-backup sets it
// (`MATCH (n:Root) SET n.uuid = $new_uuid, n.updated_at = $updated_at`,
// --reset-deployment-id). It returns how many Root nodes it changed.
func (a *Admin) ResetDeploymentID(ctx context.Context, db, id, updatedAt string) (int64, error) {
	db, err := Normalize(db)
	if err != nil {
		return 0, err
	}
	records, err := a.run(ctx, db, neo4j.AccessModeWrite,
		"MATCH (n:Root) SET n.uuid = $new_uuid, n.updated_at = $updated_at RETURN count(n) AS count",
		map[string]any{"new_uuid": id, "updated_at": updatedAt})
	if err != nil {
		return 0, fmt.Errorf("setting a new deployment id in %s: %w", Quote(db), err)
	}
	if len(records) != 1 {
		return 0, fmt.Errorf("setting a new deployment id in %s: got %d rows, want 1", Quote(db), len(records))
	}
	count, ok := value(records[0], "count").(int64)
	if !ok {
		return 0, fmt.Errorf("setting a new deployment id in %s: count is %T, want an integer", Quote(db), value(records[0], "count"))
	}
	return count, nil
}
