package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

// TestReasonOf: each kind of failure the client returns has its reason;
// the HTTP status decides first.
func TestReasonOf(t *testing.T) {
	reset := &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}
	refused := &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	dns := &url.Error{Op: "Get", URL: "http://x", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}
	dialTimeout := &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}}
	for _, tc := range []struct {
		name string
		err  error
		want Reason
	}{
		{"nil", nil, ""},
		{"401 code 200", &Error{StatusCode: 401, Code: "200"}, ReasonUnauthenticated},
		{"401 without a code", &Error{StatusCode: 401}, ReasonUnauthenticated},
		{"401 code 210", &Error{StatusCode: 401, Code: "210"}, ReasonForbidden},
		{"403", &Error{StatusCode: 403, Code: "230"}, ReasonForbidden},
		{"404", &Error{StatusCode: 404, Code: "300"}, ReasonNotFound},
		{"429", &Error{StatusCode: 429, Code: "420", Attempts: 4}, ReasonThrottled},
		{"503", &Error{StatusCode: 503, Code: "500", Attempts: 4}, ReasonServerError},
		{"HTML 502", &Error{StatusCode: 502, Message: "HTML page"}, ReasonServerError},
		{"503 cut by the deadline", &Error{StatusCode: 503, Err: errors.Join(nil, context.DeadlineExceeded)}, ReasonServerError},
		{"400", &Error{StatusCode: 400, Code: "10001"}, ReasonOther},
		{"413", &Error{StatusCode: 413, Code: "430"}, ReasonOther},
		{"truncated 200", &Error{StatusCode: 200, Message: "truncated response body", Err: &DecodeError{Truncated: true}}, ReasonBadResponse},
		{"HTML 200", &Error{StatusCode: 200, Message: "HTML"}, ReasonBadResponse},
		{"error code in a 200", &Error{StatusCode: 200, Code: "10001"}, ReasonBadResponse},
		{"body over the cap", &Error{StatusCode: 200, Err: fmt.Errorf("%w: more than 10 bytes", errBodyTooLarge)}, ReasonBadResponse},
		{"reset mid-body", &Error{StatusCode: 200, Message: "reading response body", Err: reset.Err}, ReasonNetwork},
		{"EOF mid-body", &Error{StatusCode: 200, Message: "reading response body", Err: io.ErrUnexpectedEOF}, ReasonNetwork},
		{"deadline mid-body", &Error{StatusCode: 200, Message: "reading response body", Err: context.DeadlineExceeded}, ReasonTimeout},
		{"reset before the status line", &Error{Message: "request failed", Err: reset}, ReasonNetwork},
		{"refused", &Error{Message: "request failed", Err: refused}, ReasonNetwork},
		{"DNS", &Error{Message: "request failed", Err: dns}, ReasonNetwork},
		{"dial timeout", &Error{Message: "request failed", Err: dialTimeout}, ReasonTimeout},
		{"hang past the deadline", &Error{Message: "request failed", Err: &url.Error{Op: "Get", URL: "http://x", Err: context.DeadlineExceeded}}, ReasonTimeout},
		{"limiter wait cut by the deadline", &Error{Message: "waiting for the rate limiter", Err: context.DeadlineExceeded}, ReasonTimeout},
		{"wrapped by the scrape", fmt.Errorf("not finished by the scrape deadline: %w", &Error{Err: context.DeadlineExceeded}), ReasonTimeout},
		{"cancelled", &Error{Message: "request failed", Err: context.Canceled}, ReasonOther},
		{"invalid input", &Error{Message: `invalid workspace name "X"`}, ReasonOther},
		{"credentials", &Error{Message: "no usable credentials", Err: os.ErrNotExist, noCreds: true}, ReasonCredentials},
		{"credentials cut by the deadline", &Error{Message: "no usable credentials", Err: context.DeadlineExceeded, noCreds: true}, ReasonCredentials},
		{"credentials wrapped", fmt.Errorf("project 3: %w", &Error{Message: "no usable credentials", noCreds: true}), ReasonCredentials},
		{"a bare provider error", os.ErrNotExist, ReasonOther},
		{"bare deadline", context.DeadlineExceeded, ReasonTimeout},
	} {
		if got := ReasonOf(tc.err); got != tc.want {
			t.Errorf("%s: ReasonOf(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestReasons: each reason once, other last, so metrics pre-initialised
// from Reasons cover every value ReasonOf returns.
func TestReasons(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons {
		if r == "" || seen[r] {
			t.Errorf("reason %q empty or listed twice", r)
		}
		seen[r] = true
	}
	if Reasons[len(Reasons)-1] != ReasonOther {
		t.Errorf("Reasons ends with %q, want %q", Reasons[len(Reasons)-1], ReasonOther)
	}
	for _, r := range []Reason{ReasonUnauthenticated, ReasonForbidden, ReasonNotFound, ReasonThrottled, ReasonServerError,
		ReasonTimeout, ReasonNetwork, ReasonBadResponse, ReasonCredentials, ReasonOther} {
		if !seen[r] {
			t.Errorf("Reasons lacks %q", r)
		}
	}
}
