package catalog

import (
	"context"
	"fmt"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
)

// ErrHasManifest is returned by verify --adopt on a folder that already has
// a manifest: adopting would hide changes that verify must report.
var ErrHasManifest = exitcode.New(exitcode.Usage, "the folder already has a manifest")

// adopt writes a manifest for a folder made by neo4j-admin or the old tool,
// after neo4j-admin backup inspect read every artifact: types and
// transaction ranges come from Neo4j, sizes and checksums from the files.
// Problems (nothing written) are findings; the error is a failure to run.
func adopt(ctx context.Context, s *helper.Session, folder *backupset.Folder, tool string) ([]string, []backupset.Problem, error) {
	cat, err := folder.Scan()
	if err != nil {
		return nil, nil, err
	}
	if cat.HasManifest {
		return nil, nil, fmt.Errorf("%w: %s; run verify without --adopt (move the manifest away first to rebuild it from the files)", ErrHasManifest, folder.Path(backupset.ManifestName))
	}
	if len(cat.Artifacts) == 0 {
		return nil, nil, fmt.Errorf("%s holds no backup file to adopt", folder.Dir)
	}
	names := backupset.Names(cat.Artifacts)
	infos, err := inspect(ctx, s, folder, names)
	if ae, ok := neo4jbackup.AdminFailed(err); ok {
		return nil, []backupset.Problem{{File: folder.Dir, Kind: ProblemUnreadable,
			Detail: "neo4j-admin backup inspect failed, no manifest was written: " + neo4jbackup.LastLine(ae.Output)}}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var problems []backupset.Problem
	m := &backupset.Manifest{Version: backupset.ManifestVersion, Tool: tool}
	for _, name := range names {
		info, ok := infos[name]
		if !ok {
			problems = append(problems, backupset.Problem{File: name, Kind: ProblemUnreadable, Detail: "neo4j-admin backup inspect does not list it as a backup"})
			continue
		}
		rec, err := folder.Describe(name)
		if err != nil {
			return nil, nil, err
		}
		rec.Type, rec.FromTx, rec.ToTx = info.Type(), info.LowestTx, info.HighestTx
		m.Upsert(rec)
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	if err := folder.WriteManifest(m); err != nil {
		return nil, nil, err
	}
	return names, nil, nil
}
