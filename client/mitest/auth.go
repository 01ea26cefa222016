package mitest

import (
	"crypto/hmac"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// SignRequest sets the authentication headers of req for the given
// credentials and time, as an API client does.
func SignRequest(req *http.Request, accessKey, secretKey string, now time.Time) {
	ts := now.UnixMilli()
	req.Header.Set(client.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(client.HeaderAccessKey, accessKey)
	req.Header.Set(client.HeaderSignature, client.Sign(req.Method, req.URL.RequestURI(), ts, accessKey, secretKey))
	req.Header.Set("Content-Type", "application/json")
}

// reasonKeyExpired is why a request signed with an expired key is refused.
const reasonKeyExpired = "access key expired"

// authenticate returns why r is refused, "" if it is not; k is what the
// server knows of its access key, if known.
func (s *Server) authenticate(r *http.Request, k key, known bool) string {
	tsText := r.Header.Get(client.HeaderTimestamp)
	ak := r.Header.Get(client.HeaderAccessKey)
	sig := r.Header.Get(client.HeaderSignature)
	switch {
	case tsText == "":
		return "missing " + client.HeaderTimestamp + " header"
	case ak == "":
		return "missing " + client.HeaderAccessKey + " header"
	case sig == "":
		return "missing " + client.HeaderSignature + " header"
	}
	ts, ok := parseDigits(tsText, 1<<62)
	if !ok {
		return "invalid " + client.HeaderTimestamp + " header: not a millisecond epoch"
	}
	if !known {
		return "unknown access key"
	}
	now := s.cfg.clock()
	skew := now.UnixMilli() - ts
	if skew < 0 {
		skew = -skew
	}
	if skew > ClockSkewLimit.Milliseconds() {
		return "timestamp is out of the 5 minute window"
	}
	if !k.expires.IsZero() && !now.Before(k.expires) {
		return reasonKeyExpired
	}
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	want := client.Sign(r.Method, uri, ts, ak, k.secret)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "signature mismatch"
	}
	return ""
}
