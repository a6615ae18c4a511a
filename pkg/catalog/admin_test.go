package catalog

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// inspectAdmin is a neo4j-admin that knows `backup inspect`: it prints a row
// for each file of the directory, with the metadata given per name when
// --show-metadata is passed (or always, with newStyle, where the option is
// refused like Neo4j 2025.07 does). A file whose content contains "corrupt"
// makes it fail after printing, like the stand-in.
func inspectAdmin(meta map[string]string, newStyle bool) func(h *fakeHelper, args []string, stdout io.Writer) int {
	return func(h *fakeHelper, args []string, stdout io.Writer) int {
		if len(args) < 2 || args[0] != "backup" || args[1] != "inspect" {
			return checkAdmin(h, args, stdout)
		}
		show := slices.Contains(args, "--show-metadata")
		if show && newStyle {
			fmt.Fprintln(stdout, "Unknown option: '--show-metadata'")
			return 2
		}
		dir := args[len(args)-1]
		var rows []string
		failed := false
		for _, n := range h.files(dir) {
			row := `"file":"file://` + path.Join(dir, n) + `"`
			if m := meta[n]; m != "" && (show || newStyle) {
				row += "," + m
			}
			rows = append(rows, "{"+row+"}")
			if data, _ := os.ReadFile(filepath.Join(h.host(dir), n)); strings.Contains(string(data), "corrupt") {
				failed = true
			}
		}
		fmt.Fprintln(stdout, "["+strings.Join(rows, ",")+"]")
		if failed {
			fmt.Fprintln(stdout, "Backup artifact is corrupt")
			return 1
		}
		return 0
	}
}

// checkAdmin is a neo4j-admin that knows `database aggregate-backup` (it
// joins the chain's files into the newest name) and `database check`
// (inconsistent when a file contains "corrupt"; it writes the report).
func checkAdmin(h *fakeHelper, args []string, stdout io.Writer) int {
	switch {
	case slices.Equal(args, []string{"--version"}):
		fmt.Fprintln(stdout, "5.26.0")
		return 0
	case len(args) >= 2 && args[0] == "database" && args[1] == "aggregate-backup":
		dir := flag(args, "--from-path")
		names := h.files(dir)
		var joined []byte
		for _, n := range names {
			data, _ := os.ReadFile(filepath.Join(h.host(dir), n))
			joined = append(joined, data...)
			os.Remove(filepath.Join(h.host(dir), n))
		}
		os.WriteFile(filepath.Join(h.host(dir), names[len(names)-1]), joined, 0o644)
		return 0
	case len(args) >= 2 && args[0] == "database" && args[1] == "check":
		dir := flag(args, "--from-path")
		names := h.files(dir)
		if len(names) != 1 {
			fmt.Fprintf(stdout, "expected one full backup, found %v\n", names)
			return 1
		}
		if flag(args, "--max-off-heap-memory") == "" || flag(args, "--threads") == "" {
			fmt.Fprintln(stdout, "the check must be bounded next to a live server")
			return 64
		}
		data, _ := os.ReadFile(filepath.Join(h.host(dir), names[0]))
		if !strings.Contains(string(data), "corrupt") {
			return 0
		}
		report := flag(args, "--report-path")
		os.WriteFile(h.host(report), []byte("ERROR: corrupt\n"), 0o644)
		fmt.Fprintf(stdout, "Inconsistencies found: 1. See '%s' for details.\n", report)
		return 1
	}
	fmt.Fprintf(stdout, "unexpected neo4j-admin %s\n", cmdline(args))
	return 64
}
