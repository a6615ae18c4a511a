package cypher

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// node is one node pattern of a CREATE.
type node struct {
	labels []string
	props  map[string]any // values may be varRef
}

// dataStatement parses the data Cypher the stand-in knows:
//
//	CREATE (:L {k: v}), ...
//	UNWIND range(a, b[, step]) AS i CREATE (:L {i: i}), ...
//	MATCH (n[:L]) RETURN count(n|*) [AS name]
//	MATCH (n) UNWIND labels(n) AS l RETURN l, count(*) [AS name]
//	MATCH (n:L) SET n.k = v, ... RETURN count(n|*) [AS name]
//	MATCH (n:L) RETURN n.k [AS name]
//	MATCH (n) [DETACH] DELETE n
//	MATCH ()-[r]->() RETURN type(r) [AS t], count(*) [AS c]  (no rows: no relationships)
func (p *parser) dataStatement() (func(*execCtx) (*Result, error), error) {
	switch {
	case p.acceptKw("CREATE"):
		nodes, err := p.createPatterns(nil)
		if err != nil {
			return nil, err
		}
		return createNodes(nodes, 1), p.end()
	case p.acceptKw("UNWIND"):
		return p.unwindCreate()
	}
	p.next() // MATCH
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	variable := ""
	if t := p.peek(); t.kind == tIdent || t.kind == tQuoted {
		variable = p.next().text
	}
	label := ""
	if p.acceptPunct(":") {
		t := p.next()
		if t.kind != tIdent && t.kind != tQuoted {
			p.i--
			return nil, p.fail("a label name")
		}
		label = t.text
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	if variable == "" && label == "" && p.isPunct("-") {
		return p.countRelationships()
	}
	if label == "" && p.acceptKw("UNWIND") {
		return p.countByLabel(variable)
	}
	if label != "" && p.acceptKw("SET") {
		return p.setProps(variable, label)
	}
	if label != "" && p.isKw("RETURN") && variable != "" && strings.HasPrefix(p.toks[p.i+1].text, variable+".") {
		return p.returnProp(variable, label)
	}
	if p.isKw("DETACH") || p.isKw("DELETE") {
		if label != "" {
			return nil, p.fail("RETURN (the stand-in deletes only unlabelled MATCH (n))")
		}
		return p.deleteAll(variable)
	}
	return p.returnCount(variable, label)
}

func (p *parser) createPatterns(vars map[string]bool) ([]node, error) {
	var nodes []node
	for {
		if err := p.expectPunct("("); err != nil {
			return nil, err
		}
		if t := p.peek(); t.kind == tIdent || t.kind == tQuoted {
			p.next() // a variable name, unused
		}
		var n node
		for p.acceptPunct(":") {
			t := p.next()
			if t.kind != tIdent && t.kind != tQuoted {
				p.i--
				return nil, p.fail("a label name")
			}
			n.labels = append(n.labels, t.text)
		}
		if p.isPunct("{") {
			m, err := p.mapLiteral(vars)
			if err != nil {
				return nil, err
			}
			n.props = m
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
		if !p.acceptPunct(",") {
			return nodes, nil
		}
	}
}

func (p *parser) unwindCreate() (func(*execCtx) (*Result, error), error) {
	if !p.acceptKw("range") {
		return nil, p.fail("range(...) (the stand-in unwinds only ranges)")
	}
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var bounds []int64
	for len(bounds) < 3 {
		v, err := p.literal(nil)
		if err != nil {
			return nil, err
		}
		n, ok := v.(int64)
		if !ok {
			return nil, &Error{Code: "Neo.ClientError.Statement.TypeError",
				Message: fmt.Sprintf("Invalid input for function 'range()': Expected an integer but got %v", v)}
		}
		bounds = append(bounds, n)
		if !p.acceptPunct(",") {
			break
		}
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	if len(bounds) < 2 {
		return nil, p.fail("','")
	}
	if err := p.expectKw("AS"); err != nil {
		return nil, err
	}
	variable, err := p.name()
	if err != nil {
		return nil, err
	}
	if err := p.expectKw("CREATE"); err != nil {
		return nil, err
	}
	nodes, err := p.createPatterns(map[string]bool{variable: true})
	if err != nil {
		return nil, err
	}
	step := int64(1)
	if len(bounds) == 3 {
		step = bounds[2]
	}
	if step == 0 {
		return nil, &Error{Code: "Neo.ClientError.Statement.ArgumentError", Message: "Step argument to range() can't be 0"}
	}
	count := int64(0)
	if (bounds[1]-bounds[0])*step >= 0 {
		count = (bounds[1]-bounds[0])/step + 1
	}
	return createNodes(nodes, count), p.end()
}

// createNodes creates count copies of each pattern. Properties that depend
// on the loop variable are counted but not stored (the store keeps counts).
func createNodes(nodes []node, count int64) func(*execCtx) (*Result, error) {
	return func(*execCtx) (*Result, error) {
		res := &Result{Type: "w", Stats: map[string]int64{}, Records: [][]any{}}
		if count <= 0 {
			return res, nil
		}
		for _, n := range nodes {
			op := store.Op{Kind: "create", Labels: n.labels, Count: int(count)}
			for k, v := range n.props {
				if _, isVar := v.(varRef); isVar {
					continue
				}
				if op.Props == nil {
					op.Props = map[string]any{}
				}
				op.Props[k] = v
			}
			res.Ops = append(res.Ops, op)
			res.Stats["nodes-created"] += count
			res.Stats["labels-added"] += count * int64(len(n.labels))
			res.Stats["properties-set"] += count * int64(len(n.props))
		}
		return res, nil
	}
}

func (p *parser) deleteAll(variable string) (func(*execCtx) (*Result, error), error) {
	p.acceptKw("DETACH")
	if err := p.expectKw("DELETE"); err != nil {
		return nil, err
	}
	if t := p.next(); (t.kind != tIdent && t.kind != tQuoted) || t.text != variable {
		p.i--
		return nil, p.fail("the matched variable")
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		total, _, err := x.counts()
		if err != nil {
			return nil, err
		}
		res := &Result{Type: "w", Stats: map[string]int64{}, Records: [][]any{}}
		if total > 0 {
			res.Stats["nodes-deleted"] = total
			res.Ops = []store.Op{{Kind: "deleteAll"}}
		}
		return res, nil
	}, nil
}

func (p *parser) returnCount(variable, label string) (func(*execCtx) (*Result, error), error) {
	if err := p.expectKw("RETURN"); err != nil {
		return nil, err
	}
	start := p.peek().pos
	if !p.acceptKw("count") {
		return nil, p.fail("count(...) (the stand-in only counts)")
	}
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	if !p.acceptPunct("*") {
		if t := p.next(); (t.kind != tIdent && t.kind != tQuoted) || t.text != variable {
			p.i--
			return nil, p.fail("the matched variable or *")
		}
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	field := strings.TrimSpace(p.q[start:p.peek().pos])
	if p.acceptKw("AS") {
		var err error
		if field, err = p.name(); err != nil {
			return nil, err
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		total, byLabel, err := x.counts()
		if err != nil {
			return nil, err
		}
		n := total
		if label != "" {
			n = byLabel[label]
		}
		return &Result{Fields: []string{field}, Records: [][]any{{n}}, Type: "r"}, nil
	}, nil
}

// counts replays the committed log plus the caller's pending changes.
func (x *execCtx) counts() (int64, map[string]int64, error) {
	total, byLabel, err := x.e.Store.Counts(x.db)
	var replayErr *store.ReplayError
	if errors.As(err, &replayErr) {
		return 0, nil, err
	}
	if err != nil {
		return 0, nil, &Error{Code: "Neo.TransientError.General.DatabaseUnavailable",
			Message: fmt.Sprintf("Database '%s' is unavailable.", x.db)}
	}
	return store.ReplayOnto(total, byLabel, []store.Tx{{Ops: x.pending}})
}

// countByLabel is the rest of MATCH (n) UNWIND labels(n) AS l RETURN l,
// count(*) [AS name]: one row per label, from the store's counts.
func (p *parser) countByLabel(variable string) (func(*execCtx) (*Result, error), error) {
	if !p.acceptKw("labels") {
		return nil, p.fail("labels(...) (the stand-in unwinds only the labels of the matched node)")
	}
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	if t := p.next(); (t.kind != tIdent && t.kind != tQuoted) || t.text != variable {
		p.i--
		return nil, p.fail("the matched variable")
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	if err := p.expectKw("AS"); err != nil {
		return nil, err
	}
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	if err := p.expectKw("RETURN"); err != nil {
		return nil, err
	}
	if t := p.next(); (t.kind != tIdent && t.kind != tQuoted) || t.text != name {
		p.i--
		return nil, p.fail("the unwound variable")
	}
	if err := p.expectPunct(","); err != nil {
		return nil, err
	}
	start := p.peek().pos
	if !p.acceptKw("count") {
		return nil, p.fail("count(*)")
	}
	for _, s := range []string{"(", "*", ")"} {
		if err := p.expectPunct(s); err != nil {
			return nil, err
		}
	}
	field := strings.TrimSpace(p.q[start:p.peek().pos])
	if p.acceptKw("AS") {
		if field, err = p.name(); err != nil {
			return nil, err
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		_, byLabel, err := x.counts()
		if err != nil {
			return nil, err
		}
		labels := make([]string, 0, len(byLabel))
		for l, n := range byLabel {
			if n > 0 {
				labels = append(labels, l)
			}
		}
		sort.Strings(labels)
		res := &Result{Fields: []string{name, field}, Records: [][]any{}, Type: "r"}
		for _, l := range labels {
			res.Records = append(res.Records, []any{l, byLabel[l]})
		}
		return res, nil
	}, nil
}

// setProps is the rest of MATCH (n:L) SET n.k = v, ... RETURN count(n)
// [AS name]: Infrahub's deployment id reset on its Root node. The values
// are set on every node of L (see store.LabelProps).
func (p *parser) setProps(variable, label string) (func(*execCtx) (*Result, error), error) {
	props := map[string]any{}
	for {
		// The lexer reads n.k as one name (as it reads dbms.components).
		t := p.next()
		key, ok := strings.CutPrefix(t.text, variable+".")
		if t.kind != tIdent || !ok || key == "" {
			p.i--
			return nil, p.fail("a property of the matched variable")
		}
		if err := p.expectPunct("="); err != nil {
			return nil, err
		}
		v, err := p.literal(nil)
		if err != nil {
			return nil, err
		}
		props[key] = v
		if !p.acceptPunct(",") {
			break
		}
	}
	count, err := p.returnCount(variable, label)
	if err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		res, err := count(x)
		if err != nil {
			return nil, err
		}
		res.Type = "rw"
		if n := res.Records[0][0].(int64); n > 0 {
			res.Ops = []store.Op{{Kind: "set", Labels: []string{label}, Props: props}}
			res.Stats = map[string]int64{"properties-set": n * int64(len(props))}
		}
		return res, nil
	}, nil
}

// returnProp is the rest of MATCH (n:L) RETURN n.k [AS name]: one row per
// node of L, with the property the stand-in keeps (store.LabelProps).
func (p *parser) returnProp(variable, label string) (func(*execCtx) (*Result, error), error) {
	p.next() // RETURN
	start := p.peek().pos
	key := strings.TrimPrefix(p.next().text, variable+".")
	field := strings.TrimSpace(p.q[start:p.peek().pos])
	var err error
	if p.acceptKw("AS") {
		if field, err = p.name(); err != nil {
			return nil, err
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		_, byLabel, err := x.counts()
		if err != nil {
			return nil, err
		}
		res := &Result{Fields: []string{field}, Records: [][]any{}, Type: "r"}
		if byLabel[label] == 0 {
			return res, nil
		}
		props, err := x.e.Store.LabelProps(x.db, label, x.pending)
		if err != nil {
			return nil, err
		}
		for i := int64(0); i < byLabel[label]; i++ {
			res.Records = append(res.Records, []any{props[key]})
		}
		return res, nil
	}, nil
}

// countRelationships is the rest of MATCH ()-[r]->() RETURN type(r) [AS t],
// count(*) [AS c]. The stand-in has no relationships: no rows.
func (p *parser) countRelationships() (func(*execCtx) (*Result, error), error) {
	for _, s := range []string{"-", "["} {
		if err := p.expectPunct(s); err != nil {
			return nil, err
		}
	}
	r, err := p.name()
	if err != nil {
		return nil, err
	}
	for _, s := range []string{"]", "-", ">", "(", ")"} {
		if err := p.expectPunct(s); err != nil {
			return nil, err
		}
	}
	if err := p.expectKw("RETURN"); err != nil {
		return nil, err
	}
	start := p.peek().pos
	if !p.acceptKw("type") {
		return nil, p.fail("type(...)")
	}
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	if t := p.next(); t.text != r {
		p.i--
		return nil, p.fail("the relationship variable")
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	typeField := strings.TrimSpace(p.q[start:p.peek().pos])
	if p.acceptKw("AS") {
		if typeField, err = p.name(); err != nil {
			return nil, err
		}
	}
	if err := p.expectPunct(","); err != nil {
		return nil, err
	}
	start = p.peek().pos
	if !p.acceptKw("count") {
		return nil, p.fail("count(*)")
	}
	for _, s := range []string{"(", "*", ")"} {
		if err := p.expectPunct(s); err != nil {
			return nil, err
		}
	}
	countField := strings.TrimSpace(p.q[start:p.peek().pos])
	if p.acceptKw("AS") {
		if countField, err = p.name(); err != nil {
			return nil, err
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		if _, _, err := x.counts(); err != nil {
			return nil, err
		}
		return &Result{Fields: []string{typeField, countField}, Records: [][]any{}, Type: "r"}, nil
	}, nil
}
