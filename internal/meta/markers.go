package meta

// Object kinds of markers and marker settings (hc_objects); the parent is
// the dataset slug, or "__all__" for environment-wide markers.
const (
	KindMarker        = "marker"
	KindMarkerSetting = "marker_setting"
)
