package sampling

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/meta"
)

// memStore is an in-memory Store.
type memStore struct {
	mu    sync.Mutex
	rules map[string]meta.XRaySamplingRule
}

func key(env int64, name string) string { return fmt.Sprint(env, "/", name) }

func (m *memStore) CreateXRaySamplingRule(_ context.Context, r meta.XRaySamplingRule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rules == nil {
		m.rules = map[string]meta.XRaySamplingRule{}
	}
	if _, ok := m.rules[key(r.Env, r.Name)]; ok {
		return meta.ErrConflict
	}
	m.rules[key(r.Env, r.Name)] = r
	return nil
}

func (m *memStore) XRaySamplingRule(_ context.Context, env int64, name string) (meta.XRaySamplingRule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rules[key(env, name)]
	if !ok {
		return r, meta.ErrNotFound
	}
	return r, nil
}

func (m *memStore) XRaySamplingRules(_ context.Context, env int64) ([]meta.XRaySamplingRule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []meta.XRaySamplingRule
	for _, r := range m.rules {
		if r.Env == env {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memStore) UpdateXRaySamplingRule(_ context.Context, r meta.XRaySamplingRule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[key(r.Env, r.Name)]; !ok {
		return meta.ErrNotFound
	}
	m.rules[key(r.Env, r.Name)] = r
	return nil
}

func (m *memStore) DeleteXRaySamplingRule(_ context.Context, env int64, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rules, key(env, name))
	return nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newService() (*Service, *clock) {
	c := &clock{time.Unix(1795566300, 0)}
	return &Service{Store: &memStore{}, Now: c.now}, c
}

func rule(name string, prio int, rate float64, reservoir int, host, method, urlPath, svc string) Rule {
	return Rule{RuleName: name, ResourceARN: "*", Priority: prio, FixedRate: rate, ReservoirSize: reservoir,
		ServiceName: svc, ServiceType: "*", Host: host, HTTPMethod: method, URLPath: urlPath, Version: 1}
}

// match is what the SDKs do with GetSamplingRules' answer: the first rule,
// in the order served, whose wildcards (* and ?) match the request.
func match(recs []Record, host, method, urlPath, service string) string {
	for _, r := range recs {
		s := r.SamplingRule
		if wild(s.Host, host) && wild(s.HTTPMethod, method) && wild(s.URLPath, urlPath) && wild(s.ServiceName, service) {
			return s.RuleName
		}
	}
	return ""
}

func wild(pattern, s string) bool {
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

func TestRulesByPriority(t *testing.T) {
	s, _ := newService()
	ctx := context.Background()
	for _, r := range []Rule{
		rule("api-writes", 10, 0.5, 5, "*", "POST", "/api/*", "*"),
		rule("api-all", 20, 0.1, 2, "*", "*", "/api/*", "*"),
		rule("b-health", 1, 0, 0, "*", "GET", "/health", "*"),
		rule("a-health", 1, 0, 0, "*", "GET", "/health*", "Cruddur"),
	} {
		if _, err := s.Create(ctx, 1, r); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := s.Rules(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs {
		names = append(names, r.SamplingRule.RuleName)
	}
	if got := strings.Join(names, ","); got != "a-health,b-health,api-writes,api-all,Default" {
		t.Fatal(got)
	}
	for _, c := range []struct{ host, method, path, svc, want string }{
		{"x", "GET", "/health", "Cruddur", "a-health"},
		{"x", "GET", "/health", "other", "b-health"},
		{"x", "POST", "/api/activities", "Cruddur", "api-writes"},
		{"x", "GET", "/api/activities", "Cruddur", "api-all"},
		{"x", "GET", "/", "Cruddur", "Default"},
	} {
		if got := match(recs, c.host, c.method, c.path, c.svc); got != c.want {
			t.Errorf("%s %s %s: %s, want %s", c.method, c.path, c.svc, got, c.want)
		}
	}
	// Another environment has only Default.
	if recs, _ := s.Rules(ctx, 2); len(recs) != 1 || recs[0].SamplingRule.RuleName != "Default" {
		t.Fatalf("%+v", recs)
	}
}

// TestRulesJSON checks what the Python SDK's connector requires of every
// rule (the members it reads, and Version 1, ResourceARN "*", a non-empty
// ServiceType and empty Attributes, else it ignores the rule) and what the
// Go SDK's *float64 members require (numeric epoch timestamps).
func TestRulesJSON(t *testing.T) {
	s, _ := newService()
	ctx := context.Background()
	if _, err := s.Create(ctx, 1, rule("r1", 5, 0.25, 3, "*", "*", "*", "*")); err != nil {
		t.Fatal(err)
	}
	recs, _ := s.Rules(ctx, 1)
	b, _ := json.Marshal(map[string]any{"SamplingRuleRecords": recs})
	var got struct {
		SamplingRuleRecords []map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.SamplingRuleRecords) != 2 {
		t.Fatalf("%s", b)
	}
	for _, rec := range got.SamplingRuleRecords {
		for _, k := range []string{"CreatedAt", "ModifiedAt"} {
			var f float64
			if err := json.Unmarshal(rec[k], &f); err != nil {
				t.Errorf("%s not a number: %s", k, rec[k])
			}
		}
		var r map[string]any
		_ = json.Unmarshal(rec["SamplingRule"], &r)
		for _, k := range []string{"RuleName", "Priority", "FixedRate", "ReservoirSize", "Host", "ServiceName", "HTTPMethod", "URLPath", "ServiceType", "RuleARN"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%v lacks %s", r["RuleName"], k)
			}
		}
		if r["Version"] != 1.0 || r["ResourceARN"] != "*" || r["ServiceType"] == "" || len(r["Attributes"].(map[string]any)) != 0 {
			t.Errorf("the Python SDK would ignore %v", r)
		}
	}
	if !strings.Contains(string(b), `"RuleARN":"arn:aws:xray:us-east-1:000000000001:sampling-rule/r1"`) ||
		!strings.Contains(string(b), `"RuleName":"Default","RuleARN":"arn:aws:xray:us-east-1:000000000001:sampling-rule/Default","ResourceARN":"*","Priority":10000,"FixedRate":0.05,"ReservoirSize":1`) {
		t.Fatalf("%s", b)
	}
}

func targets(t *testing.T, s *Service, docs ...StatisticsDocument) *TargetsResult {
	t.Helper()
	res, err := s.Targets(context.Background(), 1, docs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func stat(rule, client string, req, sampled, borrow int64) StatisticsDocument {
	return StatisticsDocument{RuleName: rule, ClientID: client, Timestamp: 1795566300, RequestCount: req, SampledCount: sampled, BorrowCount: borrow}
}

// TestReservoirShared: a rule's ReservoirSize is traces per second for the
// fleet, split among the clients that reported in the last minute; the
// shares always sum to the reservoir.
func TestReservoirShared(t *testing.T) {
	s, c := newService()
	ctx := context.Background()
	rec, err := s.Create(ctx, 1, rule("api", 10, 0.1, 10, "*", "*", "/api/*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	quota := func(res *TargetsResult, rule string) int {
		for _, d := range res.SamplingTargetDocuments {
			if d.RuleName == rule {
				return *d.ReservoirQuota
			}
		}
		t.Fatalf("no target for %s: %+v", rule, res)
		return 0
	}
	// One client (it borrowed before it had a quota): the whole reservoir,
	// the rule's fixed rate, a TTL past the next poll, the interval, the last
	// modification.
	a := "aaaaaaaaaaaaaaaaaaaaaaaa"
	res := targets(t, s, stat("api", a, 5, 2, 1))
	d := res.SamplingTargetDocuments[0]
	if *d.ReservoirQuota != 10 || d.FixedRate != 0.1 || d.Interval != 10 ||
		d.ReservoirQuotaTTL != float64(c.t.Unix()+20) || res.LastRuleModification != rec.ModifiedAt {
		t.Fatalf("%+v %+v", d, res)
	}
	// Three clients: 4 + 3 + 3, by client id.
	b, cc := "bbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccc"
	targets(t, s, stat("api", b, 1, 1, 1))
	targets(t, s, stat("api", cc, 1, 1, 1))
	qa := quota(targets(t, s, stat("api", a, 10, 4, 0)), "api")
	qb := quota(targets(t, s, stat("api", b, 10, 3, 0)), "api")
	qc := quota(targets(t, s, stat("api", cc, 10, 3, 0)), "api")
	if qa != 4 || qb != 3 || qc != 3 {
		t.Fatalf("shares %d %d %d", qa, qb, qc)
	}
	// a and b keep reporting; c stops: after a minute its share returns.
	c.add(50 * time.Second)
	targets(t, s, stat("api", a, 1, 1, 0))
	targets(t, s, stat("api", b, 1, 1, 0))
	c.add(20 * time.Second)
	qa = quota(targets(t, s, stat("api", a, 1, 1, 0)), "api")
	qb = quota(targets(t, s, stat("api", b, 1, 1, 0)), "api")
	if qa+qb != 10 || qa != 5 {
		t.Fatalf("after c left: %d %d", qa, qb)
	}
	// The same client twice in one call counts once; an unknown rule is
	// unprocessed; Default is always there (1/s, 5 %).
	res = targets(t, s, stat("api", a, 1, 1, 0), stat("api", a, 1, 1, 0), stat("nope", a, 1, 0, 0), stat("Default", a, 3, 1, 1))
	if len(res.SamplingTargetDocuments) != 2 || len(res.UnprocessedStatistics) != 1 ||
		res.UnprocessedStatistics[0].RuleName != "nope" || res.UnprocessedStatistics[0].ErrorCode != "400" {
		t.Fatalf("%+v", res)
	}
	if def := res.SamplingTargetDocuments[1]; def.RuleName != "Default" || *def.ReservoirQuota != 1 || def.FixedRate != 0.05 {
		t.Fatalf("%+v", def)
	}
	// Reservoir 0: quota 0, only the fixed rate.
	if _, err := s.Create(ctx, 1, rule("none", 11, 0.5, 0, "*", "*", "*", "*")); err != nil {
		t.Fatal(err)
	}
	if q := quota(targets(t, s, stat("none", a, 1, 0, 0)), "none"); q != 0 {
		t.Fatal(q)
	}
}

// TestTargetsJSON checks the exact response the SDKs parse: numeric
// ReservoirQuotaTTL and LastRuleModification, FixedRate on every target,
// and empty lists rather than null.
func TestTargetsJSON(t *testing.T) {
	s, _ := newService()
	res := targets(t, s, stat("Default", "82b27d30d576c9967c806b80", 2, 1, 1))
	b, _ := json.Marshal(res)
	want := `{"SamplingTargetDocuments":[{"RuleName":"Default","FixedRate":0.05,"ReservoirQuota":1,"ReservoirQuotaTTL":1795566320,"Interval":10}],"LastRuleModification":1795566300,"UnprocessedStatistics":[]}`
	if string(b) != want {
		t.Fatalf("%s\nwant %s", b, want)
	}
	b, _ = json.Marshal(targets(t, s))
	if string(b) != `{"SamplingTargetDocuments":[],"LastRuleModification":1795566300,"UnprocessedStatistics":[]}` {
		t.Fatalf("%s", b)
	}
}

// TestModificationTracked: changing a rule moves LastRuleModification, which
// makes the SDKs fetch the rules again.
func TestModificationTracked(t *testing.T) {
	s, c := newService()
	ctx := context.Background()
	if _, err := s.Create(ctx, 1, rule("r", 5, 0.1, 1, "*", "*", "*", "*")); err != nil {
		t.Fatal(err)
	}
	before := targets(t, s).LastRuleModification
	c.add(time.Minute)
	rate := 0.9
	rec, err := s.UpdateRule(ctx, 1, Update{RuleName: ptr("r"), FixedRate: &rate})
	if err != nil || rec.SamplingRule.FixedRate != 0.9 {
		t.Fatal(rec, err)
	}
	res := targets(t, s, stat("r", "aaaaaaaaaaaaaaaaaaaaaaaa", 1, 1, 0))
	if res.LastRuleModification != before+60 || res.SamplingTargetDocuments[0].FixedRate != 0.9 {
		t.Fatalf("%+v (before %v)", res, before)
	}
	// Default can be updated (it is then stored) but not deleted or created.
	c.add(time.Minute)
	if rec, err := s.UpdateRule(ctx, 1, Update{RuleARN: ptr("arn:aws:xray:us-east-1:000000000001:sampling-rule/Default"), FixedRate: &rate}); err != nil ||
		rec.SamplingRule.FixedRate != 0.9 || rec.SamplingRule.Priority != 10000 {
		t.Fatal(rec, err)
	}
	if targets(t, s).LastRuleModification != before+120 {
		t.Fatal("Default's update not seen")
	}
	if _, err := s.Delete(ctx, 1, "Default"); err == nil {
		t.Fatal("Default deleted")
	}
	if _, err := s.Create(ctx, 1, DefaultRule()); err == nil {
		t.Fatal("Default created")
	}
}

func ptr[T any](v T) *T { return &v }

func TestValidateAndCRUD(t *testing.T) {
	s, _ := newService()
	ctx := context.Background()
	good := rule("ok", 5, 0.1, 1, "*", "*", "*", "*")
	for name, mut := range map[string]func(r *Rule){
		"RuleName must be 1 to 32":            func(r *Rule) { r.RuleName = strings.Repeat("x", 33) },
		"are required":                        func(r *Rule) { r.Host = "" },
		"FixedRate must be between 0 and 1":   func(r *Rule) { r.FixedRate = 1.5 },
		"ReservoirSize must not be negative":  func(r *Rule) { r.ReservoirSize = -1 },
		"Version must be 1":                   func(r *Rule) { r.Version = 2 },
		"Priority must be between 1 and 9999": func(r *Rule) { r.Priority = 0 },
		"at most 5 Attributes": func(r *Rule) {
			r.Attributes = map[string]string{"a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1"}
		},
	} {
		r := good
		mut(&r)
		if _, err := s.Create(ctx, 1, r); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.Create(ctx, 1, good); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, 1, good); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	if _, err := s.UpdateRule(ctx, 1, Update{RuleName: ptr("missing")}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	if rec, err := s.Delete(ctx, 1, "ok"); err != nil || rec.SamplingRule.RuleName != "ok" {
		t.Fatal(rec, err)
	}
	if _, err := s.Delete(ctx, 1, "ok"); err == nil {
		t.Fatal("deleted twice")
	}
}
