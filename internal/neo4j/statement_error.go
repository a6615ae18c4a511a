package neo4j

import (
	"fmt"
	"regexp"
	"strings"
)

// StatementError is a failed statement of a script. Its text names the
// statement by number and first line, with password literals masked (the
// metadata script carries password hashes in CREATE USER ... SET ENCRYPTED
// PASSWORD '...'); parameter values are never included.
type StatementError struct {
	Index     int // 1-based
	Total     int
	Statement string
	Err       error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("statement %d of %d failed (%s): %s",
		e.Index, e.Total, firstLine(RedactPasswords(e.Statement)), redactLiteralsOf(e.Statement, serverMessage(e.Err)))
}

func (e *StatementError) Unwrap() error { return e.Err }

var (
	passwordKeyword = regexp.MustCompile(`(?i)\bPASSWORD\b`)
	stringLiteral   = regexp.MustCompile(`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"`)
)

// RedactPasswords masks every string literal of a text that mentions
// PASSWORD (SET PASSWORD 'x', SET ENCRYPTED PASSWORD '1,hash,salt',
// SET PASSWORD FROM 'old' TO 'new'), so a statement, or a server error that
// quotes one, can be shown.
func RedactPasswords(s string) string {
	if !passwordKeyword.MatchString(s) {
		return s
	}
	return stringLiteral.ReplaceAllString(s, "'"+masked+"'")
}

func firstLine(s string) string {
	line, _, more := strings.Cut(s, "\n")
	line = strings.TrimSpace(line)
	const max = 120
	if len(line) > max {
		return line[:max] + " …"
	}
	if more {
		return line + " …"
	}
	return line
}

// redactLiteralsOf masks, in a server message, the values of the string
// literals RedactPasswords would mask in statement: the server quotes the
// failing line back in its own way, so the values are looked for verbatim.
func redactLiteralsOf(statement, msg string) string {
	if !passwordKeyword.MatchString(statement) {
		return msg
	}
	for _, literal := range stringLiteral.FindAllString(statement, -1) {
		if value := literal[1 : len(literal)-1]; value != "" {
			msg = strings.ReplaceAll(msg, value, masked)
		}
	}
	return msg
}
