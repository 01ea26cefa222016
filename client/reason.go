package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
)

// Reason says why an API call failed, from a small fixed set: the label
// value of the exporter's failure metrics. ReasonOf is the one place that
// derives it from an error.
type Reason string

// The reasons. A call that sent nothing for want of a key is
// ReasonCredentials; otherwise the HTTP status decides first: an HTML 502
// page from a proxy is a server error, not a bad response.
const (
	// ReasonUnauthenticated: 401 (gateway code 200): a wrong key, or a
	// clock more than 5 minutes off.
	ReasonUnauthenticated Reason = "unauthenticated"
	// ReasonForbidden: 401 with gateway code 210 (Permission Denied), or
	// 403: the key lacks the permission.
	ReasonForbidden Reason = "forbidden"
	// ReasonNotFound: 404.
	ReasonNotFound Reason = "not_found"
	// ReasonThrottled: 429, after the retries.
	ReasonThrottled Reason = "throttled"
	// ReasonServerError: 5xx, after the retries.
	ReasonServerError Reason = "server_error"
	// ReasonTimeout: the scrape deadline, or a request or connection
	// timeout.
	ReasonTimeout Reason = "timeout"
	// ReasonNetwork: no answer, or an answer cut short: connection
	// refused or reset (before the status line or in the middle of the
	// body), DNS, TLS.
	ReasonNetwork Reason = "network"
	// ReasonBadResponse: a 200 that is not a usable answer: a body that
	// does not decode (empty, truncated, HTML), an error code in a
	// success envelope, a wrong pageNo, a body over the size cap.
	ReasonBadResponse Reason = "bad_response"
	// ReasonCredentials: no usable key, so nothing was sent: the
	// credentials provider failed (an unreadable key file, a configure
	// file without the profile or a key, a metadata service that did not
	// hand out a key), or the key has expired or expires within the
	// margin (Config.ExpiryMargin).
	ReasonCredentials Reason = "credentials"
	// ReasonOther: anything else (another 4xx, a refused input, a
	// cancelled call).
	ReasonOther Reason = "other"
)

// Reasons lists every Reason, for pre-initialising metrics.
var Reasons = []Reason{ReasonUnauthenticated, ReasonForbidden, ReasonNotFound, ReasonThrottled, ReasonServerError,
	ReasonTimeout, ReasonNetwork, ReasonBadResponse, ReasonCredentials, ReasonOther}

// ReasonOf says why err failed a call ("" for nil). It reads the *Error
// the client returns, also when wrapped, and the context and network
// errors beneath it.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.noCreds {
		return ReasonCredentials
	}
	if e == nil || e.StatusCode == 0 {
		return transportReason(err)
	}
	switch s := e.StatusCode; {
	case s == http.StatusUnauthorized && (e.Code == "210" || e.Code == "230"):
		return ReasonForbidden
	case s == http.StatusUnauthorized:
		return ReasonUnauthenticated
	case s == http.StatusForbidden:
		return ReasonForbidden
	case s == http.StatusNotFound:
		return ReasonNotFound
	case s == http.StatusTooManyRequests:
		return ReasonThrottled
	case s >= 500:
		return ReasonServerError
	case s == http.StatusOK:
		if e.Err != nil && !errors.Is(e.Err, errBodyTooLarge) {
			if r := transportReason(e.Err); r != ReasonOther {
				return r // the body was cut short: not the answer's fault
			}
		}
		return ReasonBadResponse
	}
	return ReasonOther
}

// transportReason classifies an error that came without an HTTP status.
func transportReason(err error) Reason {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, context.Canceled):
		return ReasonOther
	case errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.As(err, &ne), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ReasonNetwork
	}
	return ReasonOther
}
