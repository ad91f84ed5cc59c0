package cloudwatchlogs

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/valyala/fastjson"
	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// Filter patterns (FilterLogEvents' filterPattern), as CloudWatch Logs
// documents them:
//
//   - terms: ERROR (contains, case-sensitive), several terms (all must
//     match), "quoted phrases", -exclusions, ?alternatives (at least one of
//     them must match), %regex%;
//   - JSON: { $.level = "ERROR" && ($.latency > 100 || $.user.id = 42) } with
//     = != < <= > >=, string values with * wildcards, %regex% values, IS
//     NULL / IS TRUE / IS FALSE, NOT EXISTS, selectors $.a.b, $.a[0].b;
//   - space-delimited: [ip, user, ..., status = 4*, bytes > 1000]: the line
//     is split on spaces ("quoted" and [bracketed] fields count as one),
//     each named field may carry conditions joined by && or ||, "..." matches
//     any number of fields.
//
// Compile returns the matcher and, for the store, filters every matching
// line necessarily satisfies (contains-checks on @message), so the store
// narrows the scan and Go decides.

// Pattern is a compiled filter pattern.
type Pattern struct {
	match    func(msg string) bool
	pushdown []query.Filter
}

// Match reports whether a log line matches.
func (p *Pattern) Match(msg string) bool { return p.match == nil || p.match(msg) }

// Pushdown returns filters on @message that every matching line satisfies.
func (p *Pattern) Pushdown() []query.Filter { return p.pushdown }

// maxRegexes is how many %regex% a pattern may hold.
const maxRegexes = 2

// CompilePattern parses a filter pattern.
func CompilePattern(s string) (*Pattern, error) {
	if len(s) > 1024 {
		return nil, errors.New("filter pattern is longer than 1024 characters")
	}
	t := strings.TrimSpace(s)
	switch {
	case t == "" || t == `""` || t == `" "`:
		return &Pattern{}, nil
	case t[0] == '{':
		return compileJSON(t)
	case t[0] == '[':
		return compileSpaced(t)
	}
	return compileTerms(t)
}

// contains is a pushdown filter.
func contains(s string) query.Filter {
	return query.Filter{Column: FieldMessage, Op: query.OpContains, Value: event.String(s)}
}

// ---- terms ----

type termKind uint8

const (
	termAll termKind = iota
	termNot
	termAny
)

type term struct {
	kind termKind
	text string
	re   *regexp.Regexp
}

func (t *term) matches(msg string) bool {
	if t.re != nil {
		return t.re.MatchString(msg)
	}
	return strings.Contains(msg, t.text)
}

func compileTerms(s string) (*Pattern, error) {
	var terms []term
	regexes := 0
	i := 0
	for i < len(s) {
		for i < len(s) && unicode.IsSpace(rune(s[i])) {
			i++
		}
		if i >= len(s) {
			break
		}
		kind := termAll
		switch s[i] {
		case '-':
			kind = termNot
			i++
		case '?':
			kind = termAny
			i++
		}
		if i >= len(s) {
			return nil, errors.New("filter pattern ends after an operator")
		}
		var tm term
		tm.kind = kind
		switch s[i] {
		case '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, errors.New("unterminated quoted term")
			}
			tm.text = s[i+1 : i+1+j]
			i += j + 2
		case '%':
			j := strings.IndexByte(s[i+1:], '%')
			if j < 0 {
				return nil, errors.New("unterminated regular expression")
			}
			re, err := compileRegex(s[i+1 : i+1+j])
			if err != nil {
				return nil, err
			}
			regexes++
			tm.re = re
			i += j + 2
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) {
				j++
			}
			tm.text = s[i:j]
			i = j
		}
		terms = append(terms, tm)
	}
	if regexes > maxRegexes {
		return nil, fmt.Errorf("a filter pattern may hold at most %d regular expressions", maxRegexes)
	}
	p := &Pattern{}
	hasAny := false
	for _, t := range terms {
		if t.kind == termAny {
			hasAny = true
		}
		if t.kind == termAll && t.re == nil && t.text != "" {
			p.pushdown = append(p.pushdown, contains(t.text))
		}
	}
	p.match = func(msg string) bool {
		any := false
		for i := range terms {
			t := &terms[i]
			switch t.kind {
			case termAll:
				if !t.matches(msg) {
					return false
				}
			case termNot:
				if t.matches(msg) {
					return false
				}
			case termAny:
				any = any || t.matches(msg)
			}
		}
		return !hasAny || any
	}
	return p, nil
}

