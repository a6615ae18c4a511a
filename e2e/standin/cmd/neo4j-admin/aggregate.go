package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

// aggregateCommand is `database aggregate-backup` and its newer name
// `backup aggregate` (2025.01+); in 2025+ the old name still works but is
// deprecated [S5b]. Both take ONE optional database (glob) [S5].
func aggregateCommand(cmdPath, since string) command {
	return command{
		path:       cmdPath,
		enterprise: true,
		since:      since,
		usage: "Usage: neo4j-admin " + cmdPath + ` [-h] [--expand-commands] [--verbose] [--keep-old-backup[=true|false]]
       [--parallel-recovery[=true|false]] [--additional-config=<file>] --from-path=<path>
       [--temp-path=<path>] [<database>]
Aggregates a chain of backup artifacts into a single artifact.
`,
		decl: []option{
			{name: "--from-path"}, {name: "--keep-old-backup", isBool: true, def: "false"},
			{name: "--verbose", isBool: true}, {name: "--temp-path"}, {name: "--additional-config"},
			{name: "--expand-commands", isBool: true}, {name: "--parallel-recovery", isBool: true},
		},
		run: func(e *env, o options) error {
			if cmdPath == "database aggregate-backup" && version.Calver(e.version) {
				// [S5b] 2025.01: the old name is deprecated.
				fmt.Fprintln(e.stderr, "WARNING: The command 'neo4j-admin database aggregate-backup' is deprecated and will be removed in a future version. Use 'neo4j-admin backup aggregate' instead.")
			}
			return runAggregate(e, o)
		},
	}
}

