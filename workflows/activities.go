package workflows

import "github.com/archiefvooronderwijs/avo/activities"

// Handles on the activity structs: workflows name activities by method
// (a.HarvestPage) and Temporal calls them on the worker's registered
// structs, so these are never dereferenced.
var (
	a *activities.Harvest
	x *activities.Indexing
)
