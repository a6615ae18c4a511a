package cypher

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// table is the result of a SHOW command or a procedure before YIELD,
// WHERE, ORDER BY, SKIP, LIMIT and RETURN are applied.
type table struct {
	all      []string // every column, in order
	defaults []string // columns shown without YIELD
	rows     []map[string]any
}

type item struct{ col, alias string }

type orderKey struct {
	col  string
	desc bool
}

// projection is the optional tail of a SHOW command or CALL:
// [YIELD * | items [ORDER BY] [SKIP] [LIMIT] [WHERE]] [RETURN items ...] | [WHERE].
type projection struct {
	yield       []item // nil: default columns
	yieldStar   bool
	where       expr
	order       []orderKey
	skip, limit int64
	ret         []item
	retOrder    []orderKey
}

func (p *parser) projection() (*projection, error) {
	pr := &projection{skip: 0, limit: -1}
	var err error
	switch {
	case p.acceptKw("YIELD"):
		if p.acceptPunct("*") {
			pr.yieldStar = true
		} else if pr.yield, err = p.items(); err != nil {
			return nil, err
		}
		if pr.order, err = p.orderSkipLimit(pr); err != nil {
			return nil, err
		}
		if p.acceptKw("WHERE") {
			if pr.where, err = p.expression(); err != nil {
				return nil, err
			}
		}
		if p.acceptKw("RETURN") {
			if pr.ret, err = p.items(); err != nil {
				return nil, err
			}
			if pr.retOrder, err = p.orderSkipLimit(pr); err != nil {
				return nil, err
			}
		}
	case p.acceptKw("WHERE"):
		if pr.where, err = p.expression(); err != nil {
			return nil, err
		}
	}
	return pr, p.end()
}

func (p *parser) items() ([]item, error) {
	var items []item
	for {
		col, err := p.name()
		if err != nil {
			return nil, err
		}
		it := item{col: col, alias: col}
		if p.acceptKw("AS") {
			if it.alias, err = p.name(); err != nil {
				return nil, err
			}
		}
		items = append(items, it)
		if !p.acceptPunct(",") {
			return items, nil
		}
	}
}

func (p *parser) orderSkipLimit(pr *projection) ([]orderKey, error) {
	var keys []orderKey
	if p.acceptKw("ORDER", "BY") {
		for {
			col, err := p.name()
			if err != nil {
				return nil, err
			}
			k := orderKey{col: col}
			if p.acceptKw("DESC") || p.acceptKw("DESCENDING") {
				k.desc = true
			} else {
				_ = p.acceptKw("ASC") || p.acceptKw("ASCENDING")
			}
			keys = append(keys, k)
			if !p.acceptPunct(",") {
				break
			}
		}
	}
	for _, kw := range []string{"SKIP", "LIMIT"} {
		if p.acceptKw(kw) {
			v, err := p.literal(nil)
			n, ok := v.(int64)
			if err != nil || !ok {
				return nil, p.fail("an integer")
			}
			if kw == "SKIP" {
				pr.skip = n
			} else {
				pr.limit = n
			}
		}
	}
	return keys, nil
}

