package cloudwatchlogs

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The Logs Insights subset: commands fields, display, filter, stats, sort,
// limit, parse (glob and regex), joined by '|', '#' comments. Expressions:
// fields (@message, a.b, `odd name`), numbers, "strings", /regex/, [lists],
// + - * / %, = != < <= > >=, like "x", like /re/, =~ /re/, in [..],
// not in [..], and, or, not, and functions (see callFunc). Aggregates:
// count(*) count(f) sum avg min max pct(f, n) count_distinct earliest latest.

type iqCmdKind uint8

const (
	cmdFields iqCmdKind = iota + 1
	cmdDisplay
	cmdFilter
	cmdStats
	cmdSort
	cmdLimit
	cmdParse
)

type iqCmd struct {
	kind   iqCmdKind
	fields []namedExpr // fields, display, stats aggregates
	by     []namedExpr // stats by
	filter *iqExpr
	sorts  []sortKey
	limit  int
	// parse
	src     *iqExpr
	glob    *regexp.Regexp
	re      *regexp.Regexp
	targets []string
}

type namedExpr struct {
	name string
	e    *iqExpr
}

type sortKey struct {
	name string
	e    *iqExpr
	desc bool
}

type iqExpr struct {
	op    string // "field", "lit", "call", "agg", binary ops, "not", "neg", "in", "like", "list"
	name  string // field name or function
	lit   any
	re    *regexp.Regexp
	args  []*iqExpr
	list  []any
	negIn bool
	// bin: bucket width
	bin time.Duration
	// p: percentile
}

type iqQuery struct {
	cmds []iqCmd
}

// MalformedQuery is a parse error.
type MalformedQuery struct{ Msg string }

func (e *MalformedQuery) Error() string { return e.Msg }

func malformed(format string, args ...any) error {
	return &MalformedQuery{Msg: fmt.Sprintf(format, args...)}
}

// ParseInsights parses a Logs Insights query.
func ParseInsights(q string) (*iqQuery, error) {
	if len(q) > 10000 {
		return nil, malformed("query is longer than 10000 characters")
	}
	var cmds []iqCmd
	for _, part := range splitPipes(stripComments(q)) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		c, err := parseCommand(part)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	if len(cmds) == 0 {
		return nil, malformed("query is empty")
	}
	stats := 0
	for _, c := range cmds {
		if c.kind == cmdStats {
			stats++
		}
	}
	if stats > 2 {
		return nil, malformed("at most two stats commands are allowed")
	}
	return &iqQuery{cmds: cmds}, nil
}

func stripComments(q string) string {
	var b strings.Builder
	inStr, inRe := byte(0), false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case inStr != 0:
			if c == '\\' && i+1 < len(q) {
				b.WriteByte(c)
				i++
				c = q[i]
			} else if c == inStr {
				inStr = 0
			}
		case inRe:
			if c == '\\' && i+1 < len(q) {
				b.WriteByte(c)
				i++
				c = q[i]
			} else if c == '/' {
				inRe = false
			}
		case c == '"' || c == '\'' || c == '`':
			inStr = c
		case c == '#':
			for i < len(q) && q[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func splitPipes(q string) []string {
	var out []string
	inStr := byte(0)
	start := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case inStr != 0:
			if c == '\\' {
				i++
			} else if c == inStr {
				inStr = 0
			}
		case c == '"' || c == '\'' || c == '`':
			inStr = c
		case c == '|' && !(i+1 < len(q) && q[i+1] == '|') && !(i > 0 && q[i-1] == '|'):
			out = append(out, q[start:i])
			start = i + 1
		}
	}
	return append(out, q[start:])
}

func parseCommand(s string) (iqCmd, error) {
	word := s
	rest := ""
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		word, rest = s[:i], strings.TrimSpace(s[i:])
	}
	switch strings.ToLower(word) {
	case "fields", "display":
		kind := cmdFields
		if strings.ToLower(word) == "display" {
			kind = cmdDisplay
		}
		fs, err := parseNamedList(rest)
		if err != nil {
			return iqCmd{}, err
		}
		return iqCmd{kind: kind, fields: fs}, nil
	case "filter":
		p := newIQParser(rest)
		e, err := p.expr()
		if err != nil {
			return iqCmd{}, err
		}
		if !p.end() {
			return iqCmd{}, malformed("unexpected %q in filter", p.rest())
		}
		return iqCmd{kind: cmdFilter, filter: e}, nil
	case "stats":
		return parseStats(rest)
	case "sort":
		return parseSort(rest)
	case "limit":
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n < 1 || n > 10000 {
			return iqCmd{}, malformed("limit must be a number from 1 to 10000")
		}
		return iqCmd{kind: cmdLimit, limit: n}, nil
	case "parse":
		return parseParse(rest)
	}
	return iqCmd{}, malformed("unknown command %q", word)
}