// compileRegex accepts CloudWatch's regex subset (no capture groups) and
// compiles it with Go's RE2.
func compileRegex(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, errors.New("empty regular expression")
	}
	if strings.Contains(strings.ReplaceAll(s, `\(`, ""), "(") {
		return nil, errors.New("regular expressions in filter patterns cannot hold groups")
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %w", err)
	}
	return re, nil
}

// ---- JSON ----

type jnode struct {
	op          byte // '&', '|', or 0 for a comparison
	left, right *jnode
	cmp         *jcmp
}

type jcmp struct {
	path []jstep
	op   string // = != < <= > >= isnull istrue isfalse notexists
	str  *string
	glob *regexp.Regexp
	re   *regexp.Regexp
	num  *float64
	key  string // last path key, for pushdown
}

type jstep struct {
	key   string
	index int // -1: key step
}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) skip() {
	for l.pos < len(l.s) && unicode.IsSpace(rune(l.s[l.pos])) {
		l.pos++
	}
}

func (l *lexer) peek(tok string) bool {
	l.skip()
	return strings.HasPrefix(l.s[l.pos:], tok)
}

func (l *lexer) eat(tok string) bool {
	if l.peek(tok) {
		l.pos += len(tok)
		return true
	}
	return false
}

func (l *lexer) peekWord(w string) bool {
	l.skip()
	if len(l.s)-l.pos < len(w) || !strings.EqualFold(l.s[l.pos:l.pos+len(w)], w) {
		return false
	}
	return l.pos+len(w) == len(l.s) || !isWordChar(l.s[l.pos+len(w)])
}

func isWordChar(c byte) bool { return isAlnum(c) || c == '_' }

func compileJSON(s string) (*Pattern, error) {
	if !strings.HasSuffix(s, "}") {
		return nil, errors.New("JSON filter pattern must end with }")
	}
	l := &lexer{s: s[1 : len(s)-1]}
	regexes := 0
	n, err := parseOr(l, &regexes, 0)
	if err != nil {
		return nil, err
	}
	l.skip()
	if l.pos != len(l.s) {
		return nil, fmt.Errorf("unexpected %q in JSON filter pattern", l.s[l.pos:])
	}
	if regexes > maxRegexes {
		return nil, fmt.Errorf("a filter pattern may hold at most %d regular expressions", maxRegexes)
	}
	p := &Pattern{}
	pushJSON(n, &p.pushdown)
	p.match = func(msg string) bool {
		var parser fastjson.Parser
		v, err := parser.Parse(msg)
		if err != nil {
			return false
		}
		return n.eval(v)
	}
	return p, nil
}

const maxDepth = 50

func parseOr(l *lexer, rx *int, depth int) (*jnode, error) {
	left, err := parseAnd(l, rx, depth)
	if err != nil {
		return nil, err
	}
	for l.eat("||") {
		right, err := parseAnd(l, rx, depth)
		if err != nil {
			return nil, err
		}
		left = &jnode{op: '|', left: left, right: right}
	}
	return left, nil
}

func parseAnd(l *lexer, rx *int, depth int) (*jnode, error) {
	left, err := parseAtom(l, rx, depth)
	if err != nil {
		return nil, err
	}
	for l.eat("&&") {
		right, err := parseAtom(l, rx, depth)
		if err != nil {
			return nil, err
		}
		left = &jnode{op: '&', left: left, right: right}
	}
	return left, nil
}

