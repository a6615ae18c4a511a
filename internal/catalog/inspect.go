package catalog

import (
	"context"
	"path"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
)

const inspectSub = "inspect"

// inspect seeds the named artifacts into the helper and reads their headers
// with neo4j-admin backup inspect (internal/neo4jbackup.Inspect).
func inspect(ctx context.Context, s *helper.Session, folder *backupset.Folder, names []string) (map[string]neo4jbackup.Info, error) {
	if err := s.Seed(ctx, folder, inspectSub, names); err != nil {
		return nil, err
	}
	return neo4jbackup.Inspect(ctx, s, path.Join(helper.WorkDir, inspectSub))
}
