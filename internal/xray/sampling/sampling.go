// Package sampling serves X-Ray centralized sampling: the rules
// (GetSamplingRules) and the per-client reservoir quotas (GetSamplingTargets)
// the SDKs poll through the daemon's TCP port, plus the rules' CRUD.
//
// Semantics (X-Ray's): rules apply in ascending Priority; a rule's
// ReservoirSize is a number of traces per second for the whole fleet, shared
// among the clients (ClientID) that reported statistics for the rule in the
// last minute; each client gets an equal share (the remainder to the first
// clients by id, so the shares sum to the reservoir), valid until
// ReservoirQuotaTTL; beyond its quota a client samples FixedRate of the
// requests. The built-in Default rule (priority 10000, 1/s then 5 %) is
// always last; it can be changed with UpdateSamplingRule but not deleted.
package sampling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// DefaultRuleName is the rule every environment has.
const DefaultRuleName = "Default"

// Interval is how often clients should report statistics (seconds).
const Interval = 10

// quotaTTL is how long a quota is valid; longer than Interval plus the
// SDKs' jitter so a client polling on time never falls back to borrowing.
const quotaTTL = 20 * time.Second

// activeWindow is how long a client counts towards a rule's reservoir share
// after its last report.
const activeWindow = time.Minute

// Rule is a sampling rule.
type Rule struct {
	RuleName      string            `json:"RuleName"`
	RuleARN       string            `json:"RuleARN,omitempty"`
	ResourceARN   string            `json:"ResourceARN"`
	Priority      int               `json:"Priority"`
	FixedRate     float64           `json:"FixedRate"`
	ReservoirSize int               `json:"ReservoirSize"`
	ServiceName   string            `json:"ServiceName"`
	ServiceType   string            `json:"ServiceType"`
	Host          string            `json:"Host"`
	HTTPMethod    string            `json:"HTTPMethod"`
	URLPath       string            `json:"URLPath"`
	Version       int               `json:"Version"`
	Attributes    map[string]string `json:"Attributes"`
}

// Record is a rule with its times (epoch seconds).
type Record struct {
	SamplingRule Rule    `json:"SamplingRule"`
	CreatedAt    float64 `json:"CreatedAt"`
	ModifiedAt   float64 `json:"ModifiedAt"`
}

