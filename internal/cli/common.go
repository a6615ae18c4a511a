package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/version"
)

// outputOptions are the flags every workflow command shares.
type outputOptions struct {
	progress string // auto|tty|plain|json|quiet
	format   string // table|json
	quiet    bool   // the old tool's --quiet: progress quiet
}

func (o *outputOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.progress, "progress", "auto", `Progress output on stderr: "auto", "tty", "plain", "json" or "quiet"`)
	fs.StringVar(&o.format, "format", "table", `Result output on stdout: "table", "json", or a Go template ('{{.Folder}}'; see docs/output.md)`)
	fs.BoolVarP(&o.quiet, "quiet", "q", false, `Print no progress (same as --progress quiet)`)
}

func (o *outputOptions) validate() error {
	switch {
	case o.format == "table", o.format == "json":
	case isTemplate(o.format):
		if _, err := parseFormat(o.format); err != nil {
			return err
		}
	default:
		return usageError("unknown --format %q: use \"table\", \"json\" or a Go template such as '{{json .}}'", o.format)
	}
	switch o.progress {
	case "auto", "tty", "plain", "json", "quiet":
	default:
		return usageError("unknown --progress %q: use auto, tty, plain, json or quiet", o.progress)
	}
	return nil
}

// progressWriter opens the progress display on the docker CLI's stderr
// stream, which tells progress.New whether it is a terminal and how wide.
func (o *outputOptions) progressWriter(dockerCli command.Cli) (progress.Writer, error) {
	mode := o.progress
	if o.quiet {
		mode = "quiet"
	}
	return progress.New(mode, dockerCli.Err())
}

// openFolder is how list, verify and prune start: check the output flags,
// then the command's own, then open the existing backup folder dir and the
// progress display.
func (o *outputOptions) openFolder(dockerCli command.Cli, dir string, checks ...func() error) (*backupset.Folder, progress.Writer, error) {
	for _, check := range append([]func() error{o.validate}, checks...) {
		if err := check(); err != nil {
			return nil, nil, err
		}
	}
	folder, err := backupset.Open(dir)
	if err != nil {
		return nil, nil, withCode(ExitEnvironment, err)
	}
	pw, err := o.progressWriter(dockerCli)
	if err != nil {
		return nil, nil, err
	}
	return folder, pw, nil
}

// printResult prints a command's result on stdout: indented JSON with
// --format json, else what table writes.
func printResult[T any](out io.Writer, format string, res T, table func(io.Writer, T) error) error {
	if format != "table" {
		return printFormatted(out, format, res)
	}
	return table(out, res)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	emptyLists(v)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// engine connects to the daemon of the selected Docker context.
func engine(dockerCli command.Cli) *docker.Engine {
	return docker.New(dockerCli.Client())
}

// registryAuth returns the registry credentials of the Docker config for an image.
func registryAuth(dockerCli command.Cli) func(ref string) (string, error) {
	return func(ref string) (string, error) { return docker.RegistryAuth(dockerCli, ref) }
}

// helperImageDefault is --helper-image's default: NEO4J_BACKUP_DOCKER_IMAGE,
// as with the old tool.
func helperImageDefault() string { return os.Getenv("NEO4J_BACKUP_DOCKER_IMAGE") }

func toolName() string { return "docker-infrahubdb " + version.Version }

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// validateDatabaseNames checks --database values against Neo4j's rules.
func validateDatabaseNames(names []string) error {
	for _, n := range names {
		if n == "system" {
			continue
		}
		if err := neo4j.ValidateName(n); err != nil {
			return usageError("--database %q: %v", n, err)
		}
	}
	return nil
}

// validTransfer checks the --transfer flag every helper-using command has.
func validTransfer(v string) error {
	return oneOf("--transfer", v, helper.TransferAuto, helper.TransferBind, helper.TransferStream)
}
