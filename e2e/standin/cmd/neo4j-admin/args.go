package main

import (
	"fmt"
	"strings"
)

// option declares one option of a command, picocli style: "--name=<v>" (or
// "--name <v>") for a value, "--name[=true|false]" for a boolean.
type option struct {
	name   string
	isBool bool
	def    string
	since  string // first release with the option ("" = all)
}

// options is the result of parsing a command line.
type options struct {
	vals map[string]string
	set  map[string]bool
	args []string // positional parameters
	help bool
}

func (o options) str(name string) string { return o.vals[name] }
func (o options) on(name string) bool    { return o.vals[name] == "true" }

// parse parses args against decl; errors are usage errors (exit 64) with the
// messages picocli prints.
func parse(args []string, decl []option) (options, error) {
	o := options{vals: map[string]string{}, set: map[string]bool{}}
	byName := map[string]option{}
	for _, d := range decl {
		byName[d.name] = d
		if d.def != "" {
			o.vals[d.name] = d.def
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			o.help = true
			continue
		}
		if a == "--" {
			o.args = append(o.args, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			o.args = append(o.args, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		d, ok := byName[name]
		if !ok {
			return o, usageError("Unknown option: '%s'", a)
		}
		switch {
		case d.isBool && !hasVal:
			val = "true"
		case d.isBool:
			val = strings.ToLower(val)
			if val != "true" && val != "false" {
				return o, usageError("Invalid value for option '%s': '%s' is not a boolean", name, val)
			}
		case !hasVal:
			if i+1 >= len(args) {
				return o, usageError("Missing required parameter for option '%s' (<%s>)", name, strings.TrimPrefix(name, "--"))
			}
			i++
			val = args[i]
		}
		o.vals[name] = val
		o.set[name] = true
	}
	return o, nil
}

// exitError carries the exit code a failure maps to.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// Exit codes of neo4j-admin (Operations Manual, "Neo4j Admin and Neo4j CLI").
const (
	exitOK         = 0
	exitFailed     = 1  // the command failed to execute
	exitNotRunning = 3  // the database is not running
	exitUsage      = 64 // incorrect options or parameters
	exitSoftware   = 70 // an exception not handled otherwise
)

func usageError(format string, a ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, a...)}
}

func failed(format string, a ...any) error {
	return &exitError{code: exitFailed, msg: fmt.Sprintf(format, a...)}
}
