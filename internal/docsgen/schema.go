package docsgen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/cli"
)

// SchemaDir holds the JSON Schemas, beside the reference.
const SchemaDir = "../schema"

// GenerateSchemas writes docs/schema/<command>.schema.json for each
// command's --format json document (cli.ResultTypes), from the Go types by
// the rules of encoding/json: the published shapes are the code's.
func GenerateSchemas(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, v := range cli.ResultTypes() {
		g := &schemaGen{defs: map[string]any{}}
		root := g.schema(reflect.TypeOf(v))
		doc := map[string]any{
			"$schema": "https://json-schema.org/draft/2020-12/schema",
			"title":   "docker infrahubdb " + strings.ReplaceAll(name, "-", " --") + " --format json",
		}
		for k, v := range root {
			doc[k] = v
		}
		if len(g.defs) > 0 {
			doc["$defs"] = g.defs
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".schema.json"), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

type schemaGen struct{ defs map[string]any }

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
	marshaler    = reflect.TypeOf((*interface{ MarshalText() ([]byte, error) })(nil)).Elem()
)

// schema is the JSON Schema of how encoding/json writes a value of type t.
func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == durationType:
		return map[string]any{"type": "integer", "description": "nanoseconds"}
	case t.Kind() != reflect.Pointer && t.Implements(marshaler):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if t.Name() == "" || t.PkgPath() == "" {
			return g.object(t)
		}
		name := defName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // a placeholder: recursive types end here
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	return map[string]any{}
}

// defName names a struct type in $defs: its package and name.
func defName(t reflect.Type) string {
	return filepath.Base(t.PkgPath()) + "." + t.Name()
}

// object is a struct's schema: its JSON fields, embedded structs' fields
// promoted as encoding/json does; the fields without omitempty are
// required (a list among them is [] when empty, never null).
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					visit(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.schema(ft)
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
				required = append(required, name)
			}
		}
	}
	visit(t)
	sort.Strings(required)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}
