package cypher

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

type tokKind int

const (
	tIdent  tokKind = iota // keyword or unquoted name (may contain dots: dbms.components)
	tQuoted                // `backtick quoted` name
	tString                // 'string' or "string"
	tInt
	tFloat
	tParam // $name
	tPunct // ( ) { } [ ] , : ; = <> etc.
	tEOF
)

type token struct {
	kind tokKind
	text string // identifier/name/string content/param name/punctuation
	num  int64
	flt  float64
	pos  int // byte offset in the query
}

// lex splits a query into tokens, dropping whitespace and comments.
func lex(q string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(q[i:], "//"):
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return nil, syntaxError(q, i, "Failed to parse comment. A comment starting on `/*` must have a closing `*/`.")
			}
			i += end + 4
		case c == '`':
			end := strings.IndexByte(q[i+1:], '`')
			if end < 0 {
				return nil, syntaxError(q, i, "Failed to parse quoted name: missing closing '`'.")
			}
			toks = append(toks, token{kind: tQuoted, text: q[i+1 : i+1+end], pos: i})
			i += end + 2
		case c == '\'' || c == '"':
			s, n, err := lexString(q[i:])
			if err != nil {
				return nil, syntaxError(q, i, err.Error())
			}
			toks = append(toks, token{kind: tString, text: s, pos: i})
			i += n
		case c == '$':
			j := i + 1
			if j < len(q) && q[j] == '`' {
				end := strings.IndexByte(q[j+1:], '`')
				if end < 0 {
					return nil, syntaxError(q, i, "Failed to parse quoted parameter name.")
				}
				toks = append(toks, token{kind: tParam, text: q[j+1 : j+1+end], pos: i})
				i = j + end + 2
				continue
			}
			for j < len(q) && isIdentChar(rune(q[j])) {
				j++
			}
			toks = append(toks, token{kind: tParam, text: q[i+1 : j], pos: i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(q) && (q[j] >= '0' && q[j] <= '9') {
				j++
			}
			if j+1 < len(q) && q[j] == '.' && q[j+1] >= '0' && q[j+1] <= '9' {
				j++
				for j < len(q) && (q[j] >= '0' && q[j] <= '9') {
					j++
				}
				f, err := strconv.ParseFloat(q[i:j], 64)
				if err != nil {
					return nil, syntaxError(q, i, err.Error())
				}
				toks = append(toks, token{kind: tFloat, flt: f, text: q[i:j], pos: i})
			} else {
				n, err := strconv.ParseInt(q[i:j], 10, 64)
				if err != nil {
					return nil, &Error{Code: "Neo.ClientError.Statement.SyntaxError", Message: fmt.Sprintf("integer is too large: %s", q[i:j])}
				}
				toks = append(toks, token{kind: tInt, num: n, text: q[i:j], pos: i})
			}
			i = j
		case isIdentStart(rune(c)):
			j := i
			for j < len(q) && (isIdentChar(rune(q[j])) || (q[j] == '.' && j+1 < len(q) && isIdentStart(rune(q[j+1])))) {
				j++
			}
			toks = append(toks, token{kind: tIdent, text: q[i:j], pos: i})
			i = j
		default:
			for _, two := range []string{"<>", "!=", "<=", ">=", "=>"} {
				if strings.HasPrefix(q[i:], two) {
					toks = append(toks, token{kind: tPunct, text: two, pos: i})
					i += 2
					goto next
				}
			}
			if strings.ContainsRune("(){}[],:;=<>-+*.|", rune(c)) {
				toks = append(toks, token{kind: tPunct, text: string(c), pos: i})
				i++
				continue
			}
			return nil, syntaxError(q, i, fmt.Sprintf("Invalid input '%c'", c))
		next:
		}
	}
	return append(toks, token{kind: tEOF, pos: len(q)}), nil
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentChar(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// lexString reads a quoted string literal with Cypher's backslash escapes;
// it returns the value and the number of bytes consumed.
func lexString(s string) (string, int, error) {
	quote := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == quote:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				if i+4 < len(s) {
					if r, err := strconv.ParseUint(s[i+1:i+5], 16, 32); err == nil {
						b.WriteRune(rune(r))
						i += 4
						continue
					}
				}
				return "", 0, fmt.Errorf("Invalid input '\\u': invalid unicode escape")
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("Failed to parse string literal. The query must contain an even number of non-escaped quotes.")
}

// syntaxError builds Neo4j's SyntaxError with its position suffix.
func syntaxError(q string, offset int, msg string) *Error {
	line, col := 1, 1
	for _, r := range q[:min(offset, len(q))] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &Error{
		Code:    "Neo.ClientError.Statement.SyntaxError",
		Message: fmt.Sprintf("%s (line %d, column %d (offset: %d))", msg, line, col, offset),
	}
}