func parseAtom(l *lexer, rx *int, depth int) (*jnode, error) {
	if depth > maxDepth {
		return nil, errors.New("JSON filter pattern nests too deeply")
	}
	if l.eat("(") {
		n, err := parseOr(l, rx, depth+1)
		if err != nil {
			return nil, err
		}
		if !l.eat(")") {
			return nil, errors.New("missing ) in JSON filter pattern")
		}
		return n, nil
	}
	c, err := parseComparison(l, rx)
	if err != nil {
		return nil, err
	}
	return &jnode{cmp: c}, nil
}

func parseComparison(l *lexer, rx *int) (*jcmp, error) {
	if !l.eat("$") {
		return nil, errors.New("JSON filter pattern selectors start with $")
	}
	c := &jcmp{}
	for {
		if l.pos < len(l.s) && l.s[l.pos] == '.' {
			l.pos++
			j := l.pos
			for j < len(l.s) && (isWordChar(l.s[j]) || l.s[j] == '-' || l.s[j] == '@' || l.s[j] == '$' || l.s[j] == '*') {
				j++
			}
			if j == l.pos {
				return nil, errors.New("empty key in JSON selector")
			}
			c.path = append(c.path, jstep{key: l.s[l.pos:j], index: -1})
			c.key = l.s[l.pos:j]
			l.pos = j
			continue
		}
		if l.pos < len(l.s) && l.s[l.pos] == '[' {
			j := strings.IndexByte(l.s[l.pos:], ']')
			if j < 0 {
				return nil, errors.New("missing ] in JSON selector")
			}
			idx, err := strconv.Atoi(l.s[l.pos+1 : l.pos+j])
			if err != nil || idx < 0 {
				return nil, errors.New("array index in JSON selector must be a number")
			}
			c.path = append(c.path, jstep{index: idx})
			l.pos += j + 1
			continue
		}
		break
	}
	if len(c.path) == 0 {
		return nil, errors.New("JSON selector needs a key")
	}
	switch {
	case l.peekWord("IS"):
		l.eat("IS")
		switch {
		case l.peekWord("NULL"):
			l.eat("NULL")
			c.op = "isnull"
		case l.peekWord("TRUE"):
			l.eat("TRUE")
			c.op = "istrue"
		case l.peekWord("FALSE"):
			l.eat("FALSE")
			c.op = "isfalse"
		default:
			return nil, errors.New("IS must be followed by NULL, TRUE or FALSE")
		}
		return c, nil
	case l.peekWord("NOT"):
		l.eat("NOT")
		if !l.peekWord("EXISTS") {
			return nil, errors.New("NOT must be followed by EXISTS")
		}
		l.eat("EXISTS")
		c.op = "notexists"
		return c, nil
	}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if l.eat(op) {
			c.op = op
			break
		}
	}
	if c.op == "" {
		return nil, errors.New("JSON filter pattern needs a comparison operator")
	}
	l.skip()
	if l.pos >= len(l.s) {
		return nil, errors.New("JSON comparison needs a value")
	}
	switch ch := l.s[l.pos]; {
	case ch == '"':
		j := strings.IndexByte(l.s[l.pos+1:], '"')
		if j < 0 {
			return nil, errors.New("unterminated string in JSON filter pattern")
		}
		v := l.s[l.pos+1 : l.pos+1+j]
		l.pos += j + 2
		c.setString(v)
	case ch == '%':
		j := strings.IndexByte(l.s[l.pos+1:], '%')
		if j < 0 {
			return nil, errors.New("unterminated regular expression")
		}
		re, err := compileRegex(l.s[l.pos+1 : l.pos+1+j])
		if err != nil {
			return nil, err
		}
		*rx++
		c.re = re
		l.pos += j + 2
	default:
		j := l.pos
		for j < len(l.s) && !unicode.IsSpace(rune(l.s[j])) && l.s[j] != ')' && l.s[j] != '&' && l.s[j] != '|' {
			j++
		}
		v := l.s[l.pos:j]
		l.pos = j
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			c.num = &f
		} else {
			c.setString(v)
		}
	}
	if c.num == nil && c.op != "=" && c.op != "!=" {
		return nil, fmt.Errorf("operator %s needs a number", c.op)
	}
	if c.re != nil && c.op != "=" && c.op != "!=" {
		return nil, errors.New("regular expressions need = or !=")
	}
	return c, nil
}