func parseNamedList(s string) ([]namedExpr, error) {
	p := newIQParser(s)
	var out []namedExpr
	for {
		start := p.pos
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		name := strings.TrimSpace(p.src[start:p.pos])
		if e.op == "field" {
			name = e.name
		}
		if p.word("as") {
			n, err := p.ident()
			if err != nil {
				return nil, err
			}
			name = n
		}
		out = append(out, namedExpr{name: name, e: e})
		if !p.eat(",") {
			break
		}
	}
	if !p.end() {
		return nil, malformed("unexpected %q", p.rest())
	}
	if len(out) == 0 {
		return nil, malformed("expected a field")
	}
	return out, nil
}

func parseStats(s string) (iqCmd, error) {
	lower := strings.ToLower(s)
	byIdx := -1
	// Find " by " outside parentheses and strings.
	depth, inStr := 0, byte(0)
	for i := 0; i+4 <= len(s); i++ {
		c := s[i]
		switch {
		case inStr != 0:
			if c == inStr {
				inStr = 0
			}
		case c == '"' || c == '\'' || c == '`':
			inStr = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && unicode.IsSpace(rune(c)) && lower[i+1:i+3] == "by" && i+3 < len(s) && unicode.IsSpace(rune(s[i+3])):
			byIdx = i
		}
		if byIdx >= 0 {
			break
		}
	}
	aggPart, byPart := s, ""
	if byIdx >= 0 {
		aggPart, byPart = s[:byIdx], s[byIdx+4:]
	}
	aggs, err := parseNamedList(aggPart)
	if err != nil {
		return iqCmd{}, err
	}
	for _, a := range aggs {
		if !hasAgg(a.e) {
			return iqCmd{}, malformed("stats needs aggregate functions, not %q", a.name)
		}
	}
	c := iqCmd{kind: cmdStats, fields: aggs}
	if byPart != "" {
		if c.by, err = parseNamedList(byPart); err != nil {
			return iqCmd{}, err
		}
	}
	return c, nil
}

func hasAgg(e *iqExpr) bool {
	if e == nil {
		return false
	}
	if e.op == "agg" {
		return true
	}
	for _, a := range e.args {
		if hasAgg(a) {
			return true
		}
	}
	return false
}

func parseSort(s string) (iqCmd, error) {
	p := newIQParser(s)
	var keys []sortKey
	for {
		start := p.pos
		e, err := p.expr()
		if err != nil {
			return iqCmd{}, err
		}
		k := sortKey{name: strings.TrimSpace(p.src[start:p.pos]), e: e}
		if e.op == "field" {
			k.name = e.name
		}
		if p.word("desc") {
			k.desc = true
		} else {
			p.word("asc")
		}
		keys = append(keys, k)
		if !p.eat(",") {
			break
		}
	}
	if !p.end() {
		return iqCmd{}, malformed("unexpected %q in sort", p.rest())
	}
	return iqCmd{kind: cmdSort, sorts: keys}, nil
}

var namedGroup = regexp.MustCompile(`\(\?<([A-Za-z_@][A-Za-z0-9_.@]*)>`)

func parseParse(s string) (iqCmd, error) {
	p := newIQParser(s)
	src := &iqExpr{op: "field", name: "@message"}
	p.skip()
	if p.pos < len(p.src) && p.src[p.pos] != '"' && p.src[p.pos] != '\'' && p.src[p.pos] != '/' {
		e, err := p.primary()
		if err != nil {
			return iqCmd{}, err
		}
		src = e
	}
	p.skip()
	c := iqCmd{kind: cmdParse, src: src}
	if p.pos < len(p.src) && p.src[p.pos] == '/' {
		re, err := p.regex()
		if err != nil {
			return iqCmd{}, err
		}
		// Go spells named groups (?P<name>…); Insights (?<name>…), which
		// Go also accepts.
		c.re = re
		for _, n := range re.SubexpNames()[1:] {
			if n != "" {
				c.targets = append(c.targets, n)
			}
		}
		if len(c.targets) == 0 {
			return iqCmd{}, malformed("parse with a regular expression needs named groups (?<name>...)")
		}
		if !p.end() {
			return iqCmd{}, malformed("unexpected %q in parse", p.rest())
		}
		return c, nil
	}
	pat, err := p.str()
	if err != nil {
		return iqCmd{}, malformed("parse needs a \"glob * pattern\" or a /regex/")
	}
	if !p.word("as") {
		return iqCmd{}, malformed("parse with a glob pattern needs 'as' and field names")
	}
	for {
		n, err := p.ident()
		if err != nil {
			return iqCmd{}, err
		}
		c.targets = append(c.targets, n)
		if !p.eat(",") {
			break
		}
	}
	parts := strings.Split(pat, "*")
	if len(parts)-1 != len(c.targets) {
		return iqCmd{}, malformed("parse pattern has %d wildcards but %d fields", len(parts)-1, len(c.targets))
	}
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	c.glob = regexp.MustCompile("(?s)" + strings.Join(parts, "(.*?)") + func() string {
		if strings.HasSuffix(pat, "*") {
			return "$"
		}
		return ""
	}())
	if !p.end() {
		return iqCmd{}, malformed("unexpected %q in parse", p.rest())
	}
	return c, nil
}

