package restore

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Plan is what a restore will do; --dry-run prints it.
type Plan struct {
	Folder            string             `json:"folder"`
	DatabaseContainer string             `json:"database_container"`
	Image             string             `json:"helper_image"`
	Databases         []DatabasePlan     `json:"databases"`
	Skipped           []string           `json:"skipped,omitempty"` // system
	Apps              []docker.Container `json:"-"`
	AppNames          []string           `json:"app_containers_to_stop"`
	SafetyDir         string             `json:"safety_dir,omitempty"` // "" without safety backup
	Until             *time.Time         `json:"until,omitempty"`
	// Method is "restore" (online, Enterprise) or "load" (offline, Community).
	Method string `json:"method,omitempty"`

	target      helper.Target
	credentials neo4j.Credentials
	// checkOnUpload: the chains and dumps are checked against the
	// manifest as the preflight uploads them, not by the plan.
	checkOnUpload bool
	// handedOver are the databases not hashed because the restore's
	// checks put their files into the helper the run takes (handoff).
	handedOver []DatabasePlan
}

// DatabasePlan is the chain restored into one database.
type DatabasePlan struct {
	Name       string   `json:"name"`
	Files      []string `json:"files"`    // the chain, full first
	Artifact   string   `json:"artifact"` // the newest file: neo4j-admin's --from-path
	Size       int64    `json:"size"`
	Unverified bool     `json:"unverified,omitempty"` // no manifest record: not checksummed
	// Sub is where the files go in the helper's work dir: "" for the work
	// dir itself, a directory of its own for an unverified database (see
	// resolveUnverified).
	Sub string `json:"-"`
	// FromFolder hands neo4j-admin restore the folder of the database's
	// artifacts rather than one file (2025.x [S4]), when their types could
	// not be told.
	FromFolder bool `json:"-"`
}

// FromPath is the --from-path of neo4j-admin restore, in the helper.
func (d DatabasePlan) FromPath() string {
	if d.FromFolder {
		return d.FromPathDir()
	}
	return path.Join(d.FromPathDir(), d.Artifact)
}

// SystemDatabase is never restored: its backup holds the security metadata
// that the restored databases replay through restore_metadata.cypher.
const SystemDatabase = "system"

// makePlan checks the folder, the database container, credentials and the
// image, and decides what to restore. It changes nothing.
func makePlan(ctx context.Context, eng Engine, folder *backupset.Folder, opts Options, pw progress.Writer) (*Plan, error) {
	p := &Plan{Folder: folder.Dir}
	if !opts.Until.IsZero() {
		p.Until = &opts.Until
	}
	if err := p.chooseChains(folder, opts); err != nil {
		return nil, err
	}
	// Streamed into the helper, a chain or a dump is checked while it is
	// uploaded (in the preflight, before anything stops): read once, not
	// twice. Otherwise it is checked now.
	p.checkOnUpload = checkOnUpload(folder, opts)
	if err := verifyChains(ctx, folder, p.toVerify(opts), pw); err != nil {
		return nil, err
	}

	target, err := deployment.FindTarget(ctx, eng, opts.Target)
	if err != nil {
		return nil, err
	}
	if target.Container == nil {
		return nil, &helper.EnvironmentError{Err: fmt.Errorf("restore needs the database container (its data volume): name it with --database-container or label it infrahub_role=database")}
	}
	c := *target.Container
	if _, ok := c.MountAt("/data"); !ok {
		return nil, &helper.EnvironmentError{Err: fmt.Errorf("database container %s keeps /data in no volume or bind mount: a restore cannot reach its data; mount a volume at /data", c.Name)}
	}
	p.target, p.DatabaseContainer = target, c.Name
	if p.credentials, _, err = deployment.FindCredentials(ctx, eng, c, opts.Credentials); err != nil {
		return nil, err
	}

	p.Image = helper.ChooseImage(opts.HelperImage, target)
	if err := helper.EnsureImage(ctx, eng, p.Image, opts.RegistryAuth, pw); err != nil {
		return nil, err
	}
	if opts.StopApps {
		if p.Apps, err = deployment.RunningApps(ctx, eng, c, withTransient(opts.AppServices)); err != nil {
			return nil, err
		}
		for _, a := range p.Apps {
			p.AppNames = append(p.AppNames, a.Name)
		}
	}
	if opts.SafetyBackup {
		p.SafetyDir = opts.SafetyDir
		if p.SafetyDir == "" {
			p.SafetyDir = folder.Path(backupset.SafetyDirName(time.Now()))
		}
	}
	return p, nil
}