func (c *jcmp) setString(v string) {
	c.str = &v
	if strings.Contains(v, "*") {
		parts := strings.Split(v, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		c.glob = regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
	}
}

func (n *jnode) eval(v *fastjson.Value) bool {
	switch n.op {
	case '&':
		return n.left.eval(v) && n.right.eval(v)
	case '|':
		return n.left.eval(v) || n.right.eval(v)
	}
	return n.cmp.eval(v)
}

func (c *jcmp) eval(root *fastjson.Value) bool {
	v := root
	for _, st := range c.path {
		if v == nil {
			break
		}
		if st.index >= 0 {
			arr, err := v.Array()
			if err != nil || st.index >= len(arr) {
				v = nil
				break
			}
			v = arr[st.index]
			continue
		}
		if v.Type() != fastjson.TypeObject {
			v = nil
			break
		}
		v = v.Get(st.key)
	}
	switch c.op {
	case "notexists":
		return v == nil
	case "isnull":
		return v != nil && v.Type() == fastjson.TypeNull
	case "istrue":
		return v != nil && v.Type() == fastjson.TypeTrue
	case "isfalse":
		return v != nil && v.Type() == fastjson.TypeFalse
	}
	if v == nil {
		return false
	}
	if c.num != nil {
		if v.Type() != fastjson.TypeNumber {
			return false
		}
		f, _ := v.Float64()
		switch c.op {
		case "=":
			return f == *c.num
		case "!=":
			return f != *c.num
		case "<":
			return f < *c.num
		case "<=":
			return f <= *c.num
		case ">":
			return f > *c.num
		case ">=":
			return f >= *c.num
		}
		return false
	}
	var s string
	switch v.Type() {
	case fastjson.TypeString:
		s = string(v.GetStringBytes())
	case fastjson.TypeTrue, fastjson.TypeFalse, fastjson.TypeNumber:
		s = string(v.MarshalTo(nil))
	default:
		return false
	}
	var eq bool
	switch {
	case c.re != nil:
		eq = c.re.MatchString(s)
	case c.glob != nil:
		eq = c.glob.MatchString(s)
	default:
		eq = s == *c.str
	}
	if c.op == "!=" {
		return !eq
	}
	return eq
}

// jsonSafe reports text every JSON encoder writes literally (no escapes).
func jsonSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || strings.IndexByte(" _-.:@,;=+#", c) >= 0) {
			return false
		}
	}
	return true
}

// pushJSON collects necessary @message substrings of the top-level
// conjunction: each compared key appears quoted, and a plain string value
// compared with = appears literally.
func pushJSON(n *jnode, out *[]query.Filter) {
	switch n.op {
	case '&':
		pushJSON(n.left, out)
		pushJSON(n.right, out)
		return
	case '|':
		return
	}
	c := n.cmp
	if c.op == "notexists" {
		return
	}
	if c.path[len(c.path)-1].index < 0 && jsonSafe(c.key) && !strings.Contains(c.key, "*") {
		*out = append(*out, contains(`"`+c.key+`"`))
	}
	if c.op == "=" && c.str != nil && c.glob == nil && c.re == nil && jsonSafe(*c.str) {
		*out = append(*out, contains(*c.str))
	}
}

// ---- space-delimited ----

type sfield struct {
	ellipsis bool
	conds    []scond // alternatives of conjunctions: or-of-and
	or       bool
}

type scond struct {
	op   string
	str  string
	glob *regexp.Regexp
	num  *float64
}

