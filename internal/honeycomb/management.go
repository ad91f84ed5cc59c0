package honeycomb

import "net/http"

// registerManagement adds /1/auth, /1/datasets and /1/columns.
func (a *API) registerManagement(mux *http.ServeMux) {}
