package honeycomb

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
)

// TestEventsDatasetTooManyColumns fills a dataset to store.MaxColumns and
// checks the events API's answer to events that would add more: 400
// "Dataset has too many columns." for the whole request, as Honeycomb.
func TestEventsDatasetTooManyColumns(t *testing.T) {
	if testing.Short() {
		t.Skip("creates store.MaxColumns columns")
	}
	e := newEventsEnv(t, 64<<20)
	ctx := context.Background()
	if _, _, err := e.store.CreateDataset(ctx, testEnvID, store.DatasetInfo{Name: "wide"}); err != nil {
		t.Fatal(err)
	}
	for i := range store.MaxColumns {
		if _, _, err := e.store.CreateColumn(ctx, testEnvID, "wide", store.ColumnSpec{Name: fmt.Sprintf("c%05d", i), Type: event.TypeInt}); err != nil {
			t.Fatal(err)
		}
	}
	w := e.post(t, "/1/events/wide", keyFull, []byte(`{"c00001":1,"new":2}`))
	checkResponse(t, w, http.StatusBadRequest, `{"error":"Dataset has too many columns."}`)
	w = e.post(t, "/1/batch/wide", keyFull, []byte(`[{"data":{"c00001":1}},{"data":{"new":2}}]`))
	checkResponse(t, w, http.StatusBadRequest, `{"error":"Dataset has too many columns."}`)
	// Events using existing columns only are stored.
	w = e.post(t, "/1/batch/wide", keyFull, []byte(`[{"data":{"c00001":1}},{"data":{"c09999":2}}]`))
	checkResponse(t, w, http.StatusOK, `[{"status":202},{"status":202}]`)
	// Other datasets are not affected.
	w = e.post(t, "/1/events/narrow", keyFull, []byte(`{"new":2}`))
	checkResponse(t, w, http.StatusOK, ``)
}
