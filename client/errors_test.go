package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

// errorBodies are the body shapes of API.md, with what parseErrorBody
// makes of them.
var errorBodies = []struct {
	name, ctype, body string
	code              string
	msg               string // substring of the message
}{
	{"MI", "application/json", `{"code": "10001", "message": "Invalid Request."}`, "10001", "Invalid Request."},
	{"MI numeric code", "application/json", `{"code": 10016, "message": "write error"}`, "10016", "write error"},
	{"MI nested", "application/json;charset=UTF-8", `{"responseError": {"code": "10023", "message": "nested"}}`, "10023", "nested"},
	{"MI code only", "application/json", `{"code":"404"}`, "404", ""},
	{"gateway string code", "application/json", `{"error": {"errorCode": "210", "message": "Permission Denied"}}`, "210", "Permission Denied"},
	{"gateway numeric code", "application/json", `{"error":{"errorCode":420,"message":"Rate Limited"}}`, "420", "Rate Limited"},
	{"gateway details", "application/json", `{"error":{"errorCode":"200","message":"Authentication Failed","details":"Invalid authentication information."}}`, "200", "Authentication Failed (Invalid authentication information.)"},
	{"gateway details same as message", "application/json", `{"error":{"errorCode":"300","message":"Not Found Exception","details":"Not Found Exception"}}`, "300", "Not Found Exception"},
	{"gateway null code", "application/json", `{"error":{"errorCode":null,"message":"odd"}}`, "", "odd"},
	{"empty gateway envelope", "application/json", `{"error":{}}`, "", `JSON body without an error code: "{\"error\":{}}"`},
	{"empty nested envelope", "application/json", `{"responseError":{"code":null}}`, "", "JSON body without an error code"},
	{"gateway details only", "application/json", `{"error":{"details":"quota"}}`, "", "(quota)"},
	{"null envelopes, top-level code", "application/json", `{"error":null,"responseError":null,"code":"10001"}`, "10001", ""},
	{"empty", "application/json", ``, "", "empty body"},
	{"white space", "text/plain", " \r\n\t", "", "empty body"},
	{"HTML with title", "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "", "HTML body (from a proxy?): 502 Bad Gateway"},
	{"HTML upper-case title", "text/html; charset=utf-8", "<HTML><TITLE>Service\nUnavailable</TITLE></HTML>", "", "HTML body (from a proxy?): Service Unavailable"},
	{"HTML without title", "", "<html><body>down</body></html>", "", "HTML body (from a proxy?)"},
	{"HTML unterminated title", "", "<html><title>down", "", "HTML body (from a proxy?)"},
	{"HTML by content type", "text/html", "Service down", "", "HTML body"},
	{"plain text", "text/plain", "upstream connect error or disconnect/reset before headers", "", "non-JSON body: \"upstream connect error"},
	{"truncated JSON", "application/json", `{"code":"0","message":"succ`, "", "unparsable JSON body"},
	{"malformed JSON", "application/json", `{"code":"0","result":{"content":[{"assetId":1001 "fileName":"a.mp4"},]}`, "", "unparsable JSON body"},
	{"JSON without error", "application/json", `{"status":"down"}`, "", "JSON body without an error code"},
	{"JSON array", "application/json", `[1,2,3]`, "", "non-JSON body"},
	{"JSON wrong code type", "application/json", `{"code":{"a":1}}`, "", "unparsable JSON body"},
	{"long plain text", "text/plain", strings.Repeat("x", 500), "", `x..."`},
	{"binary", "application/octet-stream", "\x00\x01\xff\xfe", "", "non-JSON body"},
}

func TestParseErrorBody(t *testing.T) {
	for _, tt := range errorBodies {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := parseErrorBody(tt.ctype, []byte(tt.body))
			if code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Errorf("parseErrorBody = %q, %q; want %q and a message with %q", code, msg, tt.code, tt.msg)
			}
			checkMessage(t, msg)
		})
	}
	_, msg := parseErrorBody("text/plain", []byte(strings.Repeat("x", 500)))
	if len(msg) > 100 {
		t.Errorf("a long body gives a message of %d bytes: %q", len(msg), msg)
	}
}

// checkMessage checks that msg is fit for a log line.
func checkMessage(t testing.TB, msg string) {
	t.Helper()
	if !utf8.ValidString(msg) {
		t.Errorf("message %q is not valid UTF-8", msg)
	}
	for _, r := range msg {
		if r < 0x20 || r == 0x7f {
			t.Errorf("message %q has control character %U", msg, r)
			break
		}
	}
	// cleanText keeps 200 runes of a message (800 bytes at most, plus "..."),
	// a gateway message adds its details: two of them and a little more.
	if n := utf8.RuneCountInString(msg); n > 450 {
		t.Errorf("message of %d runes", n)
	}
}

func FuzzParseErrorBody(f *testing.F) {
	for _, tt := range errorBodies {
		f.Add(tt.ctype, []byte(tt.body))
	}
	f.Add("application/json", []byte(`{"error":{"errorCode":"`+strings.Repeat("9", 300)+`","message":"`+strings.Repeat("\\u0007é", 300)+`","details":"`+strings.Repeat("\\n", 300)+`"}}`))
	f.Add("text/html", []byte("<title>"+strings.Repeat("\xff", 300)+"</title>"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		code, msg := parseErrorBody(ctype, body)
		checkMessage(t, msg)
		if msg == "" && code == "" {
			t.Errorf("no code and no message for %q", body)
		}
		// The code comes from a JSON string or number: nothing to clean, but
		// it must not be able to break a log line either.
		if strings.ContainsAny(code, "\n\r") && !json.Valid(body) {
			t.Errorf("code %q", code)
		}
	})
}