// ---- expression parser ----

type iqParser struct {
	src string
	pos int
}

func newIQParser(s string) *iqParser { return &iqParser{src: s} }

func (p *iqParser) skip() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *iqParser) end() bool { p.skip(); return p.pos >= len(p.src) }

func (p *iqParser) rest() string {
	r := p.src[p.pos:]
	if len(r) > 40 {
		r = r[:40]
	}
	return r
}

func (p *iqParser) eat(tok string) bool {
	p.skip()
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *iqParser) word(w string) bool {
	p.skip()
	n := len(w)
	if len(p.src)-p.pos >= n && strings.EqualFold(p.src[p.pos:p.pos+n], w) &&
		(p.pos+n == len(p.src) || !identChar(p.src[p.pos+n])) {
		p.pos += n
		return true
	}
	return false
}

func identChar(c byte) bool { return isAlnum(c) || c == '_' || c == '.' || c == '@' || c == '$' }

func (p *iqParser) ident() (string, error) {
	p.skip()
	if p.pos < len(p.src) && p.src[p.pos] == '`' {
		j := strings.IndexByte(p.src[p.pos+1:], '`')
		if j < 0 {
			return "", malformed("unterminated `")
		}
		s := p.src[p.pos+1 : p.pos+1+j]
		p.pos += j + 2
		return s, nil
	}
	j := p.pos
	for j < len(p.src) && (identChar(p.src[j]) || p.src[j] == '-' && j > p.pos && j+1 < len(p.src) && identChar(p.src[j+1]) && false) {
		j++
	}
	if j == p.pos {
		return "", malformed("expected a field name at %q", p.rest())
	}
	s := p.src[p.pos:j]
	p.pos = j
	return s, nil
}

func (p *iqParser) str() (string, error) {
	p.skip()
	if p.pos >= len(p.src) || (p.src[p.pos] != '"' && p.src[p.pos] != '\'') {
		return "", malformed("expected a string")
	}
	q := p.src[p.pos]
	var b strings.Builder
	for i := p.pos + 1; i < len(p.src); i++ {
		c := p.src[i]
		if c == '\\' && i+1 < len(p.src) {
			i++
			b.WriteByte(p.src[i])
			continue
		}
		if c == q {
			p.pos = i + 1
			return b.String(), nil
		}
		b.WriteByte(c)
	}
	return "", malformed("unterminated string")
}

func (p *iqParser) regex() (*regexp.Regexp, error) {
	p.skip()
	if p.pos >= len(p.src) || p.src[p.pos] != '/' {
		return nil, malformed("expected a /regex/")
	}
	var b strings.Builder
	for i := p.pos + 1; i < len(p.src); i++ {
		c := p.src[i]
		if c == '\\' && i+1 < len(p.src) && p.src[i+1] == '/' {
			b.WriteByte('/')
			i++
			continue
		}
		if c == '\\' && i+1 < len(p.src) {
			b.WriteByte(c)
			i++
			b.WriteByte(p.src[i])
			continue
		}
		if c == '/' {
			p.pos = i + 1
			re, err := regexp.Compile(b.String())
			if err != nil {
				return nil, malformed("invalid regular expression: %v", err)
			}
			return re, nil
		}
		b.WriteByte(c)
	}
	return nil, malformed("unterminated regular expression")
}

func (p *iqParser) expr() (*iqExpr, error) { return p.or(0) }

const iqMaxDepth = 64

