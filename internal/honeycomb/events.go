package honeycomb

import "net/http"

// registerEvents adds the events API: POST /1/events/{dataset} and
// POST /1/batch/{dataset}.
func (a *API) registerEvents(mux *http.ServeMux) {}
