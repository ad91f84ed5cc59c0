// Package filter parses X-Ray filter expressions and evaluates them on
// traces (xray.Trace), whichever protocol brought their spans.
//
// Grammar (X-Ray's prose and examples; AWS publishes no formal grammar):
//
//	expr    = or
//	or      = and { ("OR" | "||") and }
//	and     = unary { ["AND" | "&&"] unary }      juxtaposition is AND
//	unary   = ("!" | "NOT") unary | primary
//	primary = "(" expr ")" | service | edge | group | id | term
//	service = "service(" [string | id] ")" [ "{" expr "}" ]
//	edge    = "edge(" (string|id) "," (string|id) ")" [ "{" expr "}" ]
//	group   = "group.name" ("="|"!=") string | "group.arn" ("="|"!=") string
//	term    = keyword [ op value ]
//
// Keywords: booleans ok, error, fault, throttle, partial, inferred, first,
// last, remote, root (bare = true, "!k" = false, "k = true|false");
// numbers responsetime, duration, http.status, index, coverage; strings
// http.url, http.method, http.useragent, http.clientip, user, name, type,
// message, availabilityzone, instance.id, resource.arn, service (the same as
// name); annotation.<key> (string, number or boolean; bare = is set). Number
// operators = != < <= > >=; string operators = != CONTAINS BEGINSWITH
// ENDSWITH (case-insensitive keywords). rootcause.* is rejected.
//
// Outside service()/edge() a term is about the trace: fault, error, ok,
// responsetime and http.* are the entry segment's (X-Ray's TraceSummary
// HasFault/HasError/ResponseTime/Http); throttle, partial, user, name,
// type, message and annotation.* hold if any segment matches; duration is
// the whole trace's. Inside service(name){…} a term is about that node's
// segments; inside edge(a,b){…} about the calls from a to b (b's segments
// called from a).
package filter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// MaxLength bounds an expression (X-Ray's console allows 2000 characters).
const MaxLength = 4000

// maxDepth bounds nesting of parentheses and scopes.
const maxDepth = 64

// Expr is a parsed expression.
type Expr interface{ String() string }

// And, Or and Not combine expressions.
type (
	And struct{ L, R Expr }
	Or  struct{ L, R Expr }
	Not struct{ X Expr }
	// Term is keyword op value; Op is "" for a bare keyword.
	Term struct {
		Key string
		Op  string
		Str string
		Num float64
		// Kind is 's' (string value), 'n' (number) or 'b' (boolean) when
		// Op is set.
		Kind byte
		Bool bool
	}
	// Service is service(name){filter}; Name "" matches any node.
	Service struct {
		Node   NodeID
		Filter Expr
	}
	// Edge is edge(from, to){filter}.
	Edge struct {
		From, To NodeID
		Filter   Expr
	}
	// Group is group.name = "x" (or group.arn): the group's expression.
	Group struct {
		Name, ARN string
		Neg       bool
	}
	// True matches every trace (an empty expression).
	True struct{}
)

// NodeID names a node: by name, and optionally type and account id
// (id(name: "x", type: "AWS::Lambda::Function")).
type NodeID struct{ Name, Type, Account string }

func (e *And) String() string     { return "(" + e.L.String() + " AND " + e.R.String() + ")" }
func (e *Or) String() string      { return "(" + e.L.String() + " OR " + e.R.String() + ")" }
func (e *Not) String() string     { return "!" + e.X.String() }
func (e *True) String() string    { return "" } // blank text parses to True
func (e *Service) String() string { return "service(" + e.Node.String() + "){" + str(e.Filter) + "}" }
func (e *Edge) String() string {
	return "edge(" + e.From.String() + ", " + e.To.String() + "){" + str(e.Filter) + "}"
}
func (e *Group) String() string {
	op := "="
	if e.Neg {
		op = "!="
	}
	if e.ARN != "" {
		return "group.arn " + op + " " + strconv.Quote(e.ARN)
	}
	return "group.name " + op + " " + strconv.Quote(e.Name)
}
func (t *Term) String() string {
	if t.Op == "" {
		return t.Key
	}
	switch t.Kind {
	case 's':
		return t.Key + " " + t.Op + " " + strconv.Quote(t.Str)
	case 'b':
		return t.Key + " " + t.Op + " " + strconv.FormatBool(t.Bool)
	}
	return t.Key + " " + t.Op + " " + strconv.FormatFloat(t.Num, 'g', -1, 64)
}
func (n NodeID) String() string {
	if n.Type == "" && n.Account == "" {
		return strconv.Quote(n.Name)
	}
	return fmt.Sprintf("id(name: %q, type: %q, account.id: %q)", n.Name, n.Type, n.Account)
}

