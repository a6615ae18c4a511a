// Package docsgen writes the command reference of docs/reference (Markdown)
// and docs/reference/man (man pages) from the cobra commands, with
// github.com/docker/cli-docs-tool, as docker compose and buildx do. The
// reference is generated, never edited by hand: `make docs` rewrites it, and
// the package's test fails when it differs from the commands.
package docsgen

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	clidocstool "github.com/docker/cli-docs-tool"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/opsmill/docker-infrahubdb/internal/cli"
)

// ManDir is where the man pages go, under the Markdown reference directory.
const ManDir = "man"

// manDate is the date in every man page's header: fixed, so that the pages
// change only when the commands do.
var manDate = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// Generate writes the Markdown reference into dir and the man pages into
// dir/man. Every page is generated whole: its title and usage line, the
// text and options cli-docs-tool writes between its markers, then the
// command's examples.
func Generate(dir string) error {
	// The reference shows defaults that do not depend on who generates it:
	// flags whose default comes from the environment read it at build time.
	for _, name := range EnvDefaults {
		os.Unsetenv(name)
	}
	log.SetOutput(io.Discard) // cli-docs-tool logs every page it writes
	defer log.SetOutput(os.Stderr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Each generator gets a command tree of its own: the Markdown one adds
	// the inherited flags to every command's own.
	mdTree := root()
	if err := writeSkeletons(mdTree, dir); err != nil {
		return err
	}
	md, err := clidocstool.New(clidocstool.Options{Root: mdTree, SourceDir: dir, Plugin: true})
	if err != nil {
		return err
	}
	if err := md.GenMarkdownTree(mdTree); err != nil {
		return err
	}
	manTree := root()
	man, err := clidocstool.New(clidocstool.Options{
		Root: manTree, SourceDir: filepath.Join(dir, ManDir), Plugin: true,
		ManHeader: &doc.GenManHeader{Title: "DOCKER", Section: "1", Source: "docker-infrahubdb", Manual: "Docker infrahubdb", Date: &manDate},
	})
	if err != nil {
		return err
	}
	if err := man.GenManTree(manTree); err != nil {
		return err
	}
	return GenerateSchemas(filepath.Join(dir, SchemaDir))
}

// writeSkeletons writes each command's page around cli-docs-tool's markers:
// the title and usage before them, the examples after them.
func writeSkeletons(c *cobra.Command, dir string) error {
	for _, sub := range c.Commands() {
		if err := writeSkeletons(sub, dir); err != nil {
			return err
		}
	}
	if !c.HasParent() || c.Hidden {
		return nil // the "docker" command itself has no page
	}
	c.DisableFlagsInUseLine = true
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n```text\n%s\n```\n\n<!---MARKER_GEN_START-->\n<!---MARKER_GEN_END-->\n", c.CommandPath(), usageLine(c))
	if c.Example != "" {
		fmt.Fprintf(&b, "\n## Examples\n\n```console\n%s\n```\n", strings.TrimRight(c.Example, "\n"))
	}
	name := strings.ReplaceAll(strings.TrimPrefix(c.CommandPath(), "docker "), " ", "_") + ".md"
	return os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
}

// usageLine is the usage line `--help` shows.
func usageLine(c *cobra.Command) string {
	if c.HasAvailableSubCommands() {
		return c.CommandPath() + " [OPTIONS] COMMAND"
	}
	return c.UseLine()
}

// EnvDefaults are the environment variables that flag defaults read.
var EnvDefaults = []string{"NEO4J_BACKUP_DOCKER_IMAGE"}

// root is the plugin's command under a "docker" command, so that pages are
// named and written as "docker infrahubdb backup".
func root() *cobra.Command {
	dockerCli, err := command.NewDockerCli()
	if err != nil {
		panic(err)
	}
	top := &cobra.Command{Use: "docker", DisableAutoGenTag: true}
	top.AddCommand(cli.NewRootCommand(dockerCli))
	return top
}
