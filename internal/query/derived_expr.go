package query

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/waggle-hq/waggle/internal/event"
)

// Derived columns (Honeycomb's calculated fields) are expressions over an
// event's columns, written in Honeycomb's expression language:
//
//	expr := '!' expr | expr ('*'|'/'|'%') expr | expr '-' expr | expr '+' expr
//	      | expr ('<'|'<='|'>'|'>=') expr | expr ('='|'!=') expr
//	      | expr AND expr | expr OR expr | '(' expr ')' | fun | column | literal
//	fun := NAME '(' [expr {',' expr} [',']] ')'
//	column := '$' name | '$' "quoted" | '$' `raw`
//	literal := ['-'] int | ['-'] float | "string" | `raw` | true | false | null
//
// Operators bind in that order, tightest first; each is left-associative.
// An operator is the function of the same meaning: '!' NOT, '*' MUL, '/'
// DIV, '%' MOD, '-' SUB, '+' SUM, '<' LT, '<=' LTE, '>' GT, '>=' GTE, '='
// EQUALS, '!=' NOT(EQUALS), AND, OR.
//
// ParseDerived parses an expression; CheckDerived types it against a
// dataset's columns. Every expression has a static type (string, integer,
// float, boolean, or null for the null literal), which is what lets a store
// compile it to SQL; the semantics of each function are those of EvalDerived
// (derived_eval.go), which the stores' SQL must reproduce exactly.

// ExprKind says what an Expr node is.
type ExprKind uint8

// The kinds of expression nodes.
const (
	ExprLiteral ExprKind = iota + 1
	ExprColumn
	ExprCall
)

// Expr is a parsed derived-column expression.
type Expr struct {
	Kind ExprKind
	// Value is a literal's value (null for the null literal).
	Value event.Value
	// Column is a column reference's name.
	Column string
	// Func is a call's function, upper case; operators are calls.
	Func string
	Args []*Expr
	// Type is the static type CheckDerived gave the node: a value of this
	// type or null. TypeNull for the null literal and unknown columns.
	Type event.Type
	// Pos is the byte offset of the node in the source.
	Pos int
}

// MaxDerivedExpression bounds an expression's source length, and
// maxExprDepth its nesting.
const (
	MaxDerivedExpression = 16 << 10
	maxExprDepth         = 64
)

// DerivedError is a parse or type error of an expression, at byte offset
// Pos.
type DerivedError struct {
	Pos int
	Msg string
}

func (e *DerivedError) Error() string { return fmt.Sprintf("at position %d: %s", e.Pos+1, e.Msg) }

func derr(pos int, format string, args ...any) error {
	return &DerivedError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tInt
	tFloat
	tString
	tColumn
	tName
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string // operator, name; decoded string or column name
	pos  int
}

// lex splits src into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		r, w := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && w == 1 {
			return nil, derr(i, "invalid UTF-8")
		}
		if unicode.IsSpace(r) {
			i += w
			continue
		}
		start := i
		switch {
		case r == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case r == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case r == ',':
			toks = append(toks, token{tComma, ",", i})
			i++
		case r == '"' || r == '`':
			s, n, err := lexString(src[i:], i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tString, s, start})
			i += n
		case r == '$':
			i++
			if i < len(src) && (src[i] == '"' || src[i] == '`') {
				s, n, err := lexString(src[i:], i)
				if err != nil {
					return nil, err
				}
				if s == "" {
					return nil, derr(start, "empty column name")
				}
				toks = append(toks, token{tColumn, s, start})
				i += n
				continue
			}
			j := i
			for j < len(src) {
				c, cw := utf8.DecodeRuneInString(src[j:])
				if !colRune(c) {
					break
				}
				j += cw
			}
			if j == i {
				return nil, derr(start, "a column name must follow $ (quote names with other characters: $\"my column\")")
			}
			toks = append(toks, token{tColumn, src[i:j], start})
			i = j
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j, isFloat := lexNumber(src, i)
			kind := tInt
			if isFloat {
				kind = tFloat
			}
			toks = append(toks, token{kind, src[i:j], start})
			i = j
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			j := i
			for j < len(src) && (src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= '0' && src[j] <= '9' || src[j] == '_') {
				j++
			}
			toks = append(toks, token{tName, src[i:j], start})
			i = j
		default:
			op := ""
			for _, o := range []string{"<=", ">=", "!=", "<", ">", "=", "!", "*", "/", "%", "+", "-"} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, derr(i, "unexpected character %q", r)
			}
			toks = append(toks, token{tOp, op, start})
			i += len(op)
		}
	}
	return append(toks, token{tEOF, "", len(src)}), nil
}

func colRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_./:=+?-", r)
}

// lexNumber scans DIGITS ['.' DIGITS] [e [+-] DIGITS] or '.' DIGITS [...].
func lexNumber(src string, i int) (end int, isFloat bool) {
	digits := func(j int) int {
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
		}
		return j
	}
	j := digits(i)
	if j < len(src) && src[j] == '.' && j+1 < len(src) && src[j+1] >= '0' && src[j+1] <= '9' {
		j = digits(j + 1)
		isFloat = true
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && src[k] >= '0' && src[k] <= '9' {
			j = digits(k)
			isFloat = true
		}
	}
	return j, isFloat
}

// lexString scans a "Go-escaped" or `raw` string at the start of s (which
// sits at offset off), returning its value and length.
func lexString(s string, off int) (string, int, error) {
	q := s[0]
	if q == '`' {
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return "", 0, derr(off, "unterminated raw string")
		}
		return s[1 : 1+end], end + 2, nil
	}
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '\n':
			return "", 0, derr(off+j, "newline in string")
		case '"':
			v, err := strconv.Unquote(s[:j+1])
			if err != nil {
				return "", 0, derr(off, "invalid escape in string %s", truncate(s[:j+1]))
			}
			if !utf8.ValidString(v) {
				return "", 0, derr(off, "string is not valid UTF-8")
			}
			return v, j + 1, nil
		}
	}
	return "", 0, derr(off, "unterminated string")
}

// binary operator precedence levels, loosest first.
var opLevels = [][]string{
	{"OR"},
	{"AND"},
	{"=", "!="},
	{"<", "<=", ">", ">="},
	{"+"},
	{"-"},
	{"*", "/", "%"},
}

var opFuncs = map[string]string{
	"OR": "OR", "AND": "AND", "=": "EQUALS", "<": "LT", "<=": "LTE", ">": "GT", ">=": "GTE",
	"+": "SUM", "-": "SUB", "*": "MUL", "/": "DIV", "%": "MOD",
}

type parser struct {
	toks  []token
	i     int
	depth int
}

// ParseDerived parses a derived column expression.
func ParseDerived(src string) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, derr(0, "expression is empty")
	}
	if len(src) > MaxDerivedExpression {
		return nil, derr(0, "expression is longer than %d bytes", MaxDerivedExpression)
	}
	if !utf8.ValidString(src) {
		return nil, derr(0, "expression is not valid UTF-8")
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, derr(t.pos, "unexpected %s after the expression", describeTok(t))
	}
	return e, nil
}

func describeTok(t token) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return "string"
	case tColumn:
		return "column $" + truncate(t.text)
	}
	return "'" + truncate(t.text) + "'"
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

// binaryOp reports whether t is an operator of level.
func isOp(t token, level int) bool {
	if t.kind != tOp && t.kind != tName {
		return false
	}
	for _, o := range opLevels[level] {
		if t.text == o {
			return true
		}
	}
	return false
}