func compileSpaced(s string) (*Pattern, error) {
	if !strings.HasSuffix(s, "]") {
		return nil, errors.New("space-delimited filter pattern must end with ]")
	}
	inner := s[1 : len(s)-1]
	var fields []sfield
	for _, raw := range splitTop(inner) {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return nil, errors.New("empty field in space-delimited filter pattern")
		}
		if raw == "..." {
			fields = append(fields, sfield{ellipsis: true})
			continue
		}
		f := sfield{}
		sep := "&&"
		if strings.Contains(raw, "||") {
			sep, f.or = "||", true
			if strings.Contains(raw, "&&") {
				return nil, errors.New("a field cannot mix && and ||")
			}
		}
		for _, part := range strings.Split(raw, sep) {
			part = strings.TrimSpace(part)
			c, err := parseSCond(part)
			if err != nil {
				return nil, err
			}
			if c != nil {
				f.conds = append(f.conds, *c)
			}
		}
		fields = append(fields, f)
	}
	p := &Pattern{}
	p.match = func(msg string) bool { return matchFields(fields, splitLine(msg)) }
	return p, nil
}

// splitTop splits on commas outside quotes.
func splitTop(s string) []string {
	var out []string
	q := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			q = !q
		case ',':
			if !q {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func parseSCond(part string) (*scond, error) {
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		i := strings.Index(part, op)
		if i < 0 {
			continue
		}
		name := strings.TrimSpace(part[:i])
		if name == "" {
			return nil, errors.New("condition without a field name")
		}
		v := strings.TrimSpace(part[i+len(op):])
		v = strings.Trim(v, `"`)
		c := &scond{op: op, str: v}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			c.num = &f
		} else if op != "=" && op != "!=" {
			return nil, fmt.Errorf("operator %s needs a number", op)
		}
		if strings.Contains(v, "*") {
			parts := strings.Split(v, "*")
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			c.glob = regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
			c.num = nil
		}
		return c, nil
	}
	for i := 0; i < len(part); i++ {
		if !(isWordChar(part[i]) || part[i] == '-' || part[i] == '.') {
			return nil, fmt.Errorf("invalid field name %q", part)
		}
	}
	return nil, nil
}

func (c *scond) eval(v string) bool {
	if c.num != nil && c.glob == nil {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return c.op == "!="
		}
		switch c.op {
		case "=":
			return f == *c.num
		case "!=":
			return f != *c.num
		case "<":
			return f < *c.num
		case "<=":
			return f <= *c.num
		case ">":
			return f > *c.num
		case ">=":
			return f >= *c.num
		}
		return false
	}
	eq := v == c.str
	if c.glob != nil {
		eq = c.glob.MatchString(v)
	}
	if c.op == "!=" {
		return !eq
	}
	return eq
}

func (f *sfield) eval(v string) bool {
	if len(f.conds) == 0 {
		return true
	}
	for i := range f.conds {
		ok := f.conds[i].eval(v)
		if f.or && ok {
			return true
		}
		if !f.or && !ok {
			return false
		}
	}
	return !f.or
}

// splitLine splits a line on spaces; "quoted" and [bracketed] fields are one
// field each, without their delimiters.
func splitLine(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		switch s[i] {
		case '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j >= 0 {
				out = append(out, s[i+1:i+1+j])
				i += j + 2
				continue
			}
		case '[':
			j := strings.IndexByte(s[i+1:], ']')
			if j >= 0 {
				out = append(out, s[i+1:i+1+j])
				i += j + 2
				continue
			}
		}
		j := i
		for j < len(s) && s[j] != ' ' {
			j++
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

// matchFields matches pattern fields against line fields; an ellipsis takes
// any number of fields.
func matchFields(pf []sfield, lf []string) bool {
	// Iterative matching with backtracking over ellipses (like glob '*').
	pi, li := 0, 0
	star, mark := -1, 0
	for li < len(lf) {
		switch {
		case pi < len(pf) && pf[pi].ellipsis:
			star, mark = pi, li
			pi++
		case pi < len(pf) && pf[pi].eval(lf[li]):
			pi++
			li++
		case star >= 0:
			pi = star + 1
			mark++
			li = mark
		default:
			return false
		}
	}
	for pi < len(pf) && pf[pi].ellipsis {
		pi++
	}
	return pi == len(pf)
}
