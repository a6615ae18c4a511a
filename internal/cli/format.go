package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
)

// isTemplate tells a --format Go template ("{{.RunID}}") from "table" and
// "json", as docker's own --format does.
func isTemplate(format string) bool { return strings.Contains(format, "{{") }

// templateFuncs are the functions docker's --format templates have that fit
// our results.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
}

// parseFormat checks a --format template before anything runs.
func parseFormat(format string) (*template.Template, error) {
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, usageError("--format: %v", err)
	}
	return tmpl, nil
}

// printFormatted prints v for --format json or a template (with a newline
// after it, as docker does); table output is each command's own.
func printFormatted(out io.Writer, format string, v any) error {
	if !isTemplate(format) {
		return printJSON(out, v)
	}
	emptyLists(v)
	tmpl, err := parseFormat(format)
	if err != nil {
		return err
	}
	if err := tmpl.Execute(out, v); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	_, err = fmt.Fprintln(out)
	return err
}
