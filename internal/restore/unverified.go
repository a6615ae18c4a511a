package restore

import (
	"context"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
)

// unverifiedPlan takes every artifact of db (up to until) from a folder
// without a manifest, in a work sub-directory of its own, so that neo4j-admin
// finds the whole chain beside the file it restores.
func unverifiedPlan(db string, all []backupset.Artifact, until time.Time) DatabasePlan {
	dp := DatabasePlan{Name: db, Unverified: true, Sub: "unverified-" + db}
	for _, a := range all { // sorted by database and time
		if a.Database != db {
			continue
		}
		dp.Files = append(dp.Files, a.Name)
		dp.Artifact = a.Name
		dp.Size += a.Size
		if !until.IsZero() && !a.Time.Before(until) {
			break // this file holds the transactions up to --until
		}
	}
	return dp
}

// resolveUnverified reads the headers of a database's unverified artifacts
// with neo4j-admin backup inspect, before anything is stopped: a file that
// is not a backup of that database, or a chain that does not hold together,
// stops the restore here (exit 5, nothing changed) instead of after STOP
// DATABASE. When inspect tells the types, the restore point is the newest
// file with data of a complete chain; when it cannot (a release without
// backup inspect, 5.24 and older [S6], or without metadata), neo4j-admin is
// handed every artifact of the database and finds the chain itself.
func (r *runner) resolveUnverified(ctx context.Context, db *DatabasePlan) error {
	release, version, err := neo4jbackup.AdminRelease(ctx, r.session)
	if err != nil {
		return err
	}
	if !release.AtLeast(5, 25) {
		r.pw.Info(fmt.Sprintf("neo4j-admin %s has no backup inspect (Neo4j 5.25 and later): the %d file(s) of %s without a manifest record cannot be read before the restore; neo4j-admin restore will judge them, and a failure then rolls back to the safety backup", version, len(db.Files), db.Name))
		db.FromFolder = release.Calendar()
		return nil
	}
	info, ierr := neo4jbackup.Inspect(ctx, r.session, db.FromPathDir())
	if ierr != nil && ctx.Err() != nil {
		return ierr
	}
	var problems []string
	artifacts := make([]backupset.Artifact, 0, len(db.Files))
	typed := true
	for _, name := range db.Files {
		i, ok := info[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: not a Neo4j backup artifact (neo4j-admin backup inspect cannot read it); move it out of the folder", name))
			continue
		case i.OtherDatabase(name, db.Name) != "":
			problems = append(problems, name+": "+i.OtherDatabase(name, db.Name))
			continue
		}
		a := backupset.Artifact{Name: name, Database: db.Name}
		a.Time = artifactTime(name)
		if i.Full == nil {
			typed = false
		} else {
			a.Record = &backupset.FileRecord{Name: name, Database: db.Name, Type: i.Type(), FromTx: i.LowestTx, ToTx: i.HighestTx, Empty: i.Empty()}
		}
		artifacts = append(artifacts, a)
	}
	if len(problems) > 0 {
		if ierr != nil {
			problems = append(problems, "neo4j-admin backup inspect: "+firstLine(ierr.Error()))
		}
		return &VerifyError{Problems: problems}
	}
	if !typed {
		r.pw.Info(fmt.Sprintf("neo4j-admin backup inspect does not tell the types of the backups of %s: neo4j-admin restore is handed all %d of them to find the chain", db.Name, len(db.Files)))
		db.FromFolder = release.Calendar()
		return nil
	}
	chain, err := backupset.ChooseChain(backupset.Chains(artifacts)[db.Name], untilOf(r.plan))
	if err != nil {
		return chainRefused(db.Name, err)
	}
	db.Artifact = chain.RestorePoint().Name
	if !slices.Equal(backupset.Names(chain.Files), db.Files) {
		r.pw.Info(fmt.Sprintf("the headers of the backups of %s make the chain %v; %s is restored", db.Name, backupset.Names(chain.Files), db.Artifact))
	}
	return nil
}

// FromPathDir is the work sub-directory that holds the database's files.
func (d DatabasePlan) FromPathDir() string { return path.Join(helper.WorkDir, d.Sub) }

func artifactTime(name string) time.Time {
	_, t, _ := backupset.ParseArtifactName(name)
	return t
}

func untilOf(p *Plan) time.Time {
	if p.Until == nil {
		return time.Time{}
	}
	return *p.Until
}
