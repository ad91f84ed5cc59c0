package meta

// Object kinds of boards (hc_objects): a board's parent is empty; a view's
// parent is its board's id.
const (
	KindBoard     = "board"
	KindBoardView = "board_view"
)
