package client

import (
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/internal/isotime"
)

// ParseTime parses an ISO 8601 date and time as the API sends them:
//
//	YYYY-MM-DDTHH:MM:SS[.fraction][zone]
//
// where a space may stand for the 'T', the fraction has 1 to 9 digits and
// the zone is "Z", "+hh:mm", "+hhmm", "-hh:mm" or "-hhmm" (hh at most 23, mm
// at most 59). A time without a zone is in loc (UTC when loc is nil). It
// returns the Unix time in whole seconds, rounded down (the fraction is
// dropped), and ok=false if b is not such a time or a field is out of range
// (month 1-12, day valid for the month, hour 0-23, minute 0-59, second 0-60;
// a leap second 60 counts as the first second of the next minute).
//
// ParseTime does not allocate. It is hand-written because the exporter calls
// it twice an asset: on the API's shape without an offset, in Asia/Seoul, it
// takes about 35 ns where time.ParseInLocation with the matching layout takes
// about 280 ns (both allocation-free; BenchmarkParseTime, median of 5 on 2
// cores), which would add about half a microsecond to each asset's ~1 µs.
func ParseTime(b []byte, loc *time.Location) (sec int64, ok bool) {
	return isotime.Parse(b, loc)
}