func (p *iqParser) or(d int) (*iqExpr, error) {
	if d > iqMaxDepth {
		return nil, malformed("expression nests too deeply")
	}
	l, err := p.and(d)
	if err != nil {
		return nil, err
	}
	for p.word("or") || p.eat("||") {
		r, err := p.and(d)
		if err != nil {
			return nil, err
		}
		l = &iqExpr{op: "or", args: []*iqExpr{l, r}}
	}
	return l, nil
}

func (p *iqParser) and(d int) (*iqExpr, error) {
	l, err := p.not(d)
	if err != nil {
		return nil, err
	}
	for p.word("and") || p.eat("&&") {
		r, err := p.not(d)
		if err != nil {
			return nil, err
		}
		l = &iqExpr{op: "and", args: []*iqExpr{l, r}}
	}
	return l, nil
}

func (p *iqParser) not(d int) (*iqExpr, error) {
	if p.word("not") || (p.peekBang() && p.eat("!")) {
		e, err := p.not(d + 1)
		if err != nil {
			return nil, err
		}
		return &iqExpr{op: "not", args: []*iqExpr{e}}, nil
	}
	return p.cmp(d)
}

func (p *iqParser) peekBang() bool {
	p.skip()
	return p.pos+1 < len(p.src) && p.src[p.pos] == '!' && p.src[p.pos+1] != '='
}

func (p *iqParser) cmp(d int) (*iqExpr, error) {
	l, err := p.add(d)
	if err != nil {
		return nil, err
	}
	switch {
	case p.eat("=~"):
		re, err := p.regex()
		if err != nil {
			return nil, err
		}
		return &iqExpr{op: "like", args: []*iqExpr{l}, re: re}, nil
	case p.word("like"):
		return p.likeRHS(l, false)
	case p.word("not"):
		if p.word("like") {
			return p.likeRHS(l, true)
		}
		if !p.word("in") {
			return nil, malformed("expected 'in' or 'like' after 'not'")
		}
		return p.inRHS(l, true)
	case p.word("in"):
		return p.inRHS(l, false)
	}
	for _, op := range []string{"!=", "<=", ">=", "==", "=", "<", ">"} {
		if p.eat(op) {
			r, err := p.add(d)
			if err != nil {
				return nil, err
			}
			if op == "==" {
				op = "="
			}
			return &iqExpr{op: op, args: []*iqExpr{l, r}}, nil
		}
	}
	return l, nil
}

func (p *iqParser) likeRHS(l *iqExpr, neg bool) (*iqExpr, error) {
	p.skip()
	var e *iqExpr
	if p.pos < len(p.src) && p.src[p.pos] == '/' {
		re, err := p.regex()
		if err != nil {
			return nil, err
		}
		e = &iqExpr{op: "like", args: []*iqExpr{l}, re: re}
	} else {
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		e = &iqExpr{op: "like", args: []*iqExpr{l}, lit: s}
	}
	if neg {
		return &iqExpr{op: "not", args: []*iqExpr{e}}, nil
	}
	return e, nil
}

func (p *iqParser) inRHS(l *iqExpr, neg bool) (*iqExpr, error) {
	if !p.eat("[") {
		return nil, malformed("expected [ after in")
	}
	var list []any
	for !p.eat("]") {
		v, err := p.primary()
		if err != nil {
			return nil, err
		}
		if v.op != "lit" {
			return nil, malformed("in [...] takes literal values")
		}
		list = append(list, v.lit)
		if !p.eat(",") {
			if !p.eat("]") {
				return nil, malformed("expected , or ] in list")
			}
			break
		}
	}
	return &iqExpr{op: "in", args: []*iqExpr{l}, list: list, negIn: neg}, nil
}

func (p *iqParser) add(d int) (*iqExpr, error) {
	l, err := p.mul(d)
	if err != nil {
		return nil, err
	}
	for {
		p.skip()
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			op := string(p.src[p.pos])
			p.pos++
			r, err := p.mul(d)
			if err != nil {
				return nil, err
			}
			l = &iqExpr{op: op, args: []*iqExpr{l, r}}
			continue
		}
		return l, nil
	}
}

func (p *iqParser) mul(d int) (*iqExpr, error) {
	l, err := p.unary(d)
	if err != nil {
		return nil, err
	}
	for {
		p.skip()
		if p.pos < len(p.src) && (p.src[p.pos] == '*' || p.src[p.pos] == '/' || p.src[p.pos] == '%') {
			op := string(p.src[p.pos])
			p.pos++
			r, err := p.unary(d)
			if err != nil {
				return nil, err
			}
			l = &iqExpr{op: op, args: []*iqExpr{l, r}}
			continue
		}
		return l, nil
	}
}

