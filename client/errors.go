package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/internal/assetjson"
)

// errBodyTooLarge is the cause (Error.Err) of a response body over the
// size cap: the call reads it, ReasonOf classifies it.
var errBodyTooLarge = errors.New("body too large")

// Error is the error type of every failed call: what was asked (Op,
// Target), what came back (StatusCode, Code, Message) and whether trying
// again may help. StatusCode is 0 when no HTTP response was received. A
// DecodeError, for a body that does not decode, is wrapped in it as Err.
type Error struct {
	Op Operation
	// Target names the object of the call, e.g. "workspace=ws project=12 page=3".
	Target     string
	StatusCode int
	// Code is the Media Intelligence "code" or the gateway "errorCode",
	// whichever the body carried, as a string ("" if none).
	Code string
	// Message is the API's message, or a description of what was wrong with
	// the response (empty body, HTML from a proxy, truncated JSON...).
	Message   string
	Retryable bool
	// Attempts is how many requests were sent for this call.
	Attempts int
	// Err is the underlying cause (transport error, decode error, context).
	Err error

	retryAfter time.Duration // from a Retry-After header, for the next attempt
	noCreds    bool          // no usable key: nothing was sent (ReasonCredentials)
}

// Error says what failed in one line: the operation and target, the
// status, code and message, a hint when the key was refused, the cause
// and the number of attempts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Op))
	if e.Target != "" {
		b.WriteByte(' ')
		b.WriteString(e.Target)
	}
	b.WriteString(": ")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if e.Code != "" {
			fmt.Fprintf(&b, " code %s", e.Code)
		}
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
		switch {
		case e.StatusCode == 403 || e.Code == "210" || e.Code == "230":
			b.WriteString(" (the key lacks permission for Media Intelligence: grant the sub-account read access to MediaAIUnderstanding)")
		case e.StatusCode == 401:
			b.WriteString(" (a wrong access key or secret key, or a clock more than 5 minutes off, causes this: check the key and this host's clock)")
		}
	} else if e.Message != "" {
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		if e.StatusCode != 0 || e.Message != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the cause, Err.
func (e *Error) Unwrap() error { return e.Err }

// DecodeError reports why a body could not be decoded: where (Offset, and
// the Path of the value), what is wrong (Msg), and whether the body ended
// too soon (Truncated), as a cut-off body does. An Error wraps it as Err.
type DecodeError = assetjson.DecodeError

// StatusLabel is the HTTP status as a string, or "error" when no response
// was received: the value the exporter uses as a metric label.
func StatusLabel(status int) string {
	if status == 0 {
		return "error"
	}
	return strconv.Itoa(status)
}

// AsError returns err as an *Error if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// retryableStatus reports whether a response with this status may succeed
// if sent again: throttling and server-side errors.
func retryableStatus(status int) bool {
	return status == 429 || status >= 500
}
