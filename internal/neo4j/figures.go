package neo4j

import (
	"context"
	"fmt"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// CountByLabel counts the nodes of db per label.
func (a *Admin) CountByLabel(ctx context.Context, db string) (map[string]int64, error) {
	db, err := Normalize(db)
	if err != nil {
		return nil, err
	}
	records, err := a.run(ctx, db, neo4j.AccessModeRead, "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS count", nil)
	if err != nil {
		return nil, fmt.Errorf("counting nodes per label in %s: %w", Quote(db), err)
	}
	out := map[string]int64{}
	for _, r := range records {
		count, ok := value(r, "count").(int64)
		if !ok {
			return nil, fmt.Errorf("counting nodes per label in %s: count is %T, want an integer", Quote(db), value(r, "count"))
		}
		out[str(r, "label")] = count
	}
	return out, nil
}

// Figures are the counts of a graph a backup records and a drill checks:
// "nodes:<db>" the nodes of db, "nodes:<db>:<label>" those of each label.
func Figures(db string, total int64, byLabel map[string]int64) map[string]int64 {
	f := map[string]int64{"nodes:" + db: total}
	for l, n := range byLabel {
		f["nodes:"+db+":"+l] = n
	}
	return f
}

// RootID is the uuid of Infrahub's Root node in db: the deployment's
// identity. found is false when db has no Root node (not Infrahub's graph).
func (a *Admin) RootID(ctx context.Context, db string) (id string, found bool, err error) {
	db, err = Normalize(db)
	if err != nil {
		return "", false, err
	}
	records, err := a.run(ctx, db, neo4j.AccessModeRead, "MATCH (n:Root) RETURN n.uuid AS uuid", nil)
	if err != nil {
		return "", false, fmt.Errorf("reading the Root node of %s: %w", Quote(db), err)
	}
	if len(records) == 0 {
		return "", false, nil
	}
	return str(records[0], "uuid"), true, nil
}

// BranchNames are the names of Infrahub's branches in db (its Branch
// nodes).
func (a *Admin) BranchNames(ctx context.Context, db string) ([]string, error) {
	db, err := Normalize(db)
	if err != nil {
		return nil, err
	}
	records, err := a.run(ctx, db, neo4j.AccessModeRead, "MATCH (n:Branch) RETURN n.name AS name", nil)
	if err != nil {
		return nil, fmt.Errorf("reading the branches of %s: %w", Quote(db), err)
	}
	var names []string
	for _, r := range records {
		names = append(names, str(r, "name"))
	}
	return names, nil
}

// MainBranchFigure is the figure a graph whose main branch was found has
// (1): a restore that lost it does not match.
func MainBranchFigure(db string) string { return "branch:" + db + ":main" }

// CountRelationshipsByType counts the relationships of db per type.
func (a *Admin) CountRelationshipsByType(ctx context.Context, db string) (map[string]int64, error) {
	db, err := Normalize(db)
	if err != nil {
		return nil, err
	}
	records, err := a.run(ctx, db, neo4j.AccessModeRead, "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS count", nil)
	if err != nil {
		return nil, fmt.Errorf("counting relationships per type in %s: %w", Quote(db), err)
	}
	out := map[string]int64{}
	for _, r := range records {
		count, ok := value(r, "count").(int64)
		if !ok {
			return nil, fmt.Errorf("counting relationships per type in %s: count is %T, want an integer", Quote(db), value(r, "count"))
		}
		out[str(r, "type")] = count
	}
	return out, nil
}

// RelationshipFigures are "relationships:<db>:<type>" counts.
func RelationshipFigures(db string, byType map[string]int64) map[string]int64 {
	f := map[string]int64{}
	for t, n := range byType {
		f["relationships:"+db+":"+t] = n
	}
	return f
}

// LastCommittedTxn is the id of the last transaction of db, as the
// lastCommittedTxn column of SHOW DATABASES reports it: "The ID of the last
// transaction received", available only while db is online or deallocating,
// NULL otherwise and for composite databases (Operations Manual, "Listing
// databases": https://neo4j.com/docs/operations-manual/5/database-administration/standard-databases/listing-databases/
// and /current/ for 2025.x; the column is shown only with YIELD). known is
// false when the column is absent or NULL, or when the rows of db (one per
// server of a cluster) disagree: then no transaction id can be told.
func (a *Admin) LastCommittedTxn(ctx context.Context, db string) (tx int64, known bool, err error) {
	db, err = Normalize(db)
	if err != nil {
		return 0, false, err
	}
	records, err := a.run(ctx, SystemDatabase, neo4j.AccessModeRead, "SHOW DATABASES YIELD *", nil)
	if err != nil {
		return 0, false, fmt.Errorf("SHOW DATABASES YIELD *: %w", err)
	}
	for _, r := range records {
		if !strings.EqualFold(str(r, "name"), db) {
			continue
		}
		v, ok := value(r, "lastCommittedTxn").(int64)
		if !ok || known && v != tx {
			return 0, false, nil
		}
		tx, known = v, true
	}
	return tx, known, nil
}
