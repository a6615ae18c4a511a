package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// expertAnnotation marks a flag that the help lists apart, under "Expert and
// legacy options": what a stock deployment never needs (the old tool's
// network flags, ports, transfer and helper tuning), as docker's own help
// keeps the everyday flags first.
const expertAnnotation = "infrahubdb.expert"

// expertFlags are the flags listed apart, per command; a flag not listed is
// an everyday one.
var expertFlags = map[string][]string{
	"backup":  {"database-url", "database-backup-port", "host-network", "transfer", "keep-helper-container", "no-aggregate", "include-metadata", "type", "full-every", "helper-image", "username", "password-stdin"},
	"restore": {"database-cypher-port", "bolt-address", "transfer", "keep-helper-container", "helper-image", "username", "password-stdin", "safety-dir"},
}

// groupedUsage is the docker CLI's usage template with the options in two
// groups.
const groupedUsage = `Usage:  {{.UseLine}}

{{with .Long}}{{.}}{{else}}{{.Short}}{{end}}
{{- if .HasExample}}

Examples:
{{ .Example }}
{{- end}}

Options:
{{infrahubdbFlags . false}}

Expert and legacy options:
{{infrahubdbFlags . true}}
`

func init() {
	cobra.AddTemplateFunc("infrahubdbFlags", func(cmd *cobra.Command, expert bool) string {
		fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			_, isExpert := f.Annotations[expertAnnotation]
			if !f.Hidden && isExpert == expert {
				fs.AddFlag(f)
			}
		})
		return strings.TrimRight(fs.FlagUsagesWrapped(100), "\n")
	})
}

// groupFlags gives the commands of expertFlags their grouped help.
func groupFlags(root *cobra.Command) {
	for _, c := range root.Commands() {
		names, ok := expertFlags[c.Name()]
		if !ok {
			continue
		}
		for _, name := range names {
			if c.Flags().Lookup(name) != nil {
				_ = c.Flags().SetAnnotation(name, expertAnnotation, []string{"true"})
			}
		}
		c.SetUsageTemplate(groupedUsage)
	}
}
