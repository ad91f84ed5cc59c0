package honeycomb

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/triggers"
)

// Boards (/1/boards[/{id}]) and board views (/1/boards/{id}/views[/{viewId}]).
// Permission: manage_boards.

const (
	maxBoardViews     = 50
	maxPresetFilters  = 5
	maxBoardPanels    = 100
	maxBoardBodyBytes = 512 << 10
)

func (a *API) registerBoards(mux *http.ServeMux) {
	mux.HandleFunc("GET /1/boards", a.handleListBoards)
	mux.HandleFunc("POST /1/boards", a.handleCreateBoard)
	mux.HandleFunc("GET /1/boards/{id}", a.handleGetBoard)
	mux.HandleFunc("PUT /1/boards/{id}", a.handleUpdateBoard)
	mux.HandleFunc("DELETE /1/boards/{id}", a.handleDeleteBoard)
	mux.HandleFunc("GET /1/boards/{id}/views", a.handleListBoardViews)
	mux.HandleFunc("POST /1/boards/{id}/views", a.handleCreateBoardView)
	mux.HandleFunc("GET /1/boards/{id}/views/{viewId}", a.handleGetBoardView)
	mux.HandleFunc("PUT /1/boards/{id}/views/{viewId}", a.handleUpdateBoardView)
	mux.HandleFunc("DELETE /1/boards/{id}/views/{viewId}", a.handleDeleteBoardView)
}

// board is Honeycomb's flexible board.
type board struct {
	ID               string            `json:"id,omitempty"`
	Name             string            `json:"name"`
	Description      string            `json:"description"`
	Type             string            `json:"type"`
	LayoutGeneration string            `json:"layout_generation,omitempty"`
	Panels           []boardPanel      `json:"panels"`
	Tags             []triggers.Tag    `json:"tags"`
	PresetFilters    []presetFilter    `json:"preset_filters,omitempty"`
	Links            map[string]string `json:"links,omitempty"`
}

type boardPanel struct {
	Type       string         `json:"type"`
	Position   *panelPosition `json:"position,omitempty"`
	QueryPanel *queryPanel    `json:"query_panel,omitempty"`
	SLOPanel   *sloPanel      `json:"slo_panel,omitempty"`
	TextPanel  *textPanel     `json:"text_panel,omitempty"`
}

type panelPosition struct {
	X      int `json:"x_coordinate"`
	Y      int `json:"y_coordinate"`
	Height int `json:"height"`
	Width  int `json:"width"`
}

type queryPanel struct {
	Dataset               string                 `json:"dataset,omitempty"`
	QueryID               string                 `json:"query_id"`
	QueryAnnotationID     string                 `json:"query_annotation_id,omitempty"`
	QueryStyle            string                 `json:"query_style,omitempty"`
	VisualizationSettings *visualizationSettings `json:"visualization_settings,omitempty"`
}

type visualizationSettings struct {
	UTCXAxis       bool          `json:"utc_xaxis"`
	HideMarkers    bool          `json:"hide_markers"`
	HideHovers     bool          `json:"hide_hovers"`
	OverlaidCharts bool          `json:"overlaid_charts"`
	HideCompare    bool          `json:"hide_compare"`
	Charts         []chartConfig `json:"charts,omitempty"`
}

type chartConfig struct {
	ChartType         string `json:"chart_type"`
	ChartIndex        int    `json:"chart_index"`
	OmitMissingValues bool   `json:"omit_missing_values"`
	LogScale          bool   `json:"log_scale"`
}

type sloPanel struct {
	SLOID string `json:"slo_id"`
}

type textPanel struct {
	Content string `json:"content"`
}

type presetFilter struct {
	Column string `json:"column"`
	Alias  string `json:"alias"`
}

func boardOf(r *http.Request, o meta.Object) board {
	var b board
	_ = json.Unmarshal(o.Body, &b)
	b.ID = o.ID
	b.Links = map[string]string{"board_url": baseURL(r) + "/boards/" + o.ID}
	return b
}

