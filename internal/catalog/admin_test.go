package catalog

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/version"
)

// admin is a neo4j-admin for the helpers of newEngine.
type admin = func(h *helpertest.Helper, args []string, stdout io.Writer) int

// newEngine is the shared fake engine set up for the catalog: no database
// container, the images the tests name are local Enterprise images, nothing
// can be pulled, and neo4j-admin in the helpers is admin.
func newEngine(admin admin) *helpertest.Engine {
	eng := helpertest.New()
	eng.Database = nil
	eng.PullErr = errors.New("no registry")
	for _, ref := range []string{"img", "neo4j:enterprise", version.DefaultHelperImage} {
		eng.Images[ref] = []string{"NEO4J_EDITION=enterprise"}
	}
	eng.Admin = admin
	return eng
}

// inspectAdmin is a neo4j-admin that knows `backup inspect`: it prints a row
// for each file of the directory, with the metadata given per name when
// --show-metadata is passed (or always, with newStyle, where the option is
// refused like Neo4j 2025.07 does). A file whose content contains "corrupt"
// makes it fail after printing, like the stand-in.
func inspectAdmin(meta map[string]string, newStyle bool) admin {
	return func(h *helpertest.Helper, args []string, stdout io.Writer) int {
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
		for _, n := range h.Files(dir) {
			row := `"file":"file://` + path.Join(dir, n) + `"`
			if m := meta[n]; m != "" && (show || newStyle) {
				row += "," + m
			}
			rows = append(rows, "{"+row+"}")
			if data, _ := h.FileData(path.Join(dir, n)); strings.Contains(string(data), "corrupt") {
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
func checkAdmin(h *helpertest.Helper, args []string, stdout io.Writer) int {
	switch {
	case slices.Equal(args, []string{"--version"}):
		fmt.Fprintln(stdout, "5.26.0")
		return 0
	case len(args) >= 2 && args[0] == "database" && args[1] == "aggregate-backup":
		dir := flag(args, "--from-path")
		names := h.Files(dir)
		var joined []byte
		for _, n := range names {
			data, _ := h.FileData(path.Join(dir, n))
			joined = append(joined, data...)
			_ = h.RemoveFile(path.Join(dir, n))
		}
		_ = h.WriteFile(path.Join(dir, names[len(names)-1]), joined)
		return 0
	case len(args) >= 2 && args[0] == "database" && args[1] == "check":
		dir := flag(args, "--from-path")
		names := h.Files(dir)
		if len(names) != 1 {
			fmt.Fprintf(stdout, "expected one full backup, found %v\n", names)
			return 1
		}
		if flag(args, "--max-off-heap-memory") == "" || flag(args, "--threads") == "" {
			fmt.Fprintln(stdout, "the check must be bounded next to a live server")
			return 64
		}
		data, _ := h.FileData(path.Join(dir, names[0]))
		if !strings.Contains(string(data), "corrupt") {
			return 0
		}
		report := flag(args, "--report-path")
		_ = h.WriteFile(report, []byte("ERROR: corrupt\n"))
		fmt.Fprintf(stdout, "Inconsistencies found: 1. See '%s' for details.\n", report)
		return 1
	}
	fmt.Fprintf(stdout, "unexpected neo4j-admin %s\n", fmt.Sprint(args))
	return 64
}

// flag returns the value of --name=value in args.
func flag(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}