// DefaultRule is the built-in Default rule.
func DefaultRule() Rule {
	return Rule{RuleName: DefaultRuleName, ResourceARN: "*", Priority: 10000, FixedRate: 0.05, ReservoirSize: 1,
		ServiceName: "*", ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*", Version: 1, Attributes: map[string]string{}}
}

// Store keeps rules; *meta.DB satisfies it.
type Store interface {
	CreateXRaySamplingRule(ctx context.Context, r meta.XRaySamplingRule) error
	XRaySamplingRule(ctx context.Context, env int64, name string) (meta.XRaySamplingRule, error)
	XRaySamplingRules(ctx context.Context, env int64) ([]meta.XRaySamplingRule, error)
	UpdateXRaySamplingRule(ctx context.Context, r meta.XRaySamplingRule) error
	DeleteXRaySamplingRule(ctx context.Context, env int64, name string) error
}

// Service answers sampling calls for every environment.
type Service struct {
	Store Store
	// Region and Account form rule ARNs.
	Region string
	Now    func() time.Time

	mu      sync.Mutex
	clients map[string]map[string]time.Time // env/rule → client → last report
	started float64
}

// Errors the API maps to AWS errors.
var (
	ErrNotFound = errors.New("sampling rule not found")
	ErrExists   = errors.New("sampling rule already exists")
	ErrInvalid  = errors.New("invalid sampling rule")
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (s *Service) arn(env event.EnvID, name string) string {
	region := s.Region
	if region == "" {
		region = "us-east-1"
	}
	return fmt.Sprintf("arn:aws:xray:%s:%012d:sampling-rule/%s", region, int64(env), name)
}

func fromMeta(m meta.XRaySamplingRule) Record {
	r := Rule{RuleName: m.Name, ResourceARN: m.ResourceARN, Priority: m.Priority, FixedRate: m.FixedRate,
		ReservoirSize: m.ReservoirSize, ServiceName: m.ServiceName, ServiceType: m.ServiceType, Host: m.Host,
		HTTPMethod: m.HTTPMethod, URLPath: m.URLPath, Version: m.Version, Attributes: map[string]string{}}
	_ = json.Unmarshal([]byte(m.Attributes), &r.Attributes)
	return Record{SamplingRule: r, CreatedAt: m.CreatedAt, ModifiedAt: m.ModifiedAt}
}

func toMeta(env event.EnvID, r Rule, created, modified float64) meta.XRaySamplingRule {
	attrs, _ := json.Marshal(r.Attributes)
	if r.Attributes == nil {
		attrs = []byte("{}")
	}
	return meta.XRaySamplingRule{Env: int64(env), Name: r.RuleName, ResourceARN: r.ResourceARN, Priority: r.Priority,
		FixedRate: r.FixedRate, ReservoirSize: r.ReservoirSize, ServiceName: r.ServiceName, ServiceType: r.ServiceType,
		Host: r.Host, HTTPMethod: r.HTTPMethod, URLPath: r.URLPath, Version: r.Version, Attributes: string(attrs),
		CreatedAt: created, ModifiedAt: modified}
}

// Rules returns env's rules by priority, Default last.
func (s *Service) Rules(ctx context.Context, env event.EnvID) ([]Record, error) {
	var rows []meta.XRaySamplingRule
	if s.Store != nil {
		var err error
		if rows, err = s.Store.XRaySamplingRules(ctx, int64(env)); err != nil {
			return nil, err
		}
	}
	var out []Record
	var def *Record
	for _, m := range rows {
		r := fromMeta(m)
		r.SamplingRule.RuleARN = s.arn(env, r.SamplingRule.RuleName)
		if r.SamplingRule.RuleName == DefaultRuleName {
			d := r
			def = &d
			continue
		}
		out = append(out, r)
	}
	if def == nil {
		d := Record{SamplingRule: DefaultRule(), CreatedAt: 0, ModifiedAt: s.startTime()}
		d.SamplingRule.RuleARN = s.arn(env, DefaultRuleName)
		def = &d
	}
	def.SamplingRule.Priority = 10000
	// X-Ray orders by priority, then by name (the SDKs match in this order).
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].SamplingRule, out[j].SamplingRule
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.RuleName < b.RuleName
	})
	return append(out, *def), nil
}

func (s *Service) startTime() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started == 0 {
		s.started = math.Floor(epoch(s.now()))
	}
	return s.started
}

// Validate checks a rule as X-Ray does.
func Validate(r *Rule) error {
	switch {
	case r.RuleName == "" || len(r.RuleName) > 32:
		return fmt.Errorf("%w: RuleName must be 1 to 32 characters", ErrInvalid)
	case r.ResourceARN == "" || r.ServiceName == "" || r.ServiceType == "" || r.Host == "" || r.HTTPMethod == "" || r.URLPath == "":
		return fmt.Errorf("%w: ResourceARN, ServiceName, ServiceType, Host, HTTPMethod and URLPath are required", ErrInvalid)
	case len(r.ServiceName) > 64 || len(r.ServiceType) > 64 || len(r.Host) > 64 || len(r.HTTPMethod) > 10 || len(r.URLPath) > 128 || len(r.ResourceARN) > 500:
		return fmt.Errorf("%w: a member is too long", ErrInvalid)
	case r.FixedRate < 0 || r.FixedRate > 1 || math.IsNaN(r.FixedRate):
		return fmt.Errorf("%w: FixedRate must be between 0 and 1", ErrInvalid)
	case r.ReservoirSize < 0:
		return fmt.Errorf("%w: ReservoirSize must not be negative", ErrInvalid)
	case r.Version != 1:
		return fmt.Errorf("%w: Version must be 1", ErrInvalid)
	case len(r.Attributes) > 5:
		return fmt.Errorf("%w: at most 5 Attributes", ErrInvalid)
	}
	if r.RuleName != DefaultRuleName && (r.Priority < 1 || r.Priority > 9999) {
		return fmt.Errorf("%w: Priority must be between 1 and 9999", ErrInvalid)
	}
	return nil
}

// Create adds a rule.
func (s *Service) Create(ctx context.Context, env event.EnvID, r Rule) (Record, error) {
	if r.RuleName == DefaultRuleName {
		return Record{}, fmt.Errorf("%w: %s", ErrExists, r.RuleName)
	}
	if err := Validate(&r); err != nil {
		return Record{}, err
	}
	now := epoch(s.now())
	err := s.Store.CreateXRaySamplingRule(ctx, toMeta(env, r, now, now))
	if errors.Is(err, meta.ErrConflict) {
		return Record{}, fmt.Errorf("%w: %s", ErrExists, r.RuleName)
	}
	if err != nil {
		return Record{}, err
	}
	r.RuleARN = s.arn(env, r.RuleName)
	return Record{SamplingRule: r, CreatedAt: now, ModifiedAt: now}, nil
}

// Update is UpdateSamplingRule's SamplingRuleUpdate: nil members are kept.
type Update struct {
	RuleName      *string           `json:"RuleName"`
	RuleARN       *string           `json:"RuleARN"`
	ResourceARN   *string           `json:"ResourceARN"`
	Priority      *int              `json:"Priority"`
	FixedRate     *float64          `json:"FixedRate"`
	ReservoirSize *int              `json:"ReservoirSize"`
	Host          *string           `json:"Host"`
	ServiceName   *string           `json:"ServiceName"`
	ServiceType   *string           `json:"ServiceType"`
	HTTPMethod    *string           `json:"HTTPMethod"`
	URLPath       *string           `json:"URLPath"`
	Attributes    map[string]string `json:"Attributes"`
}

// NameFromARN returns the rule name of a rule ARN.
func NameFromARN(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}

// UpdateRule changes a rule (Default included).
func (s *Service) UpdateRule(ctx context.Context, env event.EnvID, u Update) (Record, error) {
	name := ""
	if u.RuleName != nil {
		name = *u.RuleName
	} else if u.RuleARN != nil {
		name = NameFromARN(*u.RuleARN)
	}
	if name == "" {
		return Record{}, fmt.Errorf("%w: RuleName or RuleARN is required", ErrInvalid)
	}
	var rec Record
	exists := true
	m, err := s.Store.XRaySamplingRule(ctx, int64(env), name)
	switch {
	case errors.Is(err, meta.ErrNotFound) && name == DefaultRuleName:
		exists = false
		rec = Record{SamplingRule: DefaultRule(), CreatedAt: 0}
	case errors.Is(err, meta.ErrNotFound):
		return Record{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	case err != nil:
		return Record{}, err
	default:
		rec = fromMeta(m)
	}
	r := &rec.SamplingRule
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&r.ResourceARN, u.ResourceARN)
	set(&r.Host, u.Host)
	set(&r.ServiceName, u.ServiceName)
	set(&r.ServiceType, u.ServiceType)
	set(&r.HTTPMethod, u.HTTPMethod)
	set(&r.URLPath, u.URLPath)
	if u.Priority != nil && name != DefaultRuleName {
		r.Priority = *u.Priority
	}
	if u.FixedRate != nil {
		r.FixedRate = *u.FixedRate
	}
	if u.ReservoirSize != nil {
		r.ReservoirSize = *u.ReservoirSize
	}
	if u.Attributes != nil {
		r.Attributes = u.Attributes
	}
	if err := Validate(r); err != nil {
		return Record{}, err
	}
	rec.ModifiedAt = epoch(s.now())
	mm := toMeta(env, *r, rec.CreatedAt, rec.ModifiedAt)
	if exists {
		err = s.Store.UpdateXRaySamplingRule(ctx, mm)
	} else {
		err = s.Store.CreateXRaySamplingRule(ctx, mm)
	}
	if err != nil {
		return Record{}, err
	}
	r.RuleARN = s.arn(env, name)
	return rec, nil
}