func str(e Expr) string {
	if e == nil {
		return ""
	}
	return e.String()
}

// Error is a syntax error.
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("Invalid filter expression at %d: %s", e.Pos, e.Msg)
}

// keyword kinds.
var (
	boolKeys = map[string]bool{"ok": true, "error": true, "fault": true, "throttle": true, "partial": true,
		"inferred": true, "first": true, "last": true, "remote": true, "root": true}
	numKeys = map[string]bool{"responsetime": true, "duration": true, "http.status": true, "index": true, "coverage": true}
	strKeys = map[string]bool{"http.url": true, "http.method": true, "http.useragent": true, "http.clientip": true,
		"user": true, "name": true, "type": true, "message": true, "availabilityzone": true, "instance.id": true,
		"resource.arn": true, "service": true}
	numOps = map[string]bool{"=": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}
	strOps = map[string]bool{"=": true, "!=": true, "CONTAINS": true, "BEGINSWITH": true, "ENDSWITH": true}
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp
	tPunct
)

type token struct {
	kind tokKind
	s    string
	pos  int
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			j := i + 1
			var b strings.Builder
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			if j >= len(s) {
				return nil, &Error{i, "unterminated string"}
			}
			toks = append(toks, token{tString, b.String(), i})
			i = j + 1
		case c == '(' || c == ')' || c == '{' || c == '}' || c == ',' || c == ':':
			toks = append(toks, token{tPunct, string(c), i})
			i++
		case c == '&' && i+1 < len(s) && s[i+1] == '&':
			toks = append(toks, token{tIdent, "AND", i})
			i += 2
		case c == '|' && i+1 < len(s) && s[i+1] == '|':
			toks = append(toks, token{tIdent, "OR", i})
			i += 2
		case c == '!' || c == '=' || c == '<' || c == '>':
			if i+1 < len(s) && s[i+1] == '=' {
				toks = append(toks, token{tOp, s[i : i+2], i})
				i += 2
			} else {
				toks = append(toks, token{tOp, string(c), i})
				i++
			}
		case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				((s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E'))) {
				j++
			}
			toks = append(toks, token{tNumber, s[i:j], i})
			i = j
		case c == '_' || c == '#' || c == '@' || unicode.IsLetter(rune(c)) || c >= 0x80:
			j := i
			for j < len(s) {
				d := s[j]
				if d == '_' || d == '.' || d == '#' || d == '@' || d >= 0x80 || d >= '0' && d <= '9' || d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' {
					j++
					continue
				}
				break
			}
			toks = append(toks, token{tIdent, s[i:j], i})
			i = j
		default:
			return nil, &Error{i, fmt.Sprintf("unexpected character %q", c)}
		}
	}
	return append(toks, token{tEOF, "", len(s)}), nil
}

// Parse parses an expression; blank text parses to True.
func Parse(s string) (Expr, error) {
	if len(s) > MaxLength {
		return nil, &Error{0, fmt.Sprintf("expression longer than %d characters", MaxLength)}
	}
	if strings.TrimSpace(s) == "" {
		return &True{}, nil
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, &Error{t.pos, fmt.Sprintf("unexpected %q", t.s)}
	}
	return e, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.s, w)
}

