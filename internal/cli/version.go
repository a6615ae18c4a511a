package cli

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/version"
)

type versionOptions struct {
	format string
}

// versionInfo is the `version --format json` document.
type versionInfo struct {
	Version            string `json:"version"`
	Commit             string `json:"commit"`
	GoVersion          string `json:"go_version"`
	OS                 string `json:"os"`
	Arch               string `json:"arch"`
	DefaultHelperImage string `json:"default_helper_image"`
}

func newVersionCommand(dockerCli command.Cli) *cobra.Command {
	opts := versionOptions{}
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the plugin version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(dockerCli, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "table", `Output format: "table", "json", or a Go template ('{{.Version}}')`)
	return cmd
}

func runVersion(dockerCli command.Cli, opts versionOptions) error {
	info := versionInfo{
		Version:            version.Version,
		Commit:             version.Commit,
		GoVersion:          runtime.Version(),
		OS:                 runtime.GOOS,
		Arch:               runtime.GOARCH,
		DefaultHelperImage: version.DefaultHelperImage,
	}
	out := dockerCli.Out()
	switch opts.format {
	case "json":
		enc := json.NewEncoder(out)
		return enc.Encode(info)
	case "table", "":
		_, err := fmt.Fprintf(out, "docker-infrahubdb %s (commit %s, %s, %s/%s)\ndefault helper image: %s\n",
			info.Version, info.Commit, info.GoVersion, info.OS, info.Arch, info.DefaultHelperImage)
		return err
	default:
		if isTemplate(opts.format) {
			return printFormatted(out, opts.format, info)
		}
		return usageError("unknown --format %q: use \"table\", \"json\" or a Go template such as '{{.Version}}'", opts.format)
	}
}
