package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorString(t *testing.T) {
	cause := errors.New("connection reset by peer")
	tests := []struct {
		name    string
		err     *Error
		want    string
		notWant []string
	}{
		{"gateway", &Error{Op: OpListAssets, Target: "workspace=ws project=1 page=2", StatusCode: 429, Code: "420", Message: "Rate Limited", Attempts: 4},
			"list_assets workspace=ws project=1 page=2: HTTP 429 code 420: Rate Limited (after 4 attempts)", nil},
		{"401", &Error{Op: OpGetWorkspace, StatusCode: 401, Code: "200", Message: "Authentication Failed"},
			"get_workspace: HTTP 401 code 200: Authentication Failed (", []string{"permission"}},
		{"401 permission denied", &Error{Op: OpGetWorkspace, StatusCode: 401, Code: "210", Message: "Permission Denied"},
			"get_workspace: HTTP 401 code 210: Permission Denied (", []string{"clock"}},
		{"403", &Error{Op: OpListProjects, StatusCode: 403, Code: "230"},
			"list_projects: HTTP 403 code 230 (", []string{"clock"}},
		{"status only", &Error{Op: OpListWorkspaces, StatusCode: 502},
			"list_workspaces: HTTP 502", []string{"code", "permission", "clock"}},
		{"transport", &Error{Op: OpListWorkspaces, Target: "page=1", Message: "request failed", Err: cause, Attempts: 2},
			"list_workspaces page=1: request failed: connection reset by peer (after 2 attempts)", nil},
		{"status and cause", &Error{Op: OpListAssets, StatusCode: 200, Message: "reading response body", Err: cause},
			"list_assets: HTTP 200: reading response body: connection reset by peer", nil},
		{"status, no message, cause", &Error{Op: OpListAssets, StatusCode: 200, Err: cause},
			"list_assets: HTTP 200: connection reset by peer", nil},
		{"cause only", &Error{Op: OpListAssets, Err: cause}, "list_assets: connection reset by peer", nil},
		{"message only", &Error{Message: "invalid workspace name"}, ": invalid workspace name", nil},
		{"one attempt", &Error{Op: OpGetWorkspace, StatusCode: 400, Attempts: 1}, "get_workspace: HTTP 400", []string{"attempts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.err.Error()
			if strings.HasSuffix(tt.want, "(") {
				// A hint follows; its words are checked below.
				if !strings.HasPrefix(got, tt.want) || !strings.HasSuffix(got, ")") {
					t.Errorf("Error() = %q, want a hint after %q", got, tt.want)
				}
				hint := got[len(tt.want):]
				words := []string{"permission", "MediaAIUnderstanding"}
				if tt.err.StatusCode == 401 && tt.err.Code != "210" {
					words = []string{"access key", "secret key", "clock", "5 minutes"}
				}
				for _, w := range words {
					if !strings.Contains(hint, w) {
						t.Errorf("hint %q lacks %q", hint, w)
					}
				}
			} else if got != tt.want {
				t.Errorf("Error() = %q\nwant      %q", got, tt.want)
			}
			for _, nw := range tt.notWant {
				if strings.Contains(tt.err.Error(), nw) {
					t.Errorf("Error() %q mentions %q", tt.err.Error(), nw)
				}
			}
		})
	}
	e := &Error{Err: cause}
	if !errors.Is(e, cause) || !errors.Is(fmt.Errorf("x: %w", e), cause) || e.Unwrap() != cause { //nolint:errorlint // Unwrap must return the cause itself
		t.Error("Error does not unwrap to its cause")
	}
	if got, ok := AsError(fmt.Errorf("wrapped: %w", e)); !ok || got != e {
		t.Error("AsError does not find a wrapped *Error")
	}
	if _, ok := AsError(cause); ok {
		t.Error("AsError found an *Error in a plain error")
	}
	if _, ok := AsError(nil); ok {
		t.Error("AsError(nil) found an *Error")
	}
}

func TestStatusLabel(t *testing.T) {
	for status, want := range map[int]string{0: "error", 200: "200", 429: "429", 503: "503"} {
		if got := StatusLabel(status); got != want {
			t.Errorf("StatusLabel(%d) = %q, want %q", status, got, want)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	for status, want := range map[int]bool{200: false, 302: false, 400: false, 401: false, 403: false, 404: false, 409: false, 413: false, 429: true, 500: true, 502: true, 503: true, 504: true} {
		if got := retryableStatus(status); got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", status, got, want)
		}
	}
}