// Delete removes a rule; Default cannot be deleted.
func (s *Service) Delete(ctx context.Context, env event.EnvID, name string) (Record, error) {
	if name == DefaultRuleName {
		return Record{}, fmt.Errorf("%w: the Default rule cannot be deleted", ErrInvalid)
	}
	m, err := s.Store.XRaySamplingRule(ctx, int64(env), name)
	if errors.Is(err, meta.ErrNotFound) {
		return Record{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return Record{}, err
	}
	if err := s.Store.DeleteXRaySamplingRule(ctx, int64(env), name); err != nil {
		return Record{}, err
	}
	rec := fromMeta(m)
	rec.SamplingRule.RuleARN = s.arn(env, name)
	return rec, nil
}

// StatisticsDocument is one client's report for one rule.
type StatisticsDocument struct {
	RuleName     string  `json:"RuleName"`
	ClientID     string  `json:"ClientID"`
	Timestamp    float64 `json:"Timestamp"`
	RequestCount int64   `json:"RequestCount"`
	SampledCount int64   `json:"SampledCount"`
	BorrowCount  int64   `json:"BorrowCount"`
}

// TargetDocument is a rule's target for one client.
type TargetDocument struct {
	RuleName          string  `json:"RuleName"`
	FixedRate         float64 `json:"FixedRate"`
	ReservoirQuota    *int    `json:"ReservoirQuota,omitempty"`
	ReservoirQuotaTTL float64 `json:"ReservoirQuotaTTL,omitempty"`
	Interval          int     `json:"Interval"`
}

// Unprocessed is a statistics document that was not processed.
type Unprocessed struct {
	RuleName  string `json:"RuleName"`
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
}

// TargetsResult is GetSamplingTargets' answer.
type TargetsResult struct {
	SamplingTargetDocuments []TargetDocument `json:"SamplingTargetDocuments"`
	LastRuleModification    float64          `json:"LastRuleModification"`
	UnprocessedStatistics   []Unprocessed    `json:"UnprocessedStatistics"`
}

// Targets answers GetSamplingTargets: for each reported rule the client's
// share of the reservoir and the fixed rate.
func (s *Service) Targets(ctx context.Context, env event.EnvID, docs []StatisticsDocument) (*TargetsResult, error) {
	rules, err := s.Rules(ctx, env)
	if err != nil {
		return nil, err
	}
	byName := map[string]Rule{}
	res := &TargetsResult{SamplingTargetDocuments: []TargetDocument{}, UnprocessedStatistics: []Unprocessed{}}
	for _, r := range rules {
		byName[r.SamplingRule.RuleName] = r.SamplingRule
		if r.ModifiedAt > res.LastRuleModification {
			res.LastRuleModification = r.ModifiedAt
		}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		s.clients = map[string]map[string]time.Time{}
	}
	for _, d := range docs {
		if _, ok := byName[d.RuleName]; !ok || d.ClientID == "" {
			continue
		}
		k := fmt.Sprintf("%d/%s", env, d.RuleName)
		if s.clients[k] == nil {
			s.clients[k] = map[string]time.Time{}
		}
		s.clients[k][d.ClientID] = now
	}
	seen := map[string]bool{}
	for _, d := range docs {
		r, ok := byName[d.RuleName]
		if !ok {
			res.UnprocessedStatistics = append(res.UnprocessedStatistics, Unprocessed{RuleName: d.RuleName, ErrorCode: "400", Message: "Unknown rule"})
			continue
		}
		if seen[d.RuleName+"\x00"+d.ClientID] {
			continue
		}
		seen[d.RuleName+"\x00"+d.ClientID] = true
		k := fmt.Sprintf("%d/%s", env, d.RuleName)
		var active []string
		for c, t := range s.clients[k] {
			if now.Sub(t) > activeWindow {
				delete(s.clients[k], c)
				continue
			}
			active = append(active, c)
		}
		sort.Strings(active)
		q := share(r.ReservoirSize, active, d.ClientID)
		res.SamplingTargetDocuments = append(res.SamplingTargetDocuments, TargetDocument{
			RuleName: d.RuleName, FixedRate: r.FixedRate, ReservoirQuota: &q,
			ReservoirQuotaTTL: math.Floor(epoch(now.Add(quotaTTL))), Interval: Interval,
		})
	}
	return res, nil
}

// share is client's part of a reservoir split among the sorted active
// clients: equal parts, the remainder one each to the first clients.
func share(reservoir int, active []string, client string) int {
	n := len(active)
	if n == 0 {
		return reservoir
	}
	i := sort.SearchStrings(active, client)
	q := reservoir / n
	if i < reservoir%n {
		q++
	}
	return q
}
