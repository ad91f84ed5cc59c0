package meta

// KindQueryAnnotation is the object kind of query annotations (named, saved
// queries) in hc_objects; the parent is the dataset slug or "__all__".
const KindQueryAnnotation = "query_annotation"
