package cypher

import (
	"fmt"
	"strings"
)

// parser is a cursor over the tokens of one statement.
type parser struct {
	q      string
	toks   []token
	i      int
	params map[string]any
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// isKw reports whether the next tokens are the keywords words (case-insensitive).
func (p *parser) isKw(words ...string) bool {
	for k, w := range words {
		if p.i+k >= len(p.toks) {
			return false
		}
		t := p.toks[p.i+k]
		if t.kind != tIdent || !strings.EqualFold(t.text, w) {
			return false
		}
	}
	return true
}

func (p *parser) acceptKw(words ...string) bool {
	if p.isKw(words...) {
		p.i += len(words)
		return true
	}
	return false
}

func (p *parser) expectKw(words ...string) error {
	if p.acceptKw(words...) {
		return nil
	}
	return p.fail("'" + strings.Join(words, " ") + "'")
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func (p *parser) acceptPunct(s string) bool {
	if p.isPunct(s) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectPunct(s string) error {
	if p.acceptPunct(s) {
		return nil
	}
	return p.fail("'" + s + "'")
}

// end accepts the end of the statement (an optional ';').
func (p *parser) end() error {
	p.acceptPunct(";")
	if p.peek().kind == tEOF {
		return nil
	}
	return p.fail("end of input")
}

// fail builds a SyntaxError at the current token.
func (p *parser) fail(expected string) *Error {
	t := p.peek()
	got := t.text
	switch t.kind {
	case tEOF:
		return syntaxError(p.q, t.pos, "Invalid input '': expected "+expected)
	case tParam:
		got = "$" + got
	case tString:
		got = "'" + got + "'"
	case tQuoted:
		got = "`" + got + "`"
	}
	return syntaxError(p.q, t.pos, fmt.Sprintf("Invalid input '%s': expected %s", got, expected))
}

// name reads a symbolic name: unquoted, backtick-quoted or a string parameter.
func (p *parser) name() (string, error) {
	t := p.peek()
	switch t.kind {
	case tIdent, tQuoted:
		p.i++
		return t.text, nil
	case tParam:
		p.i++
		v, ok := p.params[t.text]
		if !ok {
			return "", missingParam(t.text)
		}
		s, ok := v.(string)
		if !ok {
			return "", &Error{Code: "Neo.ClientError.Statement.ArgumentError",
				Message: fmt.Sprintf("Expected parameter $%s to have type String but was %T", t.text, v)}
		}
		return s, nil
	}
	return "", p.fail("a database name, a parameter or a quoted name")
}

func missingParam(names ...string) *Error {
	return &Error{Code: "Neo.ClientError.Statement.ParameterMissing",
		Message: "Expected parameter(s): " + strings.Join(names, ", ")}
}

// literal reads a literal value or a parameter; vars names loop variables
// that may appear (their use is reported as a *varRef).
func (p *parser) literal(vars map[string]bool) (any, error) {
	t := p.peek()
	switch t.kind {
	case tString:
		p.i++
		return t.text, nil
	case tInt:
		p.i++
		return t.num, nil
	case tFloat:
		p.i++
		return t.flt, nil
	case tParam:
		p.i++
		v, ok := p.params[t.text]
		if !ok {
			return nil, missingParam(t.text)
		}
		return normalize(v), nil
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true":
			p.i++
			return true, nil
		case "false":
			p.i++
			return false, nil
		case "null":
			p.i++
			return nil, nil
		}
		if vars[t.text] {
			p.i++
			return varRef(t.text), nil
		}
	case tPunct:
		switch t.text {
		case "-":
			p.i++
			n := p.peek()
			switch n.kind {
			case tInt:
				p.i++
				return -n.num, nil
			case tFloat:
				p.i++
				return -n.flt, nil
			}
			return nil, p.fail("a number")
		case "[":
			p.i++
			list := []any{}
			for !p.acceptPunct("]") {
				if len(list) > 0 {
					if err := p.expectPunct(","); err != nil {
						return nil, err
					}
				}
				v, err := p.literal(vars)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			return list, nil
		case "{":
			return p.mapLiteral(vars)
		}
	}
	return nil, p.fail("a literal or a parameter")
}

// varRef is a reference to a loop variable inside a literal.
type varRef string

func (p *parser) mapLiteral(vars map[string]bool) (map[string]any, error) {
	if err := p.expectPunct("{"); err != nil {
		return nil, err
	}
	m := map[string]any{}
	for !p.acceptPunct("}") {
		if len(m) > 0 {
			if err := p.expectPunct(","); err != nil {
				return nil, err
			}
		}
		t := p.next()
		if t.kind != tIdent && t.kind != tQuoted {
			p.i--
			return nil, p.fail("a property key name")
		}
		if err := p.expectPunct(":"); err != nil {
			return nil, err
		}
		v, err := p.literal(vars)
		if err != nil {
			return nil, err
		}
		m[t.text] = v
	}
	return m, nil
}

// waitClause reads an optional WAIT [n [SEC|SECOND|SECONDS]] or NOWAIT and
// reports whether the command waits.
func (p *parser) waitClause() (bool, error) {
	switch {
	case p.acceptKw("NOWAIT"):
		return false, nil
	case p.acceptKw("WAIT"):
		if p.peek().kind == tInt {
			p.i++
			_ = p.acceptKw("SECONDS") || p.acceptKw("SECOND") || p.acceptKw("SEC")
		}
		return true, nil
	}
	return false, nil
}

// normalize converts integer kinds to int64 so values compare and encode
// uniformly.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// ParseLiteral parses a Cypher literal (string, number, boolean, null,
// list or map), as cypher-shell's --param takes them.
func ParseLiteral(s string) (any, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{q: s, toks: toks}
	v, err := p.literal(nil)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.fail("end of input")
	}
	return v, nil
}
