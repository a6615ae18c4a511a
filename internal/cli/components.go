package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

const componentFlagUsage = `Component to include (repeatable): "graph" (Neo4j), "task-manager" (the PostgreSQL of task-manager-db), "storage" (infrahub-server's object storage volume); default: every one found`

func validComponents(list []string) error {
	if err := backupset.CheckComponents(list); err != nil {
		return usageError("--component: %v", err)
	}
	return nil
}

// printRun prints the components of a backup run after the graph's table.
func printRun(out io.Writer, set *backup.SetResult) {
	if len(set.Files) > 0 {
		fmt.Fprintln(out)
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "FILE\tCOMPONENT\tSIZE\tSHA-256")
		for _, f := range set.Files {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", f.Name, f.Component, humanSize(f.Size), f.SHA256[:12])
		}
		w.Flush()
	}
	fmt.Fprintf(out, "Run %s: %s in %s.\n", set.RunID, strings.Join(set.Components, ", "), set.Duration.Round(100*time.Millisecond))
	for _, s := range set.Skipped {
		fmt.Fprintf(out, "Skipped %s: %s.\n", s.Component, s.Reason)
	}
	if set.Consistent {
		fmt.Fprintf(out, "Consistent: the application containers were stopped for the capture; downtime %s.\n", set.Downtime.Round(100*time.Millisecond))
		if len(set.AppsRestarted) > 0 {
			fmt.Fprintf(out, "App containers restarted: %s\n", strings.Join(set.AppsRestarted, ", "))
		}
	}
}

// confirmConsistent asks once on the terminal before backup --consistent
// stops the application containers.
func confirmConsistent(ctx context.Context, dockerCli command.Cli, p *backup.DumpPlan) (bool, error) {
	out := dockerCli.Err()
	fmt.Fprintf(out, "\n--consistent STOPS these application containers while graph, task manager and storage are captured:\n  %s\n", orNone(p.Apps))
	fmt.Fprintf(out, "The database container %s stays online. They are started again afterwards, also on errors and Ctrl-C.\n", p.DatabaseContainer)
	return askContinue(ctx, dockerCli)
}

func graphResult(set *restore.SetResult) *restore.Result {
	if set == nil {
		return nil
	}
	return set.Graph
}

// printSet prints what a whole-deployment restore did.
func printSet(out io.Writer, set *restore.SetResult) {
	p := set.Plan
	if p == nil {
		return
	}
	if p.RunID == "" {
		printUnchangedAndNotes(out, p)
		return
	}
	fmt.Fprintf(out, "Run %s (%s): %s.\n", p.RunID, p.RunStarted.Format(time.RFC3339), strings.Join(p.Components, ", "))
	if len(set.Restored) > 0 {
		fmt.Fprintf(out, "Restored: %s.\n", strings.Join(set.Restored, ", "))
	}
	if len(set.AppsRestarted) > 0 {
		fmt.Fprintf(out, "App containers restarted: %s\n", strings.Join(set.AppsRestarted, ", "))
	}
	printUnchangedAndNotes(out, p)
}

// printUnchangedAndNotes says what a restore left as it is, and what the
// operator must do next.
func printUnchangedAndNotes(out io.Writer, p *restore.SetPlan) {
	if len(p.Unchanged) > 0 {
		fmt.Fprintf(out, "Left as it is (not restored): %s.\n", strings.Join(p.Unchanged, ", "))
	}
	for _, n := range p.Notes {
		fmt.Fprintf(out, "NOTE: %s\n", n)
	}
}

// confirmSet asks once on the terminal, showing which components of which
// run replace the deployment's.
func confirmSet(ctx context.Context, dockerCli command.Cli, p *restore.SetPlan) (bool, error) {
	out := dockerCli.Err()
	fmt.Fprintf(out, "\nThis will REPLACE the deployment's %s with backup run %s (%s):\n", strings.Join(p.Components, ", "), p.RunID, p.RunStarted.Format(time.RFC3339))
	if p.TaskManager != nil && slices.Contains(p.Components, backupset.ComponentTaskManager) {
		fmt.Fprintf(out, "  task-manager <- %s (%s)\n", p.TaskManager.Name, humanSize(p.TaskManager.Size))
	}
	if p.Storage != nil && slices.Contains(p.Components, backupset.ComponentStorage) {
		fmt.Fprintf(out, "  storage      <- %s (%s): files added since the backup are removed\n", p.Storage.Name, humanSize(p.Storage.Size))
	}
	if slices.Contains(p.Components, backupset.ComponentGraph) {
		fmt.Fprintf(out, "  graph        <- %s\n", strings.Join(p.Graph, " + "))
	}
	if len(p.Apps) > 0 {
		fmt.Fprintf(out, "Application containers stopped meanwhile: %s\n", strings.Join(p.Apps, ", "))
	}
	if len(p.Unchanged) > 0 {
		fmt.Fprintf(out, "NOT restored, left as it is now: %s.\n", strings.Join(p.Unchanged, ", "))
	}
	if p.SafetyDir != "" {
		fmt.Fprintf(out, "A safety copy of each component goes to %s.\n", p.SafetyDir)
	} else {
		fmt.Fprintln(out, "No safety copies will be taken (--no-safety-backup): a failure cannot be rolled back.")
	}
	return askContinue(ctx, dockerCli)
}

// printRuns prints the backup runs of a listing.
func printRuns(out io.Writer, l *catalog.Listing) {
	if len(l.Runs) == 0 {
		return
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "RUN\tSTARTED\tCOMPONENTS\tINFRAHUB\tNEO4J\tSIZE\tSTATE")
	for _, r := range l.Runs {
		state := "complete"
		if r.Problem != "" {
			state = "not restorable: " + r.Problem
		} else if r.Newest {
			state += " (restore default)"
		}
		if d := r.LastDrill; d != nil {
			state += fmt.Sprintf("; last drill %s: %s", d.Started.Format(time.RFC3339), d.Verdict)
		}
		comps := strings.Join(r.Components, ",")
		for _, s := range r.Skipped {
			comps += fmt.Sprintf(" (no %s)", s.Component)
		}
		neo4j := strings.TrimSpace(r.Neo4jVersion + " " + r.Neo4jEdition)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.Format(time.RFC3339), comps, orDash(r.InfrahubVersion), orDash(neo4j), humanSize(r.Size), state)
	}
	w.Flush()
	for _, r := range l.Runs {
		var names []string
		for _, f := range r.Files {
			names = append(names, f.Name)
		}
		fmt.Fprintf(out, "%s files: %s\n", r.ID, orNone(names))
	}
	for _, r := range l.Runs {
		for _, s := range r.Skipped {
			fmt.Fprintf(out, "%s skipped %s: %s\n", r.ID, s.Component, s.Reason)
		}
	}
}