func TestCleanText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"  padded\n", "padded"},
		{"a\nb\tc\x00d\x7fe", "a b c d e"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"한국어 message", "한국어 message"},
		{strings.Repeat("가", 250), strings.Repeat("가", 200) + "..."},
	} {
		if got := cleanText(tt.in); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFlexDecoding(t *testing.T) {
	type doc struct {
		S flexString `json:"s"`
		I flexInt    `json:"i"`
		B flexBool   `json:"b"`
	}
	tests := []struct {
		in      string
		want    doc
		wantErr string
	}{
		{`{"s":"x","i":5,"b":true}`, doc{S: "x", I: flexInt{5, true}, B: true}, ""},
		{`{"s":12,"i":"6","b":"true"}`, doc{S: "12", I: flexInt{6, true}, B: true}, ""},
		{`{"s":-1.5,"i":" 7 ","b":"Y"}`, doc{S: "-1.5", I: flexInt{7, true}, B: true}, ""},
		{`{"s":null,"i":null,"b":null}`, doc{}, ""},
		{`{"b":false}`, doc{}, ""},
		{`{"b":"N"}`, doc{}, ""},
		{`{"i":-3}`, doc{I: flexInt{-3, true}}, ""},
		{`{"s":true}`, doc{}, `want string or number, got boolean "true"`},
		{`{"s":{"a":1}}`, doc{}, "want string or number, got object"},
		{`{"i":1.5}`, doc{}, `want integer, got number "1.5"`},
		{`{"i":"x"}`, doc{}, `want integer, got string "\"x\""`},
		{`{"i":[1]}`, doc{}, "want integer, got array"},
		{`{"i":99999999999999999999}`, doc{}, "want integer"},
		{`{"b":1}`, doc{}, "want boolean, got number"},
		{`{"b":"maybe"}`, doc{}, "want boolean, got string"},
		{`{"i":"` + strings.Repeat("a", 100) + `"}`, doc{}, `..."`},
	}
	for _, tt := range tests {
		var got doc
		err := json.Unmarshal([]byte(tt.in), &got)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for in, want := range map[string]string{`nul`: "null", ``: "value"} {
		if got := describeJSON([]byte(in)); !strings.HasPrefix(got, want) {
			t.Errorf("describeJSON(%q) = %q", in, got)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 4, 23, 7, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"1", time.Second},
		{" 30 ", 30 * time.Second},
		{"-5", 0},
		{"7200", time.Hour},
		{"soon", 0},
		{"1.5", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(10 * time.Second).Format(time.RFC850), 10 * time.Second},
	} {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestBackoff: full jitter under an exponential ceiling, never less than
// Retry-After.
func TestBackoff(t *testing.T) {
	c := &Client{core: &core{boffBase: 10 * time.Millisecond, boffMax: 80 * time.Millisecond}}
	for attempt, ceil := range map[int]time.Duration{2: 10 * time.Millisecond, 3: 20 * time.Millisecond, 4: 40 * time.Millisecond, 5: 80 * time.Millisecond, 6: 80 * time.Millisecond, 70: 80 * time.Millisecond} {
		var maxSeen time.Duration
		for range 200 {
			d := c.backoff(attempt, &Error{})
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: backoff %v outside [0, %v]", attempt, d, ceil)
			}
			maxSeen = max(maxSeen, d)
		}
		if maxSeen < ceil/4 {
			t.Errorf("attempt %d: 200 backoffs all below %v: no jitter up to the ceiling %v", attempt, maxSeen, ceil)
		}
	}
	if d := c.backoff(2, &Error{retryAfter: time.Second}); d != time.Second {
		t.Errorf("backoff with Retry-After 1s = %v", d)
	}
	if d := c.backoff(2, nil); d > 10*time.Millisecond {
		t.Errorf("backoff without an error = %v", d)
	}
}

// TestCredentialsErrorNotRetried: failing to load credentials ends the
// call after one try, with no request.
func TestCredentialsErrorNotRetried(t *testing.T) {
	c := &Client{core: &core{attempts: 5, boffBase: time.Millisecond, boffMax: time.Millisecond, obs: nopObserver{}}}
	waits := 0
	c.lim = limiterFunc(func(context.Context) error { waits++; return nil })
	c.creds = credsFunc(func() (Credentials, error) { return Credentials{}, errors.New("no keys") })
	err := c.do(context.Background(), request{op: OpGetWorkspace, target: "workspace=ws"})
	e, ok := AsError(err)
	if !ok || waits != 1 || e.Retryable || e.Attempts != 1 || e.Error() != "get_workspace workspace=ws: loading credentials: no keys" {
		t.Fatalf("err = %v after %d limiter waits", err, waits)
	}
}

type limiterFunc func(context.Context) error

func (f limiterFunc) Wait(ctx context.Context) error { return f(ctx) }
func (f limiterFunc) Throttled()                     {}

type credsFunc func() (Credentials, error)

func (f credsFunc) Credentials() (Credentials, error) { return f() }