func (p *parser) expr(level int) (*Expr, error) {
	if level == len(opLevels) {
		return p.unary()
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxExprDepth*2 {
		return nil, derr(p.peek().pos, "expression is nested too deeply")
	}
	lhs, err := p.expr(level + 1)
	if err != nil {
		return nil, err
	}
	for isOp(p.peek(), level) {
		// AND( / OR( after an operand is an error, not a call.
		op := p.next()
		rhs, err := p.expr(level + 1)
		if err != nil {
			return nil, err
		}
		call := &Expr{Kind: ExprCall, Func: opFuncs[op.text], Args: []*Expr{lhs, rhs}, Pos: op.pos}
		if op.text == "!=" {
			call = &Expr{Kind: ExprCall, Func: "NOT", Args: []*Expr{{Kind: ExprCall, Func: "EQUALS", Args: []*Expr{lhs, rhs}, Pos: op.pos}}, Pos: op.pos}
		}
		lhs = call
	}
	return lhs, nil
}

func (p *parser) unary() (*Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxExprDepth*2 {
		return nil, derr(p.peek().pos, "expression is nested too deeply")
	}
	t := p.next()
	switch t.kind {
	case tOp:
		switch t.text {
		case "!":
			arg, err := p.unary()
			if err != nil {
				return nil, err
			}
			return &Expr{Kind: ExprCall, Func: "NOT", Args: []*Expr{arg}, Pos: t.pos}, nil
		case "-":
			n := p.peek()
			if n.kind == tInt || n.kind == tFloat {
				p.next()
				return numLiteral("-"+n.text, n.kind == tFloat, t.pos)
			}
		}
		return nil, derr(t.pos, "unexpected %s", describeTok(t))
	case tInt, tFloat:
		return numLiteral(t.text, t.kind == tFloat, t.pos)
	case tString:
		return &Expr{Kind: ExprLiteral, Value: event.String(t.text), Pos: t.pos}, nil
	case tColumn:
		return &Expr{Kind: ExprColumn, Column: t.text, Pos: t.pos}, nil
	case tLParen:
		e, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, derr(c.pos, "expected ')' but found %s", describeTok(c))
		}
		return e, nil
	case tName:
		switch t.text {
		case "true", "false":
			return &Expr{Kind: ExprLiteral, Value: event.Bool(t.text == "true"), Pos: t.pos}, nil
		case "null":
			return &Expr{Kind: ExprLiteral, Pos: t.pos}, nil
		}
		if p.peek().kind != tLParen {
			return nil, derr(t.pos, "unexpected name %q: columns start with $, strings are quoted, functions take parentheses", truncate(t.text))
		}
		p.next()
		name := strings.ToUpper(t.text)
		if _, ok := derivedFuncs[name]; !ok {
			return nil, derr(t.pos, "unknown function %s", truncate(t.text))
		}
		call := &Expr{Kind: ExprCall, Func: name, Pos: t.pos}
		for p.peek().kind != tRParen {
			arg, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			call.Args = append(call.Args, arg)
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			if c := p.peek(); c.kind != tRParen {
				return nil, derr(c.pos, "expected ',' or ')' in the arguments of %s but found %s", name, describeTok(c))
			}
		}
		p.next()
		return call, nil
	}
	return nil, derr(t.pos, "unexpected %s", describeTok(t))
}

func numLiteral(text string, isFloat bool, pos int) (*Expr, error) {
	if !isFloat {
		i, err := strconv.ParseInt(text, 10, 64)
		if err == nil {
			return &Expr{Kind: ExprLiteral, Value: event.Int(i), Pos: pos}, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, derr(pos, "number %s is out of range", truncate(text))
	}
	return &Expr{Kind: ExprLiteral, Value: event.Float(f), Pos: pos}, nil
}

// String renders e in the expression language; ParseDerived(e.String())
// yields the same tree.
func (e *Expr) String() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e *Expr) write(b *strings.Builder) {
	switch e.Kind {
	case ExprLiteral:
		switch e.Value.Type() {
		case event.TypeNull:
			b.WriteString("null")
		case event.TypeString:
			b.WriteString(strconv.Quote(e.Value.Str()))
		case event.TypeFloat:
			s := strconv.FormatFloat(e.Value.Float(), 'g', -1, 64)
			if !strings.ContainsAny(s, ".eEn") {
				s += ".0"
			}
			b.WriteString(s)
		default:
			b.WriteString(e.Value.Text())
		}
	case ExprColumn:
		b.WriteString("$" + strconv.Quote(e.Column))
	case ExprCall:
		b.WriteString(e.Func)
		b.WriteByte('(')
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteByte(')')
	}
}

// Columns lists the columns e references, each once, in order of
// appearance.
func (e *Expr) Columns() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(*Expr)
	walk = func(x *Expr) {
		if x.Kind == ExprColumn && !seen[x.Column] {
			seen[x.Column] = true
			out = append(out, x.Column)
		}
		for _, a := range x.Args {
			walk(a)
		}
	}
	walk(e)
	return out
}

// funcSpec is a function's arity (max < 0: variadic).
type funcSpec struct{ min, max int }

