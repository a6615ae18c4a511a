package main

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestSplit(t *testing.T) {
	got := Split("CREATE (:L {k: 'a;b'});\n// only a comment;\nGRANT ROLE `x;y` TO `u`;  /* c; */ RETURN \"q\\\";\" ;;")
	assert.DeepEqual(t, got, []string{
		"CREATE (:L {k: 'a;b'})",
		"// only a comment;\nGRANT ROLE `x;y` TO `u`", // the ';' in the comment does not split
		"/* c; */ RETURN \"q\\\";\"",
	})
	assert.Equal(t, len(Split("  \n// nothing\n")), 0)
}

func TestParseParams(t *testing.T) {
	got, err := parseParams([]string{"database => 'neo4j'", "n: 5", "`x` => [1, true]"})
	assert.NilError(t, err)
	assert.DeepEqual(t, got, map[string]any{"database": "neo4j", "n": int64(5), "x": []any{int64(1), true}})
	_, err = parseParams([]string{"novalue"})
	assert.Assert(t, err != nil)
}

func TestFormatValue(t *testing.T) {
	assert.Equal(t, formatValue([]any{"a", int64(1), nil, true}), `["a", 1, NULL, TRUE]`)
	assert.Equal(t, formatValue(map[string]any{"b": false, "a": 1.5}), `{a: 1.5, b: FALSE}`)
}
