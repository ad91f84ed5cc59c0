package rollbar

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fastjson"
)

// FuzzDecodeItem feeds arbitrary bodies to the payload decoder, the
// fingerprint, the title and the stored-payload reduction: none may panic,
// and a decoded item always has an environment and a body kind.
func FuzzDecodeItem(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "captures", "*.json"))
	for _, name := range files {
		b, _ := capture(f, filepath.Base(name))
		f.Add(b, false)
	}
	f.Add([]byte(`{"data":{"environment":"p","body":{"trace_chain":[{"exception":{"class":"E"},"frames":null}]}}}`), false)
	f.Add([]byte(`payload=%7B%22data%22%3A%7B%7D%7D&access_token=x`), true)
	f.Add([]byte(`{"data":{"environment":"p","body":{"message":"bare"},"attributes":[{"key":"trace_id"}],"request":{"headers":{"traceparent":"00-x-y-01"}}}}`), false)
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		var p fastjson.Parser
		it, err := parsePayload(&p, body, form)
		if err != nil {
			return
		}
		if it.Environment == "" || it.Kind == "" {
			t.Fatalf("decoded item without environment or kind: %+v", it)
		}
		if fp := fingerprint(it); fp == "" || len(fp) > 40 {
			t.Fatalf("fingerprint %q", fp)
		}
		if title := defaultTitle(it); title == "" || len(title) > 255 {
			t.Fatalf("title %q", title)
		}
		if out := storedData(it.Data); len(out) > 64*1024 {
			t.Fatalf("stored payload of %d bytes", len(out))
		}
	})
}

// FuzzFingerprint checks the normalizers on arbitrary frames and messages:
// no panic, deterministic, and line-number independent.
func FuzzFingerprint(f *testing.F) {
	f.Add("ZeroDivisionError", "division by zero", "/srv/app/pyapp.py", "helper", "/srv/app", "python 3.11.7", "user 1234 at 10.0.0.1 on 2026-01-01T10:00:00Z")
	f.Add("*errors.errorString", "user 7 not found", "/srv/goapp/main.go", "main.load.func12", "goapp", "go", "HTTP 503 from 0xdeadbeef")
	f.Add("TypeError", "x is not a function", "http://cdn.example/app.3f2a1b9c.js?v=2", "[anonymous]", "", "javascript", "a@b.co 1.5 ffff 12:30")
	f.Fuzz(func(t *testing.T, class, msg, file, method, root, lang, body string) {
		mk := func(line int) *item {
			return &item{Kind: kindTrace, Language: lang, ServerRoot: root,
				Chain: []trace{{Class: class, Message: msg, Frames: []frame{{Filename: file, Method: method}, {Filename: file, Method: method + "x"}}}}}
		}
		a, b := fingerprint(mk(1)), fingerprint(mk(2))
		if a != b || len(a) != 40 {
			t.Fatalf("fingerprints %q %q", a, b)
		}
		m := &item{Kind: kindMessage, Message: body}
		if fingerprint(m) != fingerprint(&item{Kind: kindMessage, Message: body}) {
			t.Fatal("message fingerprint not deterministic")
		}
		_ = normMessage(body)
		_ = normFilename(file, root)
		_ = normMethod(method)
	})
}

func TestFuzzCorpusCommitted(t *testing.T) {
	for _, name := range []string{"FuzzDecodeItem", "FuzzFingerprint"} {
		if _, err := os.Stat(filepath.Join("testdata", "fuzz", name)); err != nil {
			t.Errorf("no committed corpus for %s: %v", name, err)
		}
	}
}
