package docsgen

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// commandLine finds `docker [-c CONTEXT] infrahubdb ...` in a line of a
// page, in a code block or in inline code.
var commandLine = regexp.MustCompile("docker (?:(?:-c|--context) \\S+ )?infrahubdb ([^`\\n|;&]*)")

var inlineCode = regexp.MustCompile("`([^`]+)`")

// TestDocsCommandsAreTrueToTheCLI checks every `docker infrahubdb` command
// line of README.md and docs/ (the generated reference aside): its command
// exists and each of its flags is one that command has. A runbook with a
// flag the CLI does not know fails here.
func TestDocsCommandsAreTrueToTheCLI(t *testing.T) {
	tree := root()
	plugin, _, err := tree.Find([]string{"infrahubdb"})
	if err != nil {
		t.Fatal(err)
	}
	pages := []string{"../../README.md"}
	err = filepath.WalkDir("../../docs", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "reference" {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		inBlock := false
		for n, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inBlock = !inBlock
				continue
			}
			code := line // a line of a code block, else its inline code
			if !inBlock {
				var spans []string
				for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
					spans = append(spans, m[1])
				}
				code = strings.Join(spans, "\n")
			}
			for _, loc := range commandLine.FindAllStringSubmatchIndex(code, -1) {
				if !startsCommand(code[:loc[0]]) {
					continue // prose that names the tool ("another docker infrahubdb run ...")
				}
				m := code[loc[0]:loc[1]]
				if msg := checkCommand(plugin, strings.Fields(code[loc[2]:loc[3]])); msg != "" {
					t.Errorf("%s:%d: %q: %s", strings.TrimPrefix(page, "../../"), n+1, strings.TrimSpace(m), msg)
				}
				checked++
			}
		}
	}
	if checked < 40 {
		t.Fatalf("only %d command lines found in the docs: is the pattern broken?", checked)
	}
}

// checkCommand says what is wrong with the arguments after "infrahubdb",
// or "" when the command and its flags exist.
func checkCommand(plugin *cobra.Command, args []string) string {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") || strings.HasPrefix(args[0], "<") || args[0] == "COMMAND" || args[0] == "…" {
		return ""
	}
	var cmd *cobra.Command
	for _, c := range plugin.Commands() {
		if c.Name() == args[0] || c.HasAlias(args[0]) {
			cmd = c
		}
	}
	if cmd == nil {
		return "no command " + args[0]
	}
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		name = strings.TrimRight(name, ".,)")
		var found bool
		if strings.HasPrefix(a, "--") {
			found = cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil
		} else {
			found = len(name) == 1 && cmd.Flags().ShorthandLookup(name) != nil
		}
		if !found && name != "help" && name != "h" {
			return cmd.Name() + " has no flag " + a
		}
	}
	return ""
}

// startsCommand reports whether what precedes "docker" on a line leaves it
// in command position: nothing, a prompt, a shell operator, sudo, cron's
// user, an environment assignment or a path (ExecStart=/usr/bin/).
func startsCommand(before string) bool {
	f := strings.Fields(before)
	if len(f) == 0 {
		return true
	}
	last := f[len(f)-1]
	switch last {
	case "$", "&&", "||", ";", "|", "sudo", "root", "time", "#":
		return true
	}
	return strings.Contains(last, "=") || strings.HasSuffix(last, "/")
}
