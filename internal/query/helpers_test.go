package query

import (
	"context"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// testNow anchors relative time ranges in tests.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// testColumns is the catalog of the tests' dataset.
var testColumns = map[string]ColumnInfo{
	"duration_ms": {Type: event.TypeFloat},
	"status":      {Type: event.TypeInt},
	"bytes":       {Type: event.TypeInt},
	"endpoint":    {Type: event.TypeString},
	"user":        {Type: event.TypeString},
	"error":       {Type: event.TypeBool},
	"mystery":     {Type: event.TypeNull},
}

// fakeCatalog serves testColumns for dataset "api" and "web".
type fakeCatalog struct{}

func (fakeCatalog) Columns(_ context.Context, _ event.EnvID, datasets []string) (map[string]ColumnInfo, error) {
	for _, d := range datasets {
		if d != "api" && d != "web" && d != "API" {
			return nil, ErrUnknownDataset
		}
	}
	return testColumns, nil
}

// fakeExecutor records plans and answers with canned results, one per call.
type fakeExecutor struct {
	plans   []*Plan
	results []*Result
	err     error
}

func (f *fakeExecutor) Execute(_ context.Context, _ event.EnvID, p *Plan) (*Result, error) {
	f.plans = append(f.plans, p)
	if f.err != nil {
		return nil, f.err
	}
	if len(f.results) == 0 {
		return &Result{}, nil
	}
	r := f.results[0]
	f.results = f.results[1:]
	return r, nil
}

// mustParse parses a spec or fails the test.
func mustParse(tb testing.TB, js string) *Spec {
	tb.Helper()
	s, err := ParseSpec([]byte(js))
	if err != nil {
		tb.Fatalf("ParseSpec(%s): %v", js, err)
	}
	return s
}

// mustCompile parses and compiles a spec against testColumns.
func mustCompile(tb testing.TB, js string, opts Options) *compiled {
	tb.Helper()
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	c, err := compile(mustParse(tb, js), testColumns, []string{"api"}, opts)
	if err != nil {
		tb.Fatalf("compile(%s): %v", js, err)
	}
	return c
}

// num returns a numeric aggregate value.
func num(f float64) AggValue { return AggValue{Number: f} }

// null is a null aggregate value.
var null = AggValue{Null: true}
