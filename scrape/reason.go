package scrape

import (
	"errors"
	"slices"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// The failure reasons of the scraper's own, for figures that are missing
// without an API call having failed (background mode); the client's
// (client.Reasons) say why a call failed. (Reason, a different type, is
// why an asset is out of spec.)
const (
	// FailNotYetRead: no pass has read it yet (the exporter started
	// recently, or it is new in its list).
	FailNotYetRead client.Reason = "not_yet_read"
	// FailStale: its latest complete figures are older than the
	// staleness limit, and no pass has failed to read it since: the pass
	// that would refresh them is late.
	FailStale client.Reason = "stale"
)

// FailureReasons lists every reason a failure series can carry: the
// client's (client.Reasons) and the scraper's own.
var FailureReasons = append(slices.Clone(client.Reasons), FailNotYetRead, FailStale)

// reasonError is a failure of the scraper's own, not of an API call.
type reasonError struct {
	reason client.Reason
	msg    string
}

func (e *reasonError) Error() string { return e.msg }

var (
	errNotYetRead = &reasonError{FailNotYetRead, "not read yet"}
	errStale      = &reasonError{FailStale, "figures older than the staleness limit; the refresh is late"}
)

// FailureReasonOf says why err failed a discovery, a workspace or a project: the
// scraper's own reasons, else client.ReasonOf, else client.ReasonOther
// (never "" for an error; "" for nil).
func FailureReasonOf(err error) client.Reason {
	if err == nil {
		return ""
	}
	if re, ok := errors.AsType[*reasonError](err); ok {
		return re.reason
	}
	if r := client.ReasonOf(err); r != "" {
		return r
	}
	return client.ReasonOther
}