func runAggregate(e *env, o options) error {
	from := o.str("--from-path")
	if from == "" {
		return usageError("Missing required option: '--from-path=<path>'")
	}
	if len(o.args) > 1 {
		return usageError("Unmatched argument at index 1: '%s'", o.args[1])
	}
	st, err := os.Stat(from)
	if err != nil {
		return failed("Path '%s' does not exist.", from)
	}
	log := logger{e: e, source: "c.n.b.a.AggregateBackupCommand"}
	faults.Delay(e.dataDir(), "aggregate")
	if faults.Take(e.dataDir(), "aggregate") {
		return failed("Execution of aggregate failed. Aggregation of backup chain in %s failed (stand-in fault knob \"aggregate\").", from)
	}

	dir := from
	if !st.IsDir() {
		dir = filepath.Dir(from)
	}
	work, cleanup, err := workDir(dir, o.str("--temp-path"))
	if err != nil {
		return err
	}
	defer cleanup()
	infos, listErr := artifact.List(dir)
	chains, err := chainsToAggregate(infos, from, st.IsDir(), o.args)
	if err != nil {
		if listErr != nil {
			err = fmt.Errorf("%v (%v)", err, listErr)
		}
		return failed("Execution of aggregate failed. %v", err)
	}
	keep := o.on("--keep-old-backup")
	var errs []string
	for _, chain := range chains {
		if len(chain) == 1 && faults.Variant(e.dataDir(), "aggregate-nothing") == "fail" {
			// Variant "aggregate-nothing": a chain that is one full backup
			// (empty ones aside) is declined with a non-zero exit, which
			// Neo4j's own backup job accepts (NEO4J-OUTPUT.md §3.1).
			abs, _ := filepath.Abs(chain[0].Path)
			fmt.Fprintf(e.stdout, "No aggregation needed for database '%s'. Found existing full backup: '%s'.\n", chain[0].Database, abs)
			errs = append(errs, "no aggregation needed for database '"+chain[0].Database+"'")
			continue
		}
		if err := aggregateChain(e, log, work, infos, chain, keep); err != nil {
			log.error("Aggregation of the backup chain of database '%s' failed: %v", chain[0].Database, err)
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return failed("Execution of aggregate failed. %s", strings.Join(errs, "; "))
	}
	return nil
}

// chainsToAggregate picks the newest chain of every database matching the
// pattern (default "*") in a folder, or the chain ending at the given file.
func chainsToAggregate(infos []artifact.Info, from string, isDir bool, args []string) ([][]artifact.Info, error) {
	if !isDir {
		for _, in := range infos {
			if in.Path == filepath.Clean(from) {
				chain, err := artifact.ChainEndingAt(infos, in)
				return [][]artifact.Info{chain}, err
			}
		}
		return nil, fmt.Errorf("%s is not a backup artifact", from)
	}
	pattern := "*"
	if len(args) == 1 {
		pattern = args[0]
	}
	var chains [][]artifact.Info
	for _, db := range artifact.Databases(infos) {
		if ok, _ := path.Match(pattern, db); !ok {
			continue
		}
		chain, err := artifact.NewestChain(infos, db)
		if err != nil {
			return nil, err
		}
		chains = append(chains, chain)
	}
	if len(chains) == 0 {
		return nil, fmt.Errorf("no backup artifacts of a database matching '%s' in %s", pattern, from)
	}
	return chains, nil
}

// aggregateChain replaces a chain by one full, recovered artifact [S5b].
// UNDOCUMENTED naming [S5]. From 2025.09 the manual says aggregate
// generates "a new, recovered backup alongside the existing one"
// (docs-operations@main backup-restore/aggregate.adoc:236-242, research
// NEO4J-OUTPUT.md §3.2): the stand-in then writes a new file named with the
// time of aggregation. Before 2025.09 it writes the result in place, under
// the name of the chain's NEWEST artifact (an empty backup taken after the
// chain's last differential counts: it is the chain's newest artifact).
// The variant knob "aggregate" (e2e/standin/faults) chooses either, or a
// name that is no artifact name. Without --keep-old-backup the rest of the
// chain and the empty backups recorded after its full backup are removed;
// with it the result always gets a new name and nothing is removed. The
// result is printed as Neo4j's Helm chart reads it (NEO4J-OUTPUT.md §3.1),
// unless the variant "aggregate-output" is "silent". A plugin must not
// assume any name.
func aggregateChain(e *env, log logger, work string, infos []artifact.Info, chain []artifact.Info, keep bool) error {
	start := e.now()
	db := chain[0].Database
	names := make([]string, len(chain))
	for i, in := range chain {
		names[i] = filepath.Base(in.Path)
	}
	log.info("Aggregating backup chain of database '%s': [%s]", db, strings.Join(names, ", "))
	h, txs, err := artifact.AggregateRaw(chain)
	if err != nil {
		return err
	}
	if err := stage(work, txs); err != nil {
		return err
	}
	h.Recovered = true // [S5b] aggregate performs recovery
	last := chain[len(chain)-1]
	for _, in := range infos {
		if in.Empty() && in.Database == db && in.StoreID == chain[0].StoreID && in.BackupTime.After(last.BackupTime) {
			last = in
		}
	}
	naming := faults.Variant(e.dataDir(), "aggregate")
	if naming == "" {
		naming = "in-place"
		if version.AtLeast(e.version, "2025.09") {
			naming = "new-name"
		}
	}
	dest := last.Path
	switch {
	case naming == "unparsable":
		dest = filepath.Join(filepath.Dir(last.Path), db+".aggregated.backup")
	case keep || naming == "new-name":
		dest = artifact.NewPath(filepath.Dir(last.Path), db, start)
	}
	if _, err := artifact.WriteRawFile(dest, h, txs, false); err != nil {
		return err
	}
	if !keep {
		for _, in := range infos {
			replaced := in.Database == db && in.StoreID == chain[0].StoreID && !in.BackupTime.Before(chain[0].BackupTime) &&
				(in.Empty() || inChain(chain, in.Path))
			if replaced && in.Path != dest {
				if err := os.Remove(in.Path); err != nil {
					return err
				}
			}
		}
	}
	log.info("Finished artifact creation '%s' for database '%s', took %dms.", filepath.Base(dest), db, e.now().Sub(start).Milliseconds())
	if faults.Variant(e.dataDir(), "aggregate-output") != "silent" {
		abs, _ := filepath.Abs(dest)
		fmt.Fprintf(e.stdout, "Successfully aggregated backup chain of database '%s', new artifact: '%s'.\n", db, abs)
	}
	return nil
}

func inChain(chain []artifact.Info, p string) bool {
	for _, in := range chain {
		if in.Path == p {
			return true
		}
	}
	return false
}
