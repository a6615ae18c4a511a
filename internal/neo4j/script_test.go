package neo4j

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
)

func TestSplitStatements(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		want   []string
	}{
		{name: "empty", script: "", want: nil},
		{name: "only separators and space", script: " ;\n;\t; ", want: nil},
		{name: "two statements", script: "RETURN 1;\nRETURN 2;", want: []string{"RETURN 1", "RETURN 2"}},
		{name: "trailing statement without semicolon", script: "RETURN 1;\n  RETURN 2  \n", want: []string{"RETURN 1", "RETURN 2"}},
		{name: "multi-line statement", script: "MATCH (n)\nRETURN n;", want: []string{"MATCH (n)\nRETURN n"}},
		{
			name:   "semicolons in strings",
			script: `RETURN 'a;b'; RETURN "c;d";`,
			want:   []string{`RETURN 'a;b'`, `RETURN "c;d"`},
		},
		{
			name:   "escaped quotes",
			script: `RETURN 'it\'s;' AS a; RETURN "say \"hi;\"" AS b; RETURN 'back\\'; RETURN 1`,
			want:   []string{`RETURN 'it\'s;' AS a`, `RETURN "say \"hi;\"" AS b`, `RETURN 'back\\'`, "RETURN 1"},
		},
		{
			name:   "other quote inside string",
			script: `RETURN "it's;"; RETURN 'say "x;"';`,
			want:   []string{`RETURN "it's;"`, `RETURN 'say "x;"'`},
		},
		{
			name:   "backtick identifiers",
			script: "CREATE DATABASE `a;b` IF NOT EXISTS; GRANT ROLE `we``ird;` TO `x`;",
			want:   []string{"CREATE DATABASE `a;b` IF NOT EXISTS", "GRANT ROLE `we``ird;` TO `x`"},
		},
		{
			name:   "quotes inside backticks are literal",
			script: "RETURN 1 AS `it's`; RETURN 2",
			want:   []string{"RETURN 1 AS `it's`", "RETURN 2"},
		},
		{
			name:   "line comments",
			script: "// header; not a statement\nRETURN 1; // trailing; comment\nRETURN 2 // no semicolon here\n;",
			want:   []string{"RETURN 1", "RETURN 2"},
		},
		{
			name:   "block comments",
			script: "/* a; b\n c */ RETURN 1 /* ; */ + 2;RETURN/**/3;",
			want:   []string{"RETURN 1   + 2", "RETURN 3"},
		},
		{
			name:   "comment-only statements dropped",
			script: "RETURN 1;\n// just a comment;\n/* and another; */;\n",
			want:   []string{"RETURN 1"},
		},
		{
			name:   "comment markers inside strings",
			script: `RETURN '//not a comment;' AS a; RETURN "/* nor this; */" AS b`,
			want:   []string{`RETURN '//not a comment;' AS a`, `RETURN "/* nor this; */" AS b`},
		},
		{
			name:   "url in string",
			script: `RETURN 'http://example.com/;x'`,
			want:   []string{`RETURN 'http://example.com/;x'`},
		},
		{
			name:   "cypher-shell commands dropped",
			script: ":param database => 'neo4j';\n:use system\n  :param {database: 'neo4j'}\nCREATE ROLE `r` IF NOT EXISTS;\n:begin\nGRANT ROLE `r` TO `u`;\n:commit\n",
			want:   []string{"CREATE ROLE `r` IF NOT EXISTS", "GRANT ROLE `r` TO `u`"},
		},
		{
			name:   "colon inside a statement is Cypher",
			script: "MATCH (n\n:Person)\nRETURN n;",
			want:   []string{"MATCH (n\n:Person)\nRETURN n"},
		},
		{
			name:   "unterminated string keeps its semicolons",
			script: "RETURN 1; RETURN 'oops; RETURN 2;",
			want:   []string{"RETURN 1", "RETURN 'oops; RETURN 2;"},
		},
		{
			name:   "unterminated block comment",
			script: "RETURN 1; /* never closed; RETURN 2;",
			want:   []string{"RETURN 1"},
		},
		{
			name:   "windows line endings",
			script: "RETURN 1;\r\n// c\r\nRETURN 2;\r\n",
			want:   []string{"RETURN 1", "RETURN 2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.DeepEqual(t, SplitStatements(tc.script), tc.want)
		})
	}
}

// The file neo4j-admin writes: statements joined with ";\n", the last one
// ending with ";", $database where the database name goes, password hashes in
// CREATE USER.
func TestSplitStatementsRestoreMetadata(t *testing.T) {
	script, err := os.ReadFile("testdata/restore_metadata.cypher")
	assert.NilError(t, err)

	statements := SplitStatements(string(script))
	golden.Assert(t, numbered(statements), "restore_metadata.golden")

	// Hand-edited copies for cypher-shell carry a :param line and comments;
	// they must split to the same statements.
	edited := ":param database => 'neo4j'\n// roles first\n" + strings.ReplaceAll(string(script), ";\nCREATE USER", ";\n/* users */\nCREATE USER") + "\n"
	assert.DeepEqual(t, SplitStatements(edited), statements)
}

func numbered(statements []string) string {
	var b strings.Builder
	for i, s := range statements {
		fmt.Fprintf(&b, "%02d %s\n", i+1, s)
	}
	return b.String()
}