func (p *iqParser) unary(d int) (*iqExpr, error) {
	if d > iqMaxDepth {
		return nil, malformed("expression nests too deeply")
	}
	p.skip()
	if p.pos < len(p.src) && p.src[p.pos] == '-' {
		p.pos++
		e, err := p.unary(d + 1)
		if err != nil {
			return nil, err
		}
		return &iqExpr{op: "neg", args: []*iqExpr{e}}, nil
	}
	if p.eat("(") {
		e, err := p.or(d + 1)
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, malformed("missing )")
		}
		return e, nil
	}
	return p.primary()
}

var aggNames = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true, "pct": true,
	"count_distinct": true, "earliest": true, "latest": true, "stddev": true,
}

func (p *iqParser) primary() (*iqExpr, error) {
	p.skip()
	if p.pos >= len(p.src) {
		return nil, malformed("unexpected end of query")
	}
	c := p.src[p.pos]
	switch {
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &iqExpr{op: "lit", lit: s}, nil
	case c >= '0' && c <= '9' || c == '.' && p.pos+1 < len(p.src) && p.src[p.pos+1] >= '0' && p.src[p.pos+1] <= '9':
		j := p.pos
		for j < len(p.src) && (p.src[j] >= '0' && p.src[j] <= '9' || p.src[j] == '.' || p.src[j] == 'e' || p.src[j] == 'E') {
			j++
		}
		f, err := strconv.ParseFloat(p.src[p.pos:j], 64)
		if err != nil {
			return nil, malformed("invalid number %q", p.src[p.pos:j])
		}
		p.pos = j
		return &iqExpr{op: "lit", lit: f}, nil
	}
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(name) {
	case "true":
		return &iqExpr{op: "lit", lit: true}, nil
	case "false":
		return &iqExpr{op: "lit", lit: false}, nil
	}
	if !p.eat("(") {
		return &iqExpr{op: "field", name: name}, nil
	}
	fn := strings.ToLower(name)
	e := &iqExpr{op: "call", name: fn}
	if aggNames[fn] {
		e.op = "agg"
	}
	if fn == "bin" {
		p.skip()
		j := p.pos
		for j < len(p.src) && p.src[j] != ')' {
			j++
		}
		dur, err := parseBin(strings.TrimSpace(p.src[p.pos:j]))
		if err != nil {
			return nil, err
		}
		p.pos = j
		if !p.eat(")") {
			return nil, malformed("missing ) after bin")
		}
		e.bin = dur
		return e, nil
	}
	if p.eat(")") {
		return e, nil
	}
	for {
		if fn == "count" && p.eat("*") {
			e.args = append(e.args, nil)
		} else {
			a, err := p.or(1)
			if err != nil {
				return nil, err
			}
			e.args = append(e.args, a)
		}
		if p.eat(")") {
			break
		}
		if !p.eat(",") {
			return nil, malformed("expected , or ) in call of %s", name)
		}
	}
	if fn == "count" && len(e.args) == 1 && e.args[0] == nil {
		e.args = nil
	}
	return e, checkCall(e)
}

func checkCall(e *iqExpr) error {
	switch e.name {
	case "pct":
		if len(e.args) != 2 || e.args[1].op != "lit" {
			return malformed("pct takes a field and a number")
		}
		if f, ok := e.args[1].lit.(float64); !ok || f < 0 || f > 100 {
			return malformed("pct's percentile must be from 0 to 100")
		}
	case "count":
		if len(e.args) > 1 {
			return malformed("count takes at most one argument")
		}
	case "sum", "avg", "min", "max", "count_distinct", "earliest", "latest", "stddev":
		if len(e.args) != 1 {
			return malformed("%s takes one argument", e.name)
		}
	}
	if e.op == "call" {
		if _, ok := scalarFuncs[e.name]; !ok {
			return malformed("unknown function %s", e.name)
		}
	}
	return nil
}

func parseBin(s string) (time.Duration, error) {
	units := map[string]time.Duration{
		"ms": time.Millisecond, "s": time.Second, "sec": time.Second, "m": time.Minute, "min": time.Minute,
		"h": time.Hour, "hr": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(s[:i])
	u, ok := units[strings.ToLower(s[i:])]
	if err != nil || !ok || n <= 0 || n > 100000 {
		return 0, malformed("invalid bin period %q", s)
	}
	return time.Duration(n) * u, nil
}

var errNotPushable = errors.New("not pushable")