var derivedFuncs = map[string]funcSpec{
	"IF": {2, -1}, "SWITCH": {3, -1}, "COALESCE": {1, -1},
	"LT": {2, 2}, "LTE": {2, 2}, "GT": {2, 2}, "GTE": {2, 2}, "EQUALS": {2, 2}, "IN": {2, -1},
	"EXISTS": {1, 1}, "NOT": {1, 1}, "AND": {1, -1}, "OR": {1, -1},
	"SUM": {1, -1}, "SUB": {2, 2}, "MUL": {1, -1}, "DIV": {2, 2}, "MOD": {2, 2},
	"MIN": {1, -1}, "MAX": {1, -1}, "LOG10": {1, 1}, "BUCKET": {2, 4},
	"INT": {1, 1}, "FLOAT": {1, 1}, "BOOL": {1, 1}, "STRING": {1, 1},
	"CONCAT": {1, -1}, "STARTS_WITH": {2, 2}, "ENDS_WITH": {2, 2}, "CONTAINS": {2, 2},
	"TO_LOWER": {1, 1}, "LENGTH": {1, 2},
	"REG_MATCH": {2, 2}, "REG_VALUE": {2, 2}, "REG_COUNT": {2, 2},
	"UNIX_TIMESTAMP": {1, 1}, "EVENT_TIMESTAMP": {0, 0}, "INGEST_TIMESTAMP": {0, 0}, "FORMAT_TIME": {2, 2},
}

// formatTimeVerbs are the strftime conversions FORMAT_TIME accepts (every
// store renders them alike).
const formatTimeVerbs = "YmdHMSyj%"

// CheckDerived type-checks e against cols (the dataset's columns) and sets
// every node's Type. With strict, a reference to an unknown column is an
// error; otherwise it reads as null (a column no event has sent yet).
func CheckDerived(e *Expr, cols map[string]ColumnInfo, strict bool) error {
	return check(e, cols, strict, 0)
}

func isNum(t event.Type) bool { return t == event.TypeInt || t == event.TypeFloat }

// numCoercible says whether t may be an operand of the math functions.
func numCoercible(t event.Type) bool { return t != event.TypeBool }