func (p *parser) expect(kind tokKind, s string) error {
	t := p.next()
	if t.kind != kind || t.s != s {
		return &Error{t.pos, fmt.Sprintf("expected %q, found %q", s, t.s)}
	}
	return nil
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("OR") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Or{l, r}
	}
	return l, nil
}

func (p *parser) startsUnary() bool {
	t := p.peek()
	switch t.kind {
	case tIdent:
		return !strings.EqualFold(t.s, "OR") && !strings.EqualFold(t.s, "AND")
	case tOp:
		return t.s == "!"
	case tPunct:
		return t.s == "("
	}
	return false
}

func (p *parser) and() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		if p.isWord("AND") {
			p.next()
		} else if !p.startsUnary() {
			return l, nil
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &And{l, r}
	}
}

func (p *parser) unary() (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, &Error{p.peek().pos, "expression nested too deeply"}
	}
	t := p.peek()
	if (t.kind == tOp && t.s == "!") || (t.kind == tIdent && strings.EqualFold(t.s, "NOT")) {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Not{x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	t := p.next()
	switch {
	case t.kind == tPunct && t.s == "(":
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tPunct, ")"); err != nil {
			return nil, err
		}
		return e, nil
	case t.kind != tIdent:
		return nil, &Error{t.pos, fmt.Sprintf("expected a keyword, found %q", t.s)}
	}
	key := strings.ToLower(t.s)
	if (key == "service" || key == "edge" || key == "id") && p.peek().kind == tPunct && p.peek().s == "(" {
		return p.function(key, t.pos)
	}
	switch {
	case key == "group.name" || key == "group.arn":
		op := p.next()
		if op.kind != tOp || (op.s != "=" && op.s != "!=") {
			return nil, &Error{op.pos, key + " takes = or !="}
		}
		v := p.next()
		if v.kind != tString {
			return nil, &Error{v.pos, key + " needs a quoted value"}
		}
		g := &Group{Neg: op.s == "!="}
		if key == "group.name" {
			g.Name = v.s
		} else {
			g.ARN = v.s
		}
		return g, nil
	case strings.HasPrefix(key, "rootcause."):
		return nil, &Error{t.pos, "rootcause keywords are not supported"}
	case strings.HasPrefix(key, "annotation."), strings.HasPrefix(key, "annotation["):
		name := t.s[len("annotation."):]
		if name == "" {
			return nil, &Error{t.pos, "annotation needs a key"}
		}
		return p.term("annotation."+name, 'a', t.pos)
	case boolKeys[key]:
		return p.term(key, 'b', t.pos)
	case numKeys[key]:
		return p.term(key, 'n', t.pos)
	case strKeys[key]:
		return p.term(key, 's', t.pos)
	}
	return nil, &Error{t.pos, fmt.Sprintf("unknown keyword %q", t.s)}
}

// term parses [op value] after a keyword of kind k ('b', 'n', 's', or 'a'
// for annotations, which take any).
func (p *parser) term(key string, k byte, pos int) (Expr, error) {
	t := &Term{Key: key}
	op := p.peek()
	opStr := ""
	if op.kind == tOp && op.s != "!" {
		opStr = op.s
	} else if op.kind == tIdent {
		if u := strings.ToUpper(op.s); u == "CONTAINS" || u == "BEGINSWITH" || u == "ENDSWITH" {
			opStr = u
		}
	}
	if opStr == "" {
		if k == 'n' || k == 's' {
			return nil, &Error{pos, fmt.Sprintf("%s needs an operator and a value", key)}
		}
		return t, nil // bare: true / is set
	}
	p.next()
	t.Op = opStr
	v := p.next()
	switch {
	case v.kind == tString:
		if k == 'n' || k == 'b' {
			return nil, &Error{v.pos, fmt.Sprintf("%s compares with a number or boolean, not a string", key)}
		}
		if !strOps[opStr] {
			return nil, &Error{op.pos, fmt.Sprintf("operator %s does not apply to strings", opStr)}
		}
		t.Kind, t.Str = 's', v.s
	case v.kind == tNumber:
		if k == 'b' {
			return nil, &Error{v.pos, fmt.Sprintf("%s compares with true or false", key)}
		}
		if k == 's' {
			return nil, &Error{v.pos, fmt.Sprintf("%s needs a quoted string", key)}
		}
		f, err := strconv.ParseFloat(v.s, 64)
		if err != nil {
			return nil, &Error{v.pos, "bad number " + strconv.Quote(v.s)}
		}
		if !numOps[opStr] {
			return nil, &Error{op.pos, fmt.Sprintf("operator %s does not apply to numbers", opStr)}
		}
		t.Kind, t.Num = 'n', f
	case v.kind == tIdent && (strings.EqualFold(v.s, "true") || strings.EqualFold(v.s, "false")):
		if k == 'n' || k == 's' {
			return nil, &Error{v.pos, fmt.Sprintf("%s does not compare with a boolean", key)}
		}
		if opStr != "=" && opStr != "!=" {
			return nil, &Error{op.pos, "booleans take = or !="}
		}
		t.Kind, t.Bool = 'b', strings.EqualFold(v.s, "true")
	default:
		return nil, &Error{v.pos, fmt.Sprintf("expected a value, found %q", v.s)}
	}
	return t, nil
}

