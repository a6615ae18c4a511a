package neo4j

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantErr string
	}{
		{name: "neo4j"},
		{name: "system"},
		{name: "SYSTEM"},
		{name: "infrahub-main"},
		{name: "graph.db"},
		{name: "Neo4j"},
		{name: "abc"},
		{name: "a23456789012345678901234567890123456789012345678901234567890123"},
		{name: "", wantErr: `invalid database name "": must be 3 to 63 characters long, has 0`},
		{name: "ab", wantErr: "must be 3 to 63 characters long, has 2"},
		{name: "a234567890123456789012345678901234567890123456789012345678901234", wantErr: "has 64"},
		{name: "1abc", wantErr: `invalid database name "1abc": must start with an ASCII letter`},
		{name: "_internal", wantErr: "must start with an ASCII letter"},
		{name: "-abc", wantErr: "must start with an ASCII letter"},
		{name: "ab`c", wantErr: "only ASCII letters, digits, '.' and '-' are allowed, found '`'"},
		{name: "ab c", wantErr: "found ' '"},
		{name: "ab_c", wantErr: "found '_'"},
		{name: "ab;DROP", wantErr: "found ';'"},
		{name: "néo4j", wantErr: "only ASCII letters"},
		{name: "abc-", wantErr: `must not end with '-'`},
		{name: "abc.", wantErr: `must not end with '.'`},
		{name: "system2", wantErr: `the prefix "system" is reserved for internal use`},
		{name: "System-copy", wantErr: `the prefix "system" is reserved`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if tc.wantErr == "" {
				assert.NilError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestNormalize(t *testing.T) {
	name, err := Normalize("Infrahub-Main")
	assert.NilError(t, err)
	assert.Equal(t, name, "infrahub-main")

	_, err = Normalize("x")
	assert.ErrorContains(t, err, "3 to 63")
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"neo4j":         "`neo4j`",
		"infrahub-main": "`infrahub-main`",
		"graph.db":      "`graph.db`",
		"a`b":           "`a``b`",
		"``":            "``````",
		"":              "``",
	} {
		assert.Equal(t, Quote(in), want, "Quote(%q)", in)
	}
}
