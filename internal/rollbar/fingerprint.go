package rollbar

import (
	"crypto/sha1"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
)

// Grouping follows Rollbar's documented default algorithm
// (docs.rollbar.com grouping-algorithm), made deterministic:
//
//   - A client fingerprint (data.fingerprint) wins: used as is up to 40
//     characters, its SHA-1 when longer.
//   - Exceptions (trace, trace_chain): for every chain element, outermost
//     first, the frames' normalized filename and method (line and column
//     numbers ignored), then the exception class; SHA-1 of the whole.
//     Filenames lose the server.root prefix (replaced by a constant), dates,
//     hex hashes (≥ 7 hex digits, as in bundle names and SHAs) and URL query
//     strings; methods lose integers of 2 or more digits. Frames are put in
//     Rollbar's order (most recent call last) first: rollbar-go and other
//     Go notifiers send them innermost first, and they include the SDK's own
//     frames and the Go runtime's, which are dropped.
//   - waggle's one addition: when a chain element has no frames, or its class
//     says nothing (Go's errors.errorString, fmt.wrapError, …, where every
//     error has the same class), the normalized message is part of the
//     fingerprint too, so that different errors raised at one call site are
//     different items.
//   - Messages (and crash reports): the message with data-like tokens
//     replaced (UUIDs, e-mail and IP addresses, dates and times, decimals,
//     integers of ≥ 2 digits unless they follow a word such as "status",
//     "code" or "HTTP", hex of ≥ 4 digits), then SHA-1.
func fingerprint(it *item) string {
	if fp := it.Fingerprint; fp != "" {
		if len(fp) <= 40 {
			return fp
		}
		return sha1Hex("client:" + fp)
	}
	var b strings.Builder
	switch it.Kind {
	case kindTrace, kindTraceChain:
		go_ := isGo(it)
		for i, t := range it.Chain {
			if i > 0 {
				b.WriteString("\x1ecause\x1e")
			}
			frames := normalizeFrames(t.Frames, go_)
			for _, f := range frames {
				b.WriteString(normFilename(f.Filename, it.ServerRoot))
				b.WriteByte('\x1f')
				b.WriteString(normMethod(f.Method))
				b.WriteByte('\n')
			}
			b.WriteString(t.Class)
			if len(frames) == 0 || genericClass(t.Class) {
				b.WriteString("\x1f")
				b.WriteString(normMessage(t.Message))
			}
		}
	default:
		b.WriteString(it.Kind)
		b.WriteString("\x1f")
		b.WriteString(normMessage(it.Message))
	}
	return sha1Hex(b.String())
}

func sha1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// isGo reports whether the payload comes from a Go notifier, whose frames
// are innermost first.
func isGo(it *item) bool {
	return it.Notifier == "rollbar/rollbar-go" || strings.EqualFold(it.Language, "go") ||
		strings.HasPrefix(strings.ToLower(it.Language), "go ")
}

// normalizeFrames returns frames most recent call last, without notifier
// and runtime frames.
func normalizeFrames(frames []frame, goOrder bool) []frame {
	if !goOrder {
		return frames
	}
	out := make([]frame, 0, len(frames))
	for _, f := range frames {
		m := f.Method
		if strings.HasPrefix(m, "rollbar-go.") || strings.HasPrefix(m, "rollbar.") ||
			m == "runtime.main" || m == "runtime.goexit" {
			continue
		}
		out = append(out, f)
	}
	slices.Reverse(out)
	return out
}

// genericClass reports classes shared by unrelated errors.
func genericClass(c string) bool {
	switch strings.TrimPrefix(c, "*") {
	case "errors.errorString", "fmt.wrapError", "fmt.wrapErrors", "errors.joinError", "string", "(unknown)", "":
		return true
	}
	return false
}

var (
	reDate     = regexp.MustCompile(`\d{4}-?\d{2}-?\d{2}`)
	reHexRun   = regexp.MustCompile(`(?i)\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b`)
	reDigits2  = regexp.MustCompile(`\d{2,}`)
	reDataLike = regexp.MustCompile(`(?i)` +
		`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}` + // uuid
		`|[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+` + // e-mail
		`|\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?` + // date, timestamp
		`|\b\d{1,3}(?:\.\d{1,3}){3}\b` + // IPv4
		`|\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b` + // time of day
		`|\b0x[0-9a-f]+\b` + // hex literal
		`|\b\d+\.\d+\b` + // decimal
		`|\b[0-9a-f]*\d[0-9a-f]*\b`) // integers, hex runs with a digit
	// codeWords precede numbers that are codes, kept in messages.
	codeWords = []string{"status", "code", "http", "error", "errno", "err", "exit", "returned", "statuscode", "status_code"}
)

// normFilename strips what varies between deploys of the same code.
func normFilename(f, root string) string {
	if root != "" && strings.HasPrefix(f, root) {
		f = "<root>" + f[len(root):]
	}
	if i := strings.IndexAny(f, "?#"); i >= 0 && strings.Contains(f, "://") {
		f = f[:i]
	}
	f = reDate.ReplaceAllString(f, "")
	return reHexRun.ReplaceAllStringFunc(f, func(m string) string {
		if len(m) >= 7 {
			return ""
		}
		return m
	})
}

// normMethod drops integers of 2 or more digits.
func normMethod(m string) string { return reDigits2.ReplaceAllString(m, "") }

// normMessage replaces data-like tokens with "#".
func normMessage(s string) string {
	if len(s) > 1024 {
		s = s[:1024]
	}
	idx := reDataLike.FindAllStringIndex(s, -1)
	if len(idx) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		tok := s[m[0]:m[1]]
		if keepToken(tok, s[:m[0]]) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteByte('#')
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// keepToken reports whether a matched token is not data: a single digit,
// a short hex-looking word, or a code after a code word.
func keepToken(tok, before string) bool {
	digits, hexLetters := 0, 0
	for i := 0; i < len(tok); i++ {
		c := tok[i] | 0x20
		switch {
		case tok[i] >= '0' && tok[i] <= '9':
			digits++
		case c >= 'a' && c <= 'f':
			hexLetters++
		default:
			return false // uuid, e-mail, date, IP, decimal: data
		}
	}
	if hexLetters > 0 {
		return len(tok) < 4
	}
	if digits < 2 {
		return true
	}
	if digits > 5 {
		return false
	}
	w := strings.TrimRight(before, " :=#(['\"")
	if i := strings.LastIndexAny(w, " \t([{'\"/,;"); i >= 0 {
		w = w[i+1:]
	}
	w = strings.ToLower(w)
	return slices.Contains(codeWords, w)
}

// defaultTitle derives an item title when the payload has none.
func defaultTitle(it *item) string {
	var t string
	switch it.Kind {
	case kindTrace, kindTraceChain:
		e := it.Chain[0]
		t = e.Class
		if e.Message != "" {
			t += ": " + e.Message
		}
	default:
		t = it.Message
	}
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		t = t[:i]
	}
	t = strings.TrimSpace(t)
	if t == "" {
		t = "(no title)"
	}
	return cleanString(t, 255)
}

// defaultLevel is Rollbar's: error for exceptions, info for messages.
func defaultLevel(it *item) string {
	if it.Level != "" {
		return it.Level
	}
	if it.Kind == kindMessage {
		return "info"
	}
	return "error"
}