// chooseChains picks the chain to restore for each database: the newest, or
// the newest that starts before --until.
func (p *Plan) chooseChains(folder *backupset.Folder, opts Options) error {
	cat, err := folder.Scan()
	if err != nil {
		return err
	}
	if cat.ManifestErr != nil {
		// A manifest that cannot be read is a precondition (exit 3), as for
		// backup, not a failed checksum.
		return fmt.Errorf("%w\nnothing was changed", cat.ManifestErr)
	}
	all := cat.Chains()
	for _, db := range opts.Databases {
		if _, ok := all[db]; !ok {
			return &helper.EnvironmentError{Err: fmt.Errorf("%s holds no backup of database %q (it has: %s)", folder.Dir, db, strings.Join(dbNames(all), ", "))}
		}
	}
	for _, db := range dbNames(all) {
		if len(opts.Databases) > 0 && !contains(opts.Databases, db) {
			continue
		}
		if db == SystemDatabase {
			p.Skipped = append(p.Skipped, db)
			continue
		}
		chain, err := backupset.ChooseChain(all[db], opts.Until)
		if err != nil {
			return chainRefused(db, err)
		}
		// Next to a manifest, a file it does not record was not written by
		// a backup of ours: never restore it unchecked (CheckChain).
		if p := backupset.CheckChain(chain, cat.HasManifest); p != nil {
			return &VerifyError{Problems: []string{p.String() + ": its checksum cannot be checked; move it out of the folder (or pass --until to restore an older chain)"}}
		}
		dp := DatabasePlan{Name: db, Files: backupset.Names(chain.Files), Artifact: chain.RestorePoint().Name, Size: chain.Size()}
		for _, f := range chain.Files {
			if f.Record == nil {
				dp.Unverified = true
			}
		}
		if dp.Unverified {
			// Without a manifest the types of the files are unknown, so
			// each is a chain of its own: take every file of the database
			// up to --until, and let backup inspect (in the preflight)
			// tell the chain.
			dp = unverifiedPlan(db, cat.Artifacts, opts.Until)
		}
		p.Databases = append(p.Databases, dp)
	}
	if len(p.Databases) == 0 {
		return &helper.EnvironmentError{Err: fmt.Errorf("%s holds no backup to restore (only the system database is never restored)", folder.Dir)}
	}
	return nil
}

// chainRefused is the preflight's refusal of the chain ChooseChain would not
// restore: verify's problem of it, word for word (backupset.Chain.Refusal),
// then the hint at an older chain; exit 5, nothing changed.
func chainRefused(db string, err error) error {
	var ce *backupset.ChainError
	if errors.As(err, &ce) {
		return &VerifyError{Problems: []string{ce.Problem.String() + ce.Hint}}
	}
	return &VerifyError{Problems: []string{fmt.Sprintf("database %s: %v", db, err)}}
}

// checkOnUpload says whether the files of a restore from folder are
// checked as they are uploaded into the helper rather than hashed first:
// with stream transfer, or a folder whose files are not on this machine's
// disk as the manifest records them.
func checkOnUpload(folder *backupset.Folder, opts Options) bool {
	return opts.Transfer == helper.TransferStream || folder.StreamOnly()
}

// toVerify are the databases whose files the plan hashes before the
// helper starts: none when they are checked on upload, none that the
// restore's checks already put into the helper the run takes (handoff).
func (p *Plan) toVerify(opts Options) []DatabasePlan {
	if p.checkOnUpload {
		return nil
	}
	var dbs []DatabasePlan
	for _, db := range p.Databases {
		if opts.handoff.has(db.Name, db.Files) {
			p.handedOver = append(p.handedOver, db)
			continue
		}
		dbs = append(dbs, db)
	}
	return dbs
}

// verifyChains re-hashes the chosen files against the manifest.
func verifyChains(ctx context.Context, folder *backupset.Folder, dbs []DatabasePlan, pw progress.Writer) error {
	m, err := folder.ReadManifest()
	if err != nil {
		return err
	}
	var want []string
	for _, db := range dbs {
		want = append(want, db.Files...)
	}
	sub := &backupset.Manifest{Version: m.Version}
	for _, name := range want {
		if rec, ok := m.Lookup(name); ok {
			sub.Files = append(sub.Files, rec)
		}
	}
	if len(sub.Files) == 0 {
		return nil
	}
	step := progress.Event{ID: "verify", Text: fmt.Sprintf("Verify checksums of %d file(s)", len(sub.Files))}
	return progress.RunStep(pw, step, func(s *progress.Step) error {
		report, err := folder.VerifyContext(ctx, sub, nil)
		if err != nil {
			return err
		}
		var problems []string
		for _, pr := range report.Problems {
			if contains(want, pr.File) { // files outside the chosen chains are not this run's business
				problems = append(problems, pr.String())
			}
		}
		if len(problems) > 0 {
			s.End(progress.Error, problems[0]) // the error's first line only says that it failed
			return &VerifyError{Problems: problems}
		}
		return nil
	})
}

// VerifyError is a backup folder that cannot be trusted for this restore.
type VerifyError struct{ Problems []string }

func (e *VerifyError) Error() string {
	return "the backup folder failed verification, nothing was changed:\n  " + strings.Join(e.Problems, "\n  ") +
		"\nrun 'docker infrahubdb verify' on the folder for a full report"
}

func dbNames(m map[string][]backupset.Chain) []string {
	var names []string
	for db := range m {
		names = append(names, db)
	}
	sort.Strings(names)
	return names
}
