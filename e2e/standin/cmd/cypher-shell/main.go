// Command cypher-shell is the stand-in's cypher-shell: it runs Cypher
// statements, from its argument or from stdin (split on ';' outside quotes
// and comments), against a Bolt server with the Go driver and prints the
// results in cypher-shell's plain format. It takes the real flags that
// tools use (-a, -u, -p, -d, -P/--param 'name => value', --format, -f) and
// the NEO4J_USERNAME, NEO4J_PASSWORD, NEO4J_ADDRESS and NEO4J_DATABASE
// variables, and exits 1 on the first error, like the real one.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/spf13/pflag"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/cypher"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("cypher-shell", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	address := fs.StringP("address", "a", env("NEO4J_ADDRESS", env("NEO4J_URI", "neo4j://localhost:7687")), "address and port to connect to")
	fs.String("uri", "", "alias of --address")
	user := fs.StringP("username", "u", env("NEO4J_USERNAME", ""), "username to connect as")
	password := fs.StringP("password", "p", env("NEO4J_PASSWORD", ""), "password to connect with")
	database := fs.StringP("database", "d", env("NEO4J_DATABASE", ""), "database to connect to")
	params := fs.StringArrayP("param", "P", nil, "add a parameter: 'name => value'")
	format := fs.String("format", "auto", "output format: auto, verbose or plain")
	file := fs.StringP("file", "f", "", "file of Cypher statements to run")
	version := fs.BoolP("version", "v", false, "print the version and exit")
	_ = fs.Bool("non-interactive", false, "never prompt")
	_ = fs.Bool("fail-fast", true, "exit on the first error (default)")
	_ = fs.String("encryption", "default", "ignored by the stand-in")
	_ = fs.String("access-mode", "write", "ignored by the stand-in")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if *version {
		fmt.Fprintln(stdout, "cypher-shell "+cypher.Version)
		return 0
	}
	if uri := fs.Lookup("uri"); uri.Changed {
		*address = uri.Value.String()
	}
	if *format != "auto" && *format != "plain" && *format != "verbose" {
		fmt.Fprintf(stderr, "Invalid value for option '--format': %s\n", *format)
		return 1
	}
	values, err := parseParams(*params)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	input, err := statementsInput(fs.Args(), *file, stdin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}

	ctx := context.Background()
	auth := neo4j.NoAuth()
	if *user != "" {
		auth = neo4j.BasicAuth(*user, *password, "")
	}
	driver, err := neo4j.NewDriverWithContext(boltURL(*address), auth)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer driver.Close(ctx)
	if err := driver.VerifyConnectivity(ctx); err != nil {
		fmt.Fprintln(stderr, message(err))
		return 1
	}
	session := driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: *database})
	defer session.Close(ctx)
	for _, stmt := range Split(input) {
		if err := runStatement(ctx, session, stmt, values, stdout); err != nil {
			fmt.Fprintln(stderr, message(err))
			return 1
		}
	}
	return 0
}

// boltURL turns cypher-shell's address (host:port or a URI) into a driver
// URL. Without a scheme, the stand-in's cypher-shell connects directly
// (bolt://): there is only one server.
func boltURL(address string) string {
	if strings.Contains(address, "://") {
		return address
	}
	return "bolt://" + address
}

func statementsInput(args []string, file string, stdin io.Reader) (string, error) {
	switch {
	case len(args) > 0:
		return strings.Join(args, " "), nil
	case file != "":
		b, err := os.ReadFile(file)
		return string(b), err
	}
	b, err := io.ReadAll(stdin)
	return string(b), err
}

// parseParams parses --param values: 'name => value' (or 'name: value').
func parseParams(list []string) (map[string]any, error) {
	values := map[string]any{}
	for _, p := range list {
		name, value, ok := strings.Cut(p, "=>")
		if !ok {
			name, value, ok = strings.Cut(p, ":")
		}
		name = strings.Trim(strings.TrimSpace(name), "`")
		if !ok || name == "" {
			return nil, fmt.Errorf("Incorrect usage.\nusage: --param  'name => value'")
		}
		v, err := cypher.ParseLiteral(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("invalid parameter %s: %w", name, err)
		}
		values[name] = v
	}
	return values, nil
}

func runStatement(ctx context.Context, s neo4j.SessionWithContext, stmt string, params map[string]any, out io.Writer) error {
	res, err := s.Run(ctx, stmt, params)
	if err != nil {
		return err
	}
	records, err := res.Collect(ctx)
	if err != nil {
		return err
	}
	keys, err := res.Keys()
	if err != nil || len(keys) == 0 {
		return err
	}
	fmt.Fprintln(out, strings.Join(keys, ", "))
	for _, r := range records {
		cells := make([]string, len(r.Values))
		for i, v := range r.Values {
			cells[i] = formatValue(v)
		}
		fmt.Fprintln(out, strings.Join(cells, ", "))
	}
	return nil
}

// formatValue prints a value like cypher-shell's plain format.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case string:
		return fmt.Sprintf("%q", x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + formatValue(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// message is what cypher-shell prints for an error: the server's message.
func message(err error) string {
	var ne *neo4j.Neo4jError
	if errors.As(err, &ne) {
		return ne.Msg
	}
	return err.Error()
}