// apply runs the projection over t.
func (pr *projection) apply(t table) (*Result, error) {
	fields := t.defaults
	rows := t.rows
	if pr.yieldStar {
		fields = t.all
	}
	if pr.yield != nil {
		fields = nil
		for _, it := range pr.yield {
			if !contains(t.all, it.col) {
				return nil, &Error{Code: "Neo.ClientError.Statement.SyntaxError",
					Message: fmt.Sprintf("Trying to YIELD non-existing column: `%s`", it.col)}
			}
			fields = append(fields, it.alias)
		}
		rows = nil
		for _, r := range t.rows {
			y := map[string]any{}
			for _, it := range pr.yield {
				y[it.alias] = r[it.col]
			}
			rows = append(rows, y)
		}
	}
	if pr.where != nil {
		var kept []map[string]any
		for _, r := range rows {
			v, err := pr.where(r)
			if err != nil {
				return nil, err
			}
			if v == true {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	sortRows(rows, pr.order)
	if pr.ret != nil {
		var out []map[string]any
		fields = nil
		for _, it := range pr.ret {
			fields = append(fields, it.alias)
		}
		for _, r := range rows {
			o := map[string]any{}
			for _, it := range pr.ret {
				v, ok := r[it.col]
				if !ok {
					return nil, &Error{Code: "Neo.ClientError.Statement.SyntaxError",
						Message: fmt.Sprintf("Variable `%s` not defined", it.col)}
				}
				o[it.alias] = v
			}
			out = append(out, o)
		}
		rows = out
		sortRows(rows, pr.retOrder)
	}
	if pr.skip > 0 {
		rows = rows[min(int(pr.skip), len(rows)):]
	}
	if pr.limit >= 0 && int(pr.limit) < len(rows) {
		rows = rows[:pr.limit]
	}
	res := &Result{Fields: fields, Type: "r", Records: [][]any{}}
	for _, r := range rows {
		rec := make([]any, len(fields))
		for i, f := range fields {
			rec[i] = r[f]
		}
		res.Records = append(res.Records, rec)
	}
	return res, nil
}

func sortRows(rows []map[string]any, keys []orderKey) {
	if len(keys) == 0 {
		return
	}
	sort.SliceStable(rows, func(i, j int) bool {
		for _, k := range keys {
			a, b := fmt.Sprint(rows[i][k.col]), fmt.Sprint(rows[j][k.col])
			if a != b {
				return (a < b) != k.desc
			}
		}
		return false
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expr is a compiled WHERE expression over one row.
type expr func(row map[string]any) (any, error)

// expression parses: or := and {OR and}; and := not {AND not};
// not := NOT not | comparison; comparison := operand [op operand |
// IS [NOT] NULL | IN operand | STARTS WITH operand | ENDS WITH operand |
// CONTAINS operand].
func (p *parser) expression() (expr, error) {
	return p.logical("OR", p.andExpr, func(a, b bool) bool { return a || b })
}

func (p *parser) andExpr() (expr, error) {
	return p.logical("AND", p.notExpr, func(a, b bool) bool { return a && b })
}

// logical parses operand {kw operand}, combining the operands' truth with op.
func (p *parser) logical(kw string, operand func() (expr, error), op func(a, b bool) bool) (expr, error) {
	left, err := operand()
	if err != nil {
		return nil, err
	}
	for p.acceptKw(kw) {
		right, err := operand()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(r map[string]any) (any, error) {
			a, err := l(r)
			if err != nil {
				return nil, err
			}
			b, err := right(r)
			return op(a == true, b == true), err
		}
	}
	return left, nil
}

func (p *parser) notExpr() (expr, error) {
	if p.acceptKw("NOT") {
		e, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		return func(r map[string]any) (any, error) {
			v, err := e(r)
			return v != true, err
		}, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (expr, error) {
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	binary := func(cmp func(a, b any) bool) (expr, error) {
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		return func(r map[string]any) (any, error) {
			a, err := left(r)
			if err != nil {
				return nil, err
			}
			b, err := right(r)
			return cmp(a, b), err
		}, nil
	}
	str := func(f func(a, b string) bool) func(a, b any) bool {
		return func(a, b any) bool {
			as, ok1 := a.(string)
			bs, ok2 := b.(string)
			return ok1 && ok2 && f(as, bs)
		}
	}
	switch {
	case p.acceptPunct("="):
		return binary(equal)
	case p.acceptPunct("<>"), p.acceptPunct("!="):
		return binary(func(a, b any) bool { return !equal(a, b) })
	case p.acceptKw("IS", "NOT", "NULL"):
		return func(r map[string]any) (any, error) { v, err := left(r); return v != nil, err }, nil
	case p.acceptKw("IS", "NULL"):
		return func(r map[string]any) (any, error) { v, err := left(r); return v == nil, err }, nil
	case p.acceptKw("IN"):
		return binary(func(a, b any) bool {
			list, _ := b.([]any)
			for _, x := range list {
				if equal(a, x) {
					return true
				}
			}
			return false
		})
	case p.acceptKw("STARTS", "WITH"):
		return binary(str(strings.HasPrefix))
	case p.acceptKw("ENDS", "WITH"):
		return binary(str(strings.HasSuffix))
	case p.acceptKw("CONTAINS"):
		return binary(str(strings.Contains))
	}
	return left, nil
}

func (p *parser) operand() (expr, error) {
	if p.acceptPunct("(") {
		e, err := p.expression()
		if err != nil {
			return nil, err
		}
		return e, p.expectPunct(")")
	}
	t := p.peek()
	if t.kind == tQuoted || (t.kind == tIdent && !isLiteralKeyword(t.text)) {
		p.i++
		return func(r map[string]any) (any, error) {
			v, ok := r[t.text]
			if !ok {
				return nil, &Error{Code: "Neo.ClientError.Statement.SyntaxError",
					Message: fmt.Sprintf("Variable `%s` not defined", t.text)}
			}
			return v, nil
		}, nil
	}
	v, err := p.literal(nil)
	if err != nil {
		return nil, err
	}
	return func(map[string]any) (any, error) { return v, nil }, nil
}

func isLiteralKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "null":
		return true
	}
	return false
}

func equal(a, b any) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }
