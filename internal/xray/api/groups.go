package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/xray/filter"
	"github.com/waggle-hq/waggle/internal/xray/sampling"
)

type insights struct {
	InsightsEnabled      bool `json:"InsightsEnabled"`
	NotificationsEnabled bool `json:"NotificationsEnabled"`
}

type groupJSON struct {
	GroupName             string   `json:"GroupName"`
	GroupARN              string   `json:"GroupARN"`
	FilterExpression      string   `json:"FilterExpression,omitempty"`
	InsightsConfiguration insights `json:"InsightsConfiguration"`
}

func (c *call) groupARN(g meta.XRayGroup) string {
	region := c.region
	if region == "" {
		region = "us-east-1"
	}
	return fmt.Sprintf("arn:aws:xray:%s:%012d:group/%s/%s", region, int64(c.env), g.Name, g.ARNSuffix)
}

func groupNameFromARN(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 2 {
		return parts[1]
	}
	return ""
}

func (c *call) group(g meta.XRayGroup) groupJSON {
	return groupJSON{GroupName: g.Name, GroupARN: c.groupARN(g), FilterExpression: g.FilterExpression,
		InsightsConfiguration: insights{g.InsightsEnabled, g.NotificationsEnabled}}
}

func errGroupNotFound() *apiError {
	return invalidRequest("Group not found")
}

