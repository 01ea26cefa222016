package client

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// errorBodies are the body shapes of docs/api.md, with what parseErrorBody
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
