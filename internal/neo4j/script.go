package neo4j

import "strings"

// SplitStatements splits a Cypher script, such as the restore_metadata.cypher
// that neo4j-admin writes (statements joined by ";\n", ending with ";"), into
// statements that can be run one by one, as cypher-shell does.
//
// It splits on ';' outside string literals ('...' and "..." with backslash
// escapes), backtick identifiers, and comments. Comments are removed,
// statements are trimmed, and empty ones are dropped. A line starting with
// ':' where a statement would start is a cypher-shell command (":param
// database => 'x'", ":use system") and is dropped: the caller sets $database
// and picks the database itself.
func SplitStatements(script string) []string {
	var (
		statements []string
		current    strings.Builder
	)
	flush := func() {
		if s := strings.TrimSpace(current.String()); s != "" {
			statements = append(statements, s)
		}
		current.Reset()
	}

	for i := 0; i < len(script); i++ {
		c := script[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			end := closingQuote(script, i)
			current.WriteString(script[i:end])
			i = end - 1
		case c == '/' && next(script, i) == '/':
			// Keep the newline: it may separate two tokens.
			end := strings.IndexByte(script[i:], '\n')
			if end < 0 {
				i = len(script)
			} else {
				i += end - 1
			}
		case c == '/' && next(script, i) == '*':
			end := strings.Index(script[i+2:], "*/")
			if end < 0 {
				i = len(script)
			} else {
				i += 2 + end + 1
			}
			current.WriteByte(' ') // "a/**/b" is two tokens
		case c == ':' && strings.TrimSpace(current.String()) == "" && atLineStart(script, i):
			end := strings.IndexByte(script[i:], '\n')
			if end < 0 {
				i = len(script)
			} else {
				i += end - 1
			}
			current.Reset()
		case c == ';':
			flush()
		default:
			current.WriteByte(c)
		}
	}
	flush()
	return statements
}

// closingQuote returns the index just past the literal or identifier that
// starts at script[start]. Backslash escapes apply in strings only; inside
// backticks a doubled backtick is an escaped one, which the scan handles by
// closing and reopening. An unterminated literal runs to the end of the
// script, so a ';' inside it never splits (the server reports the error).
func closingQuote(script string, start int) int {
	quote := script[start]
	for i := start + 1; i < len(script); i++ {
		switch script[i] {
		case '\\':
			if quote != '`' {
				i++
			}
		case quote:
			return i + 1
		}
	}
	return len(script)
}

func next(s string, i int) byte {
	if i+1 < len(s) {
		return s[i+1]
	}
	return 0
}

// atLineStart reports whether only spaces or tabs precede s[i] on its line.
func atLineStart(s string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch s[j] {
		case '\n', '\r':
			return true
		case ' ', '\t':
		default:
			return false
		}
	}
	return true
}
