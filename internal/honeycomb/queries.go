package honeycomb

import "net/http"

// registerQueries adds the query API: /1/queries and /1/query_results.
func (a *API) registerQueries(mux *http.ServeMux) {}