// readBoard decodes and validates a board: a name, known panel types with
// their panel, queries that exist in their dataset, chart settings from
// Honeycomb's enums, tags and preset filters within limits.
func (a *API) readBoard(w http.ResponseWriter, r *http.Request, p *tenant.Principal) ([]byte, bool) {
	var b board
	if !readObject(w, r, maxBoardBodyBytes, &b) {
		return nil, false
	}
	fail := func(field, msg string) ([]byte, bool) {
		writeProblem(w, http.StatusUnprocessableEntity, field, msg)
		return nil, false
	}
	b.Name = strings.TrimSpace(b.Name)
	if b.Name == "" || len(b.Name) > 255 {
		return fail("name", "name is required and must be at most 255 characters")
	}
	if len(b.Description) > 1024 {
		return fail("description", "description must be at most 1024 characters")
	}
	if b.Type == "" {
		b.Type = "flexible"
	}
	if b.Type != "flexible" {
		return fail("type", "type must be flexible")
	}
	switch b.LayoutGeneration {
	case "":
		b.LayoutGeneration = "manual"
	case "manual", "auto":
	default:
		return fail("layout_generation", "layout_generation must be manual or auto")
	}
	if err := triggers.ValidateTags(b.Tags); err != nil {
		return fail("tags", err.Error())
	}
	if b.Tags == nil {
		b.Tags = []triggers.Tag{}
	}
	if len(b.PresetFilters) > maxPresetFilters {
		return fail("preset_filters", "at most 5 preset filters are allowed")
	}
	for _, f := range b.PresetFilters {
		if f.Column == "" {
			return fail("preset_filters", "preset filters need a column")
		}
	}
	if len(b.Panels) > maxBoardPanels {
		return fail("panels", "at most 100 panels are allowed")
	}
	if b.Panels == nil {
		b.Panels = []boardPanel{}
	}
	for i := range b.Panels {
		pn := &b.Panels[i]
		switch pn.Type {
		case "query":
			q := pn.QueryPanel
			if q == nil || q.QueryID == "" {
				return fail("panels.query_panel", "a query panel needs query_panel.query_id")
			}
			if pn.SLOPanel != nil || pn.TextPanel != nil {
				return fail("panels", "a query panel holds only query_panel")
			}
			ds := q.Dataset
			if ds == "" {
				ds = "__all__"
			}
			if _, err := a.Engine.Saved(r.Context(), p.Env.ID, ds, q.QueryID); err != nil {
				if errors.Is(err, query.ErrQueryNotFound) || errors.Is(err, query.ErrUnknownDataset) {
					return fail("panels.query_panel.query_id", "query "+truncateMsg(q.QueryID)+" not found in dataset "+truncateMsg(ds))
				}
				a.internalError(w, r, "load query", err)
				return nil, false
			}
			if q.QueryAnnotationID != "" {
				if _, err := a.Alerting.DB.Object(r.Context(), int64(p.Env.ID), meta.KindQueryAnnotation, q.QueryAnnotationID); err != nil {
					return fail("panels.query_panel.query_annotation_id", "query annotation "+truncateMsg(q.QueryAnnotationID)+" not found")
				}
			}
			switch q.QueryStyle {
			case "":
				q.QueryStyle = "graph"
			case "graph", "table", "combo":
			default:
				return fail("panels.query_panel.query_style", "query_style must be graph, table or combo")
			}
			if v := q.VisualizationSettings; v != nil {
				for _, c := range v.Charts {
					switch c.ChartType {
					case "default", "line", "stacked", "stat", "tsbar", "":
					default:
						return fail("panels.query_panel.visualization_settings.charts", "chart_type must be default, line, stacked, stat or tsbar")
					}
				}
			}
		case "text":
			if pn.TextPanel == nil || pn.QueryPanel != nil || pn.SLOPanel != nil {
				return fail("panels.text_panel", "a text panel needs text_panel.content")
			}
			if len(pn.TextPanel.Content) > 10000 {
				return fail("panels.text_panel", "text panel content must be at most 10000 characters")
			}
		case "slo":
			if pn.SLOPanel == nil || pn.SLOPanel.SLOID == "" {
				return fail("panels.slo_panel", "an slo panel needs slo_panel.slo_id")
			}
		default:
			return fail("panels.type", "panel type must be query, slo or text")
		}
		if ps := pn.Position; ps != nil && (ps.X < 0 || ps.Y < 0 || ps.Height < 0 || ps.Width < 0 || ps.Width > 12) {
			return fail("panels.position", "panel positions are non-negative and at most 12 wide")
		}
	}
	b.ID, b.Links = "", nil
	raw, _ := json.Marshal(b)
	return raw, true
}