func validGroupName(n string) bool {
	if n == "" || len(n) > 32 || n == "Default" {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (a *API) createGroup(c *call) (any, *apiError) {
	var req struct {
		GroupName             string          `json:"GroupName"`
		FilterExpression      string          `json:"FilterExpression"`
		InsightsConfiguration *insights       `json:"InsightsConfiguration"`
		Tags                  json.RawMessage `json:"Tags"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if !validGroupName(req.GroupName) {
		return nil, invalidRequest("GroupName must be 1 to 32 letters, digits, dashes or underscores, and not Default")
	}
	if _, err := filter.Parse(req.FilterExpression); err != nil {
		return nil, invalidRequest("%s", err.Error())
	}
	suffix := make([]byte, 16)
	_, _ = rand.Read(suffix)
	now := float64(a.Now().UnixNano()) / 1e9
	g := meta.XRayGroup{Env: int64(c.env), Name: req.GroupName, ARNSuffix: strings.ToUpper(hex.EncodeToString(suffix))[:26],
		FilterExpression: req.FilterExpression, Tags: "[]", CreatedAt: now, UpdatedAt: now}
	if len(req.Tags) > 0 {
		g.Tags = string(req.Tags)
	}
	if req.InsightsConfiguration != nil {
		g.InsightsEnabled, g.NotificationsEnabled = req.InsightsConfiguration.InsightsEnabled, req.InsightsConfiguration.NotificationsEnabled
	}
	if err := a.Meta.CreateXRayGroup(c.ctx, g); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return nil, invalidRequest("Group already exists")
		}
		return nil, a.internal("create group", err)
	}
	return map[string]any{"Group": c.group(g)}, nil
}

type groupRef struct {
	GroupName string `json:"GroupName"`
	GroupARN  string `json:"GroupARN"`
}

func (a *API) findGroup(c *call, ref groupRef) (meta.XRayGroup, *apiError) {
	name := ref.GroupName
	if name == "" {
		name = groupNameFromARN(ref.GroupARN)
	}
	if name == "" {
		return meta.XRayGroup{}, invalidRequest("GroupName or GroupARN is required")
	}
	g, err := a.Meta.XRayGroup(c.ctx, int64(c.env), name)
	if errors.Is(err, meta.ErrNotFound) {
		return meta.XRayGroup{}, errGroupNotFound()
	}
	if err != nil {
		return meta.XRayGroup{}, a.internal("group", err)
	}
	return g, nil
}

func (a *API) getGroup(c *call) (any, *apiError) {
	var ref groupRef
	if e := decode(c, &ref); e != nil {
		return nil, e
	}
	g, aerr := a.findGroup(c, ref)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"Group": c.group(g)}, nil
}

func (a *API) getGroups(c *call) (any, *apiError) {
	gs, err := a.Meta.XRayGroups(c.ctx, int64(c.env))
	if err != nil {
		return nil, a.internal("groups", err)
	}
	out := []groupJSON{}
	for _, g := range gs {
		out = append(out, c.group(g))
	}
	return map[string]any{"Groups": out}, nil
}

func (a *API) updateGroup(c *call) (any, *apiError) {
	var req struct {
		groupRef
		FilterExpression      *string   `json:"FilterExpression"`
		InsightsConfiguration *insights `json:"InsightsConfiguration"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	g, aerr := a.findGroup(c, req.groupRef)
	if aerr != nil {
		return nil, aerr
	}
	if req.FilterExpression != nil {
		if _, err := filter.Parse(*req.FilterExpression); err != nil {
			return nil, invalidRequest("%s", err.Error())
		}
		g.FilterExpression = *req.FilterExpression
	}
	if req.InsightsConfiguration != nil {
		g.InsightsEnabled, g.NotificationsEnabled = req.InsightsConfiguration.InsightsEnabled, req.InsightsConfiguration.NotificationsEnabled
	}
	g.UpdatedAt = float64(a.Now().UnixNano()) / 1e9
	if err := a.Meta.UpdateXRayGroup(c.ctx, g); err != nil {
		return nil, a.internal("update group", err)
	}
	return map[string]any{"Group": c.group(g)}, nil
}

func (a *API) deleteGroup(c *call) (any, *apiError) {
	var ref groupRef
	if e := decode(c, &ref); e != nil {
		return nil, e
	}
	g, aerr := a.findGroup(c, ref)
	if aerr != nil {
		return nil, aerr
	}
	if err := a.Meta.DeleteXRayGroup(c.ctx, int64(c.env), g.Name); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, a.internal("delete group", err)
	}
	return struct{}{}, nil
}

// --- sampling ---

func (a *API) samplingError(err error) *apiError {
	switch {
	case errors.Is(err, sampling.ErrNotFound):
		return invalidRequest("%s", err.Error())
	case errors.Is(err, sampling.ErrExists):
		return invalidRequest("%s", err.Error())
	case errors.Is(err, sampling.ErrInvalid):
		return invalidRequest("%s", err.Error())
	}
	return a.internal("sampling", err)
}

func (a *API) getSamplingRules(c *call) (any, *apiError) {
	recs, err := a.Sampling.Rules(c.ctx, c.env)
	if err != nil {
		return nil, a.samplingError(err)
	}
	return map[string]any{"SamplingRuleRecords": recs}, nil
}

func (a *API) createSamplingRule(c *call) (any, *apiError) {
	var req struct {
		SamplingRule *sampling.Rule `json:"SamplingRule"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if req.SamplingRule == nil {
		return nil, invalidRequest("SamplingRule is required")
	}
	rec, err := a.Sampling.Create(c.ctx, c.env, *req.SamplingRule)
	if err != nil {
		return nil, a.samplingError(err)
	}
	return map[string]any{"SamplingRuleRecord": rec}, nil
}

func (a *API) updateSamplingRule(c *call) (any, *apiError) {
	var req struct {
		SamplingRuleUpdate *sampling.Update `json:"SamplingRuleUpdate"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if req.SamplingRuleUpdate == nil {
		return nil, invalidRequest("SamplingRuleUpdate is required")
	}
	rec, err := a.Sampling.UpdateRule(c.ctx, c.env, *req.SamplingRuleUpdate)
	if err != nil {
		return nil, a.samplingError(err)
	}
	return map[string]any{"SamplingRuleRecord": rec}, nil
}

func (a *API) deleteSamplingRule(c *call) (any, *apiError) {
	var req struct {
		RuleName string `json:"RuleName"`
		RuleARN  string `json:"RuleARN"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	name := req.RuleName
	if name == "" {
		name = sampling.NameFromARN(req.RuleARN)
	}
	if name == "" {
		return nil, invalidRequest("RuleName or RuleARN is required")
	}
	rec, err := a.Sampling.Delete(c.ctx, c.env, name)
	if err != nil {
		return nil, a.samplingError(err)
	}
	return map[string]any{"SamplingRuleRecord": rec}, nil
}

func (a *API) getSamplingTargets(c *call) (any, *apiError) {
	var req struct {
		SamplingStatisticsDocuments []sampling.StatisticsDocument `json:"SamplingStatisticsDocuments"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if req.SamplingStatisticsDocuments == nil {
		return nil, invalidRequest("SamplingStatisticsDocuments is required")
	}
	res, err := a.Sampling.Targets(c.ctx, c.env, req.SamplingStatisticsDocuments)
	if err != nil {
		return nil, a.samplingError(err)
	}
	return res, nil
}