func (p *parser) nodeID() (NodeID, error) {
	t := p.peek()
	if t.kind == tString {
		p.next()
		return NodeID{Name: t.s}, nil
	}
	if t.kind == tIdent && strings.EqualFold(t.s, "id") {
		p.next()
		if err := p.expect(tPunct, "("); err != nil {
			return NodeID{}, err
		}
		var n NodeID
		for {
			k := p.next()
			if k.kind == tPunct && k.s == ")" {
				return n, nil
			}
			if k.kind != tIdent {
				return NodeID{}, &Error{k.pos, "expected name, type or account.id"}
			}
			if err := p.expect(tPunct, ":"); err != nil {
				return NodeID{}, err
			}
			v := p.next()
			if v.kind != tString {
				return NodeID{}, &Error{v.pos, "id() values are quoted strings"}
			}
			switch strings.ToLower(k.s) {
			case "name":
				n.Name = v.s
			case "type":
				n.Type = v.s
			case "account.id":
				n.Account = v.s
			default:
				return NodeID{}, &Error{k.pos, "id() takes name, type and account.id"}
			}
			if p.peek().kind == tPunct && p.peek().s == "," {
				p.next()
			}
		}
	}
	return NodeID{}, &Error{t.pos, "expected a quoted name or id(...)"}
}

func (p *parser) function(key string, pos int) (Expr, error) {
	if key == "id" {
		// id(...) alone is service(id(...)).
		p.i--
		n, err := p.nodeID()
		if err != nil {
			return nil, err
		}
		return &Service{Node: n}, nil
	}
	if err := p.expect(tPunct, "("); err != nil {
		return nil, err
	}
	var from, to NodeID
	var err error
	if key == "service" {
		if !(p.peek().kind == tPunct && p.peek().s == ")") {
			if from, err = p.nodeID(); err != nil {
				return nil, err
			}
		}
	} else {
		if from, err = p.nodeID(); err != nil {
			return nil, err
		}
		if err := p.expect(tPunct, ","); err != nil {
			return nil, err
		}
		if to, err = p.nodeID(); err != nil {
			return nil, err
		}
	}
	if err := p.expect(tPunct, ")"); err != nil {
		return nil, err
	}
	var inner Expr
	if p.peek().kind == tPunct && p.peek().s == "{" {
		p.next()
		if p.peek().kind == tPunct && p.peek().s == "}" {
			p.next()
		} else {
			p.depth++
			inner, err = p.or()
			p.depth--
			if err != nil {
				return nil, err
			}
			if err := p.expect(tPunct, "}"); err != nil {
				return nil, err
			}
		}
	}
	if key == "service" {
		return &Service{Node: from, Filter: inner}, nil
	}
	return &Edge{From: from, To: to, Filter: inner}, nil
}