func (a *API) handleListBoards(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageBoards)
	if p == nil {
		return
	}
	os, err := a.Alerting.DB.Objects(r.Context(), int64(p.Env.ID), meta.KindBoard, "")
	if err != nil {
		a.internalError(w, r, "list boards", err)
		return
	}
	out := make([]board, 0, len(os))
	for _, o := range os {
		out = append(out, boardOf(r, o))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) handleCreateBoard(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageBoards)
	if p == nil {
		return
	}
	raw, ok := a.readBoard(w, r, p)
	if !ok {
		return
	}
	o, err := a.Alerting.DB.CreateObject(r.Context(), meta.Object{EnvID: int64(p.Env.ID), Kind: meta.KindBoard, ID: newObjectID(), Body: raw})
	if err != nil {
		a.objectError(w, r, "board", err)
		return
	}
	writeJSON(w, http.StatusCreated, boardOf(r, o))
}

func (a *API) handleGetBoard(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageBoards)
	if p == nil {
		return
	}
	if o, ok := a.loadObject(w, r, p, meta.KindBoard, "", r.PathValue("id"), "board"); ok {
		writeJSON(w, http.StatusOK, boardOf(r, o))
	}
}

func (a *API) handleUpdateBoard(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageBoards)
	if p == nil {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindBoard, "", r.PathValue("id"), "board")
	if !ok {
		return
	}
	raw, ok := a.readBoard(w, r, p)
	if !ok {
		return
	}
	o.Body = raw
	o, err := a.Alerting.DB.UpdateObject(r.Context(), o)
	if err != nil {
		a.objectError(w, r, "board", err)
		return
	}
	writeJSON(w, http.StatusOK, boardOf(r, o))
}

