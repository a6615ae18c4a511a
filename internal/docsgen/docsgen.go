// Package docsgen writes the command reference of docs/reference (Markdown)
// and docs/reference/man (man pages) from the cobra commands, with
// github.com/docker/cli-docs-tool, as docker compose and buildx do. The
// reference is generated, never edited by hand: `make docs` rewrites it, and
// the package's test fails when it differs from the commands.
package docsgen

import (
	"io"
	"log"
	"os"
	"path/filepath"
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
// dir/man. Hand-written text outside the generated markers of an existing
// Markdown page of source is kept (cli-docs-tool's contract); source is
// usually dir itself.
func Generate(source, dir string) error {
	// The reference shows defaults that do not depend on who generates it:
	// flags whose default comes from the environment read it at build time.
	for _, name := range EnvDefaults {
		os.Unsetenv(name)
	}
	log.SetOutput(io.Discard) // cli-docs-tool logs every page it writes
	defer log.SetOutput(os.Stderr)
	// Each generator gets a command tree of its own: the Markdown one adds
	// the inherited flags to every command's own.
	mdTree := root()
	md, err := clidocstool.New(clidocstool.Options{Root: mdTree, SourceDir: source, TargetDir: dir, Plugin: true})
	if err != nil {
		return err
	}
	if err := md.GenMarkdownTree(mdTree); err != nil {
		return err
	}
	manTree := root()
	man, err := clidocstool.New(clidocstool.Options{
		Root: manTree, SourceDir: source, TargetDir: filepath.Join(dir, ManDir), Plugin: true,
		ManHeader: &doc.GenManHeader{Title: "DOCKER", Section: "1", Source: "docker-infrahubdb", Manual: "Docker infrahubdb", Date: &manDate},
	})
	if err != nil {
		return err
	}
	return man.GenManTree(manTree)
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
