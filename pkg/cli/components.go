package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opsmill/docker-infrahubdb/pkg/backup"
	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
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
}