func (a *API) handleDeleteBoard(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageBoards)
	if p == nil {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindBoard, "", r.PathValue("id"), "board")
	if !ok {
		return
	}
	if err := a.Alerting.DB.DeleteObjectsOf(r.Context(), int64(p.Env.ID), meta.KindBoardView, o.ID); err != nil {
		a.internalError(w, r, "delete board views", err)
		return
	}
	if err := a.Alerting.DB.DeleteObject(r.Context(), int64(p.Env.ID), meta.KindBoard, o.ID); err != nil {
		a.objectError(w, r, "board", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// boardView is a saved set of filters of a board (note "operation").
type boardView struct {
	ID      string       `json:"id,omitempty"`
	Name    string       `json:"name"`
	Filters []viewFilter `json:"filters"`
}

type viewFilter struct {
	Column    string          `json:"column"`
	Operation string          `json:"operation"`
	Value     json.RawMessage `json:"value,omitempty"`
}

var viewOps = map[string]bool{"=": true, "!=": true, ">": true, ">=": true, "<": true, "<=": true, "starts-with": true,
	"does-not-start-with": true, "ends-with": true, "does-not-end-with": true, "exists": true, "does-not-exist": true,
	"contains": true, "does-not-contain": true, "in": true, "not-in": true}

func viewOf(o meta.Object) boardView {
	var v boardView
	_ = json.Unmarshal(o.Body, &v)
	v.ID = o.ID
	if v.Filters == nil {
		v.Filters = []viewFilter{}
	}
	return v
}

func readView(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	var v boardView
	if !readObject(w, r, 64<<10, &v) {
		return nil, false
	}
	v.Name = strings.TrimSpace(v.Name)
	if v.Name == "" || len(v.Name) > 255 {
		writeProblem(w, http.StatusUnprocessableEntity, "name", "name is required and must be at most 255 characters")
		return nil, false
	}
	if len(v.Filters) > query.MaxItems {
		writeProblem(w, http.StatusUnprocessableEntity, "filters", "at most 100 filters are allowed")
		return nil, false
	}
	for _, f := range v.Filters {
		if f.Column == "" || !viewOps[f.Operation] {
			writeProblem(w, http.StatusUnprocessableEntity, "filters", "each filter needs a column and a filter operation")
			return nil, false
		}
	}
	v.ID = ""
	raw, _ := json.Marshal(v)
	return raw, true
}

// viewBoard loads the board of a view path, answering 404 itself.
func (a *API) viewBoard(w http.ResponseWriter, r *http.Request) (*tenant.Principal, meta.Object, bool) {
	p := a.authenticate(w, r, tenant.PermManageBoards)
	if p == nil {
		return nil, meta.Object{}, false
	}
	o, ok := a.loadObject(w, r, p, meta.KindBoard, "", r.PathValue("id"), "board")
	return p, o, ok
}

func (a *API) handleListBoardViews(w http.ResponseWriter, r *http.Request) {
	p, b, ok := a.viewBoard(w, r)
	if !ok {
		return
	}
	os, err := a.Alerting.DB.Objects(r.Context(), int64(p.Env.ID), meta.KindBoardView, b.ID)
	if err != nil {
		a.internalError(w, r, "list board views", err)
		return
	}
	out := make([]boardView, 0, len(os))
	for _, o := range os {
		out = append(out, viewOf(o))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) handleCreateBoardView(w http.ResponseWriter, r *http.Request) {
	p, b, ok := a.viewBoard(w, r)
	if !ok {
		return
	}
	raw, ok := readView(w, r)
	if !ok {
		return
	}
	n, err := a.Alerting.DB.Objects(r.Context(), int64(p.Env.ID), meta.KindBoardView, b.ID)
	if err != nil {
		a.internalError(w, r, "count board views", err)
		return
	}
	if len(n) >= maxBoardViews {
		writeProblem(w, http.StatusUnprocessableEntity, "", "a board has at most 50 views")
		return
	}
	o, err := a.Alerting.DB.CreateObject(r.Context(), meta.Object{EnvID: int64(p.Env.ID), Kind: meta.KindBoardView, ID: newObjectID(), Parent: b.ID, Body: raw})
	if err != nil {
		a.objectError(w, r, "board view", err)
		return
	}
	writeJSON(w, http.StatusCreated, viewOf(o))
}

func (a *API) handleGetBoardView(w http.ResponseWriter, r *http.Request) {
	p, b, ok := a.viewBoard(w, r)
	if !ok {
		return
	}
	if o, ok := a.loadObject(w, r, p, meta.KindBoardView, b.ID, r.PathValue("viewId"), "board view"); ok {
		writeJSON(w, http.StatusOK, viewOf(o))
	}
}

func (a *API) handleUpdateBoardView(w http.ResponseWriter, r *http.Request) {
	p, b, ok := a.viewBoard(w, r)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindBoardView, b.ID, r.PathValue("viewId"), "board view")
	if !ok {
		return
	}
	raw, ok := readView(w, r)
	if !ok {
		return
	}
	o.Body = raw
	o, err := a.Alerting.DB.UpdateObject(r.Context(), o)
	if err != nil {
		a.objectError(w, r, "board view", err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(o))
}

func (a *API) handleDeleteBoardView(w http.ResponseWriter, r *http.Request) {
	p, b, ok := a.viewBoard(w, r)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindBoardView, b.ID, r.PathValue("viewId"), "board view")
	if !ok {
		return
	}
	if err := a.Alerting.DB.DeleteObject(r.Context(), int64(p.Env.ID), o.Kind, o.ID); err != nil {
		a.objectError(w, r, "board view", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
