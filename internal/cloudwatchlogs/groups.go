package cloudwatchlogs

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/store"
)

// neverExpire is the dataset retention of a group without a retention
// policy (CloudWatch Logs keeps its events forever).
const neverExpire = 100 * 365 * 24 * time.Hour

const maxNameLen = 512

var retentionValues = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func nullMember(member string) *apiError {
	return invalidParam("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

func checkGroupName(member string, name *string, required bool) *apiError {
	if name == nil {
		if required {
			return nullMember(member)
		}
		return nil
	}
	n := *name
	if len(n) > maxNameLen {
		return invalidParam("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	}
	if n == "" {
		return invalidParam("1 validation error detected: Value '' at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", member)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-/#", c) >= 0) {
			return invalidParam("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", n, member)
		}
	}
	return nil
}

func checkStreamName(member string, name *string, required bool) *apiError {
	if name == nil {
		if required {
			return nullMember(member)
		}
		return nil
	}
	n := *name
	if len(n) > maxNameLen {
		return invalidParam("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	}
	if n == "" {
		return invalidParam("1 validation error detected: Value '' at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", member)
	}
	if strings.ContainsAny(n, ":*") {
		return invalidParam("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", n, member)
	}
	return nil
}

// groupFromIdentifier resolves logGroupName / logGroupIdentifier (a name or
// an ARN): exactly one must be given.
func groupFromIdentifier(name, ident *string) (string, *apiError) {
	switch {
	case name != nil && ident != nil:
		return "", validationError("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != nil:
		if e := checkGroupName("logGroupName", name, true); e != nil {
			return "", e
		}
		return *name, nil
	case ident != nil:
		return groupNameFromARN(*ident), nil
	}
	return "", invalidParam("Should provide either logGroupName or logGroupIdentifier.")
}

// groupNameFromARN returns the group name of a log group ARN
// (arn:aws:logs:region:account:log-group:NAME[:*]), or s itself when it is
// not an ARN.
func groupNameFromARN(s string) string {
	if !strings.HasPrefix(s, "arn:") {
		return s
	}
	_, rest, ok := strings.Cut(s, ":log-group:")
	if !ok {
		return ""
	}
	rest = strings.TrimSuffix(rest, ":*")
	if i := strings.Index(rest, ":log-stream:"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

type createLogGroupInput struct {
	LogGroupName              *string           `json:"logGroupName"`
	KmsKeyID                  *string           `json:"kmsKeyId"`
	Tags                      map[string]string `json:"tags"`
	LogGroupClass             *string           `json:"logGroupClass"`
	DeletionProtectionEnabled *bool             `json:"deletionProtectionEnabled"`
}

func (a *API) createLogGroup(c *call) (any, *apiError) {
	var in createLogGroupInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	if e := checkTags(in.Tags, in.Tags != nil); e != nil {
		return nil, e
	}
	class := "STANDARD"
	if in.LogGroupClass != nil {
		switch *in.LogGroupClass {
		case "STANDARD", "INFREQUENT_ACCESS", "DELIVERY":
			class = *in.LogGroupClass
		default:
			return nil, invalidParam("1 validation error detected: Value '%s' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]", *in.LogGroupClass)
		}
	}
	name := *in.LogGroupName
	if g, err := a.reg.group(c.ctx, c.envID(), name); err != nil {
		return nil, a.internal(c, "create log group", err)
	} else if g != nil {
		return nil, &apiError{400, "ResourceAlreadyExistsException", "The specified log group already exists"}
	}
	dataset, err := a.pickDataset(c, name)
	if err != nil {
		return nil, a.internal(c, "create log group", err)
	}
	tags, _ := json.Marshal(orEmpty(in.Tags))
	row := meta.LogGroup{
		EnvID: int64(c.envID()), Name: name, Dataset: dataset, CreatedMs: a.Now().UnixMilli(),
		Class: class, Tags: string(tags),
	}
	if in.KmsKeyID != nil {
		row.KMSKeyID = *in.KmsKeyID
	}
	if in.DeletionProtectionEnabled != nil {
		row.DeletionProtection = *in.DeletionProtectionEnabled
	}
	// The dataset first: a group is usable only once its dataset exists.
	if _, _, err := a.Store.CreateDataset(c.ctx, c.envID(), store.DatasetInfo{
		Name: dataset, Description: "CloudWatch Logs log group " + name, Retention: neverExpire,
	}); err != nil {
		return nil, a.internal(c, "create dataset", err)
	}
	if _, err := a.reg.createGroup(c.ctx, c.envID(), row); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return nil, &apiError{400, "ResourceAlreadyExistsException", "The specified log group already exists"}
		}
		return nil, a.internal(c, "create log group", err)
	}
	return struct{}{}, nil
}

// pickDataset chooses a group's dataset: DatasetName, or with "-2", "-3", …
// when another group of the environment uses that one already.
func (a *API) pickDataset(c *call, group string) (string, error) {
	base := DatasetName(group)
	for i := 1; ; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		taken, err := a.reg.datasetTaken(c.ctx, c.envID(), name)
		if err != nil {
			return "", err
		}
		if !taken {
			return name, nil
		}
	}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

type groupNameInput struct {
	LogGroupName *string `json:"logGroupName"`
}

func (a *API) deleteLogGroup(c *call) (any, *apiError) {
	var in groupNameInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	g, err := a.reg.group(c.ctx, c.envID(), *in.LogGroupName)
	if err != nil {
		return nil, a.internal(c, "delete log group", err)
	}
	if g == nil {
		return nil, errGroupNotFound()
	}
	if g.DeletionProtection {
		return nil, validationError("Log group %s has deletion protection enabled.", g.Name)
	}
	if err := a.Store.DeleteDataset(c.ctx, c.envID(), g.Dataset); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, a.internal(c, "delete dataset", err)
	}
	if err := a.reg.deleteGroup(c.ctx, c.envID(), g.ID, g.Name); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, a.internal(c, "delete log group", err)
	}
	return struct{}{}, nil
}

type describeLogGroupsInput struct {
	LogGroupNamePrefix    *string  `json:"logGroupNamePrefix"`
	LogGroupNamePattern   *string  `json:"logGroupNamePattern"`
	LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	NextToken             *string  `json:"nextToken"`
	Limit                 *int     `json:"limit"`
	IncludeLinkedAccounts *bool    `json:"includeLinkedAccounts"`
	LogGroupClass         *string  `json:"logGroupClass"`
	AccountIdentifiers    []string `json:"accountIdentifiers"`
}

type logGroupOut struct {
	LogGroupName              string `json:"logGroupName"`
	CreationTime              int64  `json:"creationTime"`
	RetentionInDays           *int   `json:"retentionInDays,omitempty"`
	MetricFilterCount         int    `json:"metricFilterCount"`
	ARN                       string `json:"arn"`
	StoredBytes               int64  `json:"storedBytes"`
	KmsKeyID                  string `json:"kmsKeyId,omitempty"`
	LogGroupClass             string `json:"logGroupClass"`
	LogGroupARN               string `json:"logGroupArn"`
	DeletionProtectionEnabled bool   `json:"deletionProtectionEnabled"`
}

func checkLimit(limit *int, max int) (int, *apiError) {
	if limit == nil {
		return max, nil
	}
	if *limit < 1 {
		return 0, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *limit)
	}
	if *limit > max {
		return 0, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to %d", *limit, max)
	}
	return *limit, nil
}

// nameToken / parseNameToken page through name-ordered lists: the token is
// the last name returned.
func nameToken(name string) string { return "n/" + base64.RawURLEncoding.EncodeToString([]byte(name)) }

func parseNameToken(tok *string) (string, *apiError) {
	if tok == nil {
		return "", nil
	}
	rest, ok := strings.CutPrefix(*tok, "n/")
	if !ok {
		return "", errBadToken()
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) == 0 {
		return "", errBadToken()
	}
	return string(b), nil
}

func (a *API) describeLogGroups(c *call) (any, *apiError) {
	var in describeLogGroupsInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, invalidParam("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if e := checkGroupName("logGroupNamePrefix", in.LogGroupNamePrefix, false); e != nil {
		return nil, e
	}
	limit, e := checkLimit(in.Limit, 50)
	if e != nil {
		return nil, e
	}
	after, e := parseNameToken(in.NextToken)
	if e != nil {
		return nil, e
	}
	groups, err := a.reg.groups(c.ctx, c.envID())
	if err != nil {
		return nil, a.internal(c, "describe log groups", err)
	}
	var idents map[string]bool
	if in.LogGroupIdentifiers != nil {
		idents = map[string]bool{}
		for _, id := range in.LogGroupIdentifiers {
			idents[groupNameFromARN(id)] = true
		}
	}
	out := struct {
		LogGroups []logGroupOut `json:"logGroups"`
		NextToken string        `json:"nextToken,omitempty"`
	}{LogGroups: []logGroupOut{}}
	for _, g := range groups {
		switch {
		case after != "" && g.Name <= after:
			continue
		case in.LogGroupNamePrefix != nil && !strings.HasPrefix(g.Name, *in.LogGroupNamePrefix):
			continue
		case in.LogGroupNamePattern != nil && !strings.Contains(g.Name, *in.LogGroupNamePattern):
			continue
		case idents != nil && !idents[g.Name]:
			continue
		case in.LogGroupClass != nil && g.Class != *in.LogGroupClass:
			continue
		}
		if len(out.LogGroups) == limit {
			out.NextToken = nameToken(out.LogGroups[limit-1].LogGroupName)
			break
		}
		out.LogGroups = append(out.LogGroups, c.groupOut(g))
	}
	return out, nil
}

func (c *call) groupOut(g *groupView) logGroupOut {
	o := logGroupOut{
		LogGroupName: g.Name, CreationTime: g.CreatedMs, ARN: c.groupARN(g.Name) + ":*",
		KmsKeyID: g.KMSKeyID, LogGroupClass: g.Class, LogGroupARN: c.groupARN(g.Name),
		DeletionProtectionEnabled: g.DeletionProtection,
	}
	if g.RetentionDays > 0 {
		d := g.RetentionDays
		o.RetentionInDays = &d
	}
	return o
}

type streamInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

func (a *API) createLogStream(c *call) (any, *apiError) {
	var in streamInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	if e := checkStreamName("logStreamName", in.LogStreamName, true); e != nil {
		return nil, e
	}
	found, err := a.reg.createStream(c.ctx, c.envID(), *in.LogGroupName, meta.LogStream{Name: *in.LogStreamName, CreatedMs: a.Now().UnixMilli()})
	switch {
	case errors.Is(err, meta.ErrConflict):
		return nil, &apiError{400, "ResourceAlreadyExistsException", "The specified log stream already exists"}
	case err != nil:
		return nil, a.internal(c, "create log stream", err)
	case !found:
		return nil, errGroupNotFound()
	}
	return struct{}{}, nil
}

func (a *API) deleteLogStream(c *call) (any, *apiError) {
	var in streamInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	if e := checkStreamName("logStreamName", in.LogStreamName, true); e != nil {
		return nil, e
	}
	found, err := a.reg.deleteStream(c.ctx, c.envID(), *in.LogGroupName, *in.LogStreamName)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil, errStreamNotFound()
	case err != nil:
		return nil, a.internal(c, "delete log stream", err)
	case !found:
		return nil, errGroupNotFound()
	}
	// The stream's events stay in the dataset but are hidden: reads only
	// show events of existing streams ingested after the stream's creation.
	return struct{}{}, nil
}

type describeLogStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

type logStreamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken string `json:"uploadSequenceToken"`
	ARN                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (a *API) describeLogStreams(c *call) (any, *apiError) {
	var in describeLogStreamsInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	name, e := groupFromIdentifier(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	if e := checkStreamName("logStreamNamePrefix", in.LogStreamNamePrefix, false); e != nil {
		return nil, e
	}
	byTime := false
	if in.OrderBy != nil {
		switch *in.OrderBy {
		case "LogStreamName":
		case "LastEventTime":
			byTime = true
		default:
			return nil, invalidParam("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LastEventTime, LogStreamName]", *in.OrderBy)
		}
	}
	if byTime && in.LogStreamNamePrefix != nil {
		return nil, invalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	limit, e := checkLimit(in.Limit, 50)
	if e != nil {
		return nil, e
	}
	desc := in.Descending != nil && *in.Descending
	g, err := a.reg.group(c.ctx, c.envID(), name)
	if err != nil {
		return nil, a.internal(c, "describe log streams", err)
	}
	if g == nil {
		return nil, errGroupNotFound()
	}
	sts := g.Streams
	if in.LogStreamNamePrefix != nil {
		var keep []meta.LogStream
		for _, st := range sts {
			if strings.HasPrefix(st.Name, *in.LogStreamNamePrefix) {
				keep = append(keep, st)
			}
		}
		sts = keep
	}
	if byTime {
		sort.SliceStable(sts, func(i, j int) bool {
			if sts[i].LastEventMs != sts[j].LastEventMs {
				return sts[i].LastEventMs < sts[j].LastEventMs
			}
			return sts[i].Name < sts[j].Name
		})
	}
	if desc {
		for i, j := 0, len(sts)-1; i < j; i, j = i+1, j-1 {
			sts[i], sts[j] = sts[j], sts[i]
		}
	}
	start := 0
	if in.NextToken != nil {
		// The token is the offset in this ordering.
		var off int
		if _, err := fmt.Sscanf(*in.NextToken, "o/%d", &off); err != nil || off < 0 || off > len(sts) {
			return nil, errBadToken()
		}
		start = off
	}
	out := struct {
		LogStreams []logStreamOut `json:"logStreams"`
		NextToken  string         `json:"nextToken,omitempty"`
	}{LogStreams: []logStreamOut{}}
	end := min(start+limit, len(sts))
	for _, st := range sts[start:end] {
		out.LogStreams = append(out.LogStreams, logStreamOut{
			LogStreamName: st.Name, CreationTime: st.CreatedMs, FirstEventTimestamp: st.FirstEventMs,
			LastEventTimestamp: st.LastEventMs, LastIngestionTime: st.LastIngestionMs,
			UploadSequenceToken: sequenceToken(st.LastIngestionMs),
			ARN:                 c.groupARN(g.Name) + ":log-stream:" + st.Name,
		})
	}
	if end < len(sts) {
		out.NextToken = fmt.Sprintf("o/%d", end)
	}
	return out, nil
}

type retentionInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int    `json:"retentionInDays"`
}

func (a *API) putRetentionPolicy(c *call) (any, *apiError) {
	var in retentionInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	if in.RetentionInDays == nil {
		return nil, nullMember("retentionInDays")
	}
	ok := false
	for _, v := range retentionValues {
		ok = ok || v == *in.RetentionInDays
	}
	if !ok {
		vals := make([]string, len(retentionValues))
		for i, v := range retentionValues {
			vals[i] = fmt.Sprint(v)
		}
		return nil, invalidParam("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
			*in.RetentionInDays, strings.Join(vals, ", "))
	}
	return a.setRetention(c, *in.LogGroupName, *in.RetentionInDays)
}

func (a *API) deleteRetentionPolicy(c *call) (any, *apiError) {
	var in groupNameInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	return a.setRetention(c, *in.LogGroupName, 0)
}

// setRetention records a group's retention and applies it to its dataset,
// whose retention the store enforces.
func (a *API) setRetention(c *call, name string, days int) (any, *apiError) {
	g, err := a.reg.group(c.ctx, c.envID(), name)
	if err != nil {
		return nil, a.internal(c, "retention", err)
	}
	if g == nil {
		return nil, errGroupNotFound()
	}
	retention := neverExpire
	if days > 0 {
		retention = time.Duration(days) * 24 * time.Hour
	}
	ds, err := a.Store.Dataset(c.ctx, c.envID(), g.Dataset)
	if errors.Is(err, store.ErrNotFound) {
		ds.Name, ds.Description = g.Dataset, "CloudWatch Logs log group "+g.Name
		_, _, err = a.Store.CreateDataset(c.ctx, c.envID(), store.DatasetInfo{Name: ds.Name, Description: ds.Description, Retention: retention})
		ds.Slug = g.Dataset
	}
	if err != nil {
		return nil, a.internal(c, "retention: dataset", err)
	}
	if _, err := a.Store.UpdateDataset(c.ctx, c.envID(), ds.Slug, store.DatasetInfo{Name: ds.Name, Description: ds.Description, Retention: retention}); err != nil {
		return nil, a.internal(c, "retention: update dataset", err)
	}
	if _, err := a.reg.updateGroup(c.ctx, c.envID(), name, func(g *meta.LogGroup) error {
		g.RetentionDays = days
		return nil
	}); err != nil {
		return nil, a.internal(c, "retention", err)
	}
	return struct{}{}, nil
}

// Tags.

func checkTags(tags map[string]string, given bool) *apiError {
	if !given {
		return nil
	}
	if len(tags) == 0 {
		return invalidParam("1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(tags) > 50 {
		return &apiError{400, "TooManyTagsException", "A resource can have no more than 50 tags."}
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(k, "aws:") {
			return invalidParam("Invalid tag key or value: %q", k)
		}
	}
	return nil
}

func (a *API) changeTags(c *call, group string, set map[string]string, remove []string) *apiError {
	var tooMany bool
	g, err := a.reg.updateGroup(c.ctx, c.envID(), group, func(g *meta.LogGroup) error {
		cur := map[string]string{}
		_ = json.Unmarshal([]byte(g.Tags), &cur)
		for k, v := range set {
			cur[k] = v
		}
		for _, k := range remove {
			delete(cur, k)
		}
		if len(cur) > 50 {
			tooMany = true
			return errors.New("too many tags")
		}
		b, _ := json.Marshal(cur)
		g.Tags = string(b)
		return nil
	})
	switch {
	case tooMany:
		return &apiError{400, "TooManyTagsException", "A resource can have no more than 50 tags."}
	case err != nil:
		return a.internal(c, "tags", err)
	case g == nil:
		return errGroupNotFound()
	}
	return nil
}

func (a *API) groupTags(c *call, group string) (map[string]string, *apiError) {
	g, err := a.reg.group(c.ctx, c.envID(), group)
	if err != nil {
		return nil, a.internal(c, "tags", err)
	}
	if g == nil {
		return nil, errGroupNotFound()
	}
	tags := map[string]string{}
	_ = json.Unmarshal([]byte(g.Tags), &tags)
	return tags, nil
}

type tagResourceInput struct {
	ResourceARN *string           `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
	TagKeys     []string          `json:"tagKeys"`
}

func arnGroup(arn *string) (string, *apiError) {
	if arn == nil {
		return "", nullMember("resourceArn")
	}
	if !strings.HasPrefix(*arn, "arn:") || !strings.Contains(*arn, ":log-group:") || strings.Contains(*arn, ":log-stream:") {
		return "", invalidParam("Invalid resource ARN: %s", *arn)
	}
	return groupNameFromARN(*arn), nil
}

func (a *API) tagResource(c *call) (any, *apiError) {
	var in tagResourceInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	g, e := arnGroup(in.ResourceARN)
	if e != nil {
		return nil, e
	}
	if in.Tags == nil {
		return nil, nullMember("tags")
	}
	if e := checkTags(in.Tags, true); e != nil {
		return nil, e
	}
	return struct{}{}, a.changeTags(c, g, in.Tags, nil)
}

func (a *API) untagResource(c *call) (any, *apiError) {
	var in tagResourceInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	g, e := arnGroup(in.ResourceARN)
	if e != nil {
		return nil, e
	}
	if in.TagKeys == nil {
		return nil, nullMember("tagKeys")
	}
	return struct{}{}, a.changeTags(c, g, nil, in.TagKeys)
}

func (a *API) listTagsForResource(c *call) (any, *apiError) {
	var in tagResourceInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	g, e := arnGroup(in.ResourceARN)
	if e != nil {
		return nil, e
	}
	tags, e := a.groupTags(c, g)
	if e != nil {
		return nil, e
	}
	return struct {
		Tags map[string]string `json:"tags"`
	}{tags}, nil
}

type tagLogGroupInput struct {
	LogGroupName *string         `json:"logGroupName"`
	Tags         json.RawMessage `json:"tags"`
}

func (a *API) tagLogGroup(c *call) (any, *apiError) {
	var in tagLogGroupInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	var tags map[string]string
	if len(in.Tags) == 0 || json.Unmarshal(in.Tags, &tags) != nil || tags == nil {
		return nil, nullMember("tags")
	}
	if e := checkTags(tags, true); e != nil {
		return nil, e
	}
	return struct{}{}, a.changeTags(c, *in.LogGroupName, tags, nil)
}

func (a *API) untagLogGroup(c *call) (any, *apiError) {
	var in tagLogGroupInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	var keys []string
	if len(in.Tags) == 0 || json.Unmarshal(in.Tags, &keys) != nil || keys == nil {
		return nil, nullMember("tags")
	}
	return struct{}{}, a.changeTags(c, *in.LogGroupName, nil, keys)
}

func (a *API) listTagsLogGroup(c *call) (any, *apiError) {
	var in groupNameInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	tags, e := a.groupTags(c, *in.LogGroupName)
	if e != nil {
		return nil, e
	}
	return struct {
		Tags map[string]string `json:"tags"`
	}{tags}, nil
}