func check(e *Expr, cols map[string]ColumnInfo, strict bool, depth int) error {
	if depth > maxExprDepth {
		return derr(e.Pos, "expression is nested too deeply (more than %d levels)", maxExprDepth)
	}
	switch e.Kind {
	case ExprLiteral:
		e.Type = e.Value.Type()
		return nil
	case ExprColumn:
		c, ok := cols[e.Column]
		if !ok || c.Derived != nil {
			if ok || strict {
				if ok {
					return derr(e.Pos, "$%s is a derived column; a derived column may only read the dataset's columns", truncate(e.Column))
				}
				return derr(e.Pos, "unknown column $%s", truncate(e.Column))
			}
			e.Type = event.TypeNull
			return nil
		}
		e.Type = c.Type
		if e.Type == event.TypeNull {
			e.Type = event.TypeString
		}
		return nil
	}
	spec := derivedFuncs[e.Func]
	if len(e.Args) < spec.min || spec.max >= 0 && len(e.Args) > spec.max {
		switch {
		case spec.max < 0:
			return derr(e.Pos, "%s takes at least %d arguments, not %d", e.Func, spec.min, len(e.Args))
		case spec.min == spec.max:
			return derr(e.Pos, "%s takes %d arguments, not %d", e.Func, spec.min, len(e.Args))
		}
		return derr(e.Pos, "%s takes %d to %d arguments, not %d", e.Func, spec.min, spec.max, len(e.Args))
	}
	for _, a := range e.Args {
		if err := check(a, cols, strict, depth+1); err != nil {
			return err
		}
	}
	args := e.Args
	switch e.Func {
	case "IF":
		var vals []*Expr
		for i := 1; i < len(args); i += 2 {
			vals = append(vals, args[i])
		}
		if len(args)%2 == 1 {
			vals = append(vals, args[len(args)-1])
		}
		e.Type = unify(vals)
	case "SWITCH":
		var vals []*Expr
		for i := 2; i < len(args); i += 2 {
			vals = append(vals, args[i])
		}
		if len(args)%2 == 0 {
			vals = append(vals, args[len(args)-1])
		}
		e.Type = unify(vals)
	case "COALESCE":
		e.Type = unify(args)
	case "LT", "LTE", "GT", "GTE":
		a, b := args[0].Type, args[1].Type
		if a != event.TypeNull && b != event.TypeNull && !(isNum(a) && isNum(b)) && !(a == event.TypeString && b == event.TypeString) {
			return derr(e.Pos, "%s compares two numbers or two strings, not a %s with a %s", e.Func, typeName(a), typeName(b))
		}
		if a == event.TypeBool || b == event.TypeBool {
			return derr(e.Pos, "%s cannot compare booleans", e.Func)
		}
		e.Type = event.TypeBool
	case "EQUALS", "IN", "EXISTS", "NOT", "AND", "OR", "BOOL", "STARTS_WITH", "ENDS_WITH", "CONTAINS":
		e.Type = event.TypeBool
	case "SUM", "SUB", "MUL", "MIN", "MAX", "MOD", "BUCKET":
		e.Type = event.TypeInt
		for i, a := range args {
			if !numCoercible(a.Type) {
				return derr(a.Pos, "%s needs numbers, but argument %d is a boolean", e.Func, i+1)
			}
			if a.Type == event.TypeFloat || a.Type == event.TypeString {
				e.Type = event.TypeFloat
			}
		}
	case "DIV", "LOG10":
		for i, a := range args {
			if !numCoercible(a.Type) {
				return derr(a.Pos, "%s needs numbers, but argument %d is a boolean", e.Func, i+1)
			}
		}
		e.Type = event.TypeFloat
	case "INT":
		e.Type = event.TypeInt
	case "FLOAT":
		e.Type = event.TypeFloat
	case "STRING", "CONCAT", "TO_LOWER":
		e.Type = event.TypeString
	case "LENGTH":
		e.Type = event.TypeInt
		if len(args) == 2 {
			m := args[1]
			if m.Kind != ExprLiteral || m.Value.Type() != event.TypeString || (m.Value.Str() != "bytes" && m.Value.Str() != "chars") {
				return derr(m.Pos, `LENGTH's second argument is "bytes" or "chars"`)
			}
		}
	case "REG_MATCH", "REG_VALUE", "REG_COUNT":
		re := args[1]
		if re.Kind != ExprLiteral || re.Value.Type() != event.TypeString {
			return derr(re.Pos, "%s's pattern must be a string literal (`raw strings` avoid escaping)", e.Func)
		}
		if _, err := regexp.Compile(re.Value.Str()); err != nil {
			return derr(re.Pos, "%s: invalid regular expression: %v", e.Func, err)
		}
		switch e.Func {
		case "REG_MATCH":
			e.Type = event.TypeBool
		case "REG_VALUE":
			e.Type = event.TypeString
		default:
			e.Type = event.TypeInt
		}
	case "UNIX_TIMESTAMP":
		if t := args[0].Type; t != event.TypeString && t != event.TypeNull {
			return derr(e.Pos, "UNIX_TIMESTAMP parses a string (RFC 3339), not a %s", typeName(t))
		}
		e.Type = event.TypeInt
	case "EVENT_TIMESTAMP":
		e.Type = event.TypeFloat
	case "INGEST_TIMESTAMP":
		return derr(e.Pos, "INGEST_TIMESTAMP is not available: waggle does not keep the time an event was received")
	case "FORMAT_TIME":
		f := args[0]
		if f.Kind != ExprLiteral || f.Value.Type() != event.TypeString {
			return derr(f.Pos, "FORMAT_TIME's format must be a string literal")
		}
		if err := checkTimeFormat(f.Value.Str()); err != nil {
			return derr(f.Pos, "FORMAT_TIME: %v", err)
		}
		if t := args[1].Type; !isNum(t) && t != event.TypeNull {
			return derr(args[1].Pos, "FORMAT_TIME formats a Unix timestamp in seconds (a number), not a %s", typeName(t))
		}
		e.Type = event.TypeString
	default:
		return derr(e.Pos, "unknown function %s", e.Func)
	}
	return nil
}

func checkTimeFormat(f string) error {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		if i+1 >= len(f) || !strings.ContainsRune(formatTimeVerbs, rune(f[i+1])) {
			return fmt.Errorf("supported conversions are %%Y %%m %%d %%H %%M %%S %%y %%j and %%%%")
		}
		i++
	}
	return nil
}

// unify is the type of a value that is one of exprs': null when all are
// null, the common type, float for integers mixed with floats, string
// otherwise (values rendered as text).
func unify(exprs []*Expr) event.Type {
	t := event.TypeNull
	for _, e := range exprs {
		t = event.Widen(t, e.Type)
	}
	return t
}
