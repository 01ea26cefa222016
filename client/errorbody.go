package client

import (
	"bytes"
	"encoding/json"
	"strings"
)

// errorEnvelope covers the error body shapes of docs/api.md: the Media
// Intelligence envelope (top level or under responseError) and the gateway's.
type errorEnvelope struct {
	Code          flexString `json:"code"`
	Message       string     `json:"message"`
	ResponseError *struct {
		Code    flexString `json:"code"`
		Message string     `json:"message"`
	} `json:"responseError"`
	Error *struct {
		ErrorCode flexString `json:"errorCode"`
		Message   string     `json:"message"`
		Details   string     `json:"details"`
	} `json:"error"`
}

// parseErrorBody extracts the API's code and message from an error
// response, or describes the body when it is not one of the known shapes.
func parseErrorBody(contentType string, body []byte) (code, message string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return "", "empty body"
	}
	if trimmed[0] == '<' || strings.Contains(strings.ToLower(contentType), "html") {
		msg := "HTML body (from a proxy?)"
		if t := htmlTitle(trimmed); t != "" {
			msg += ": " + t
		}
		return "", msg
	}
	if trimmed[0] == '{' {
		var env errorEnvelope
		if err := json.Unmarshal(trimmed, &env); err != nil {
			return "", "unparsable JSON body: " + snippet(trimmed)
		}
		switch {
		case env.Error != nil && (env.Error.ErrorCode != "" || env.Error.Message != "" || env.Error.Details != ""):
			msg := env.Error.Message
			if env.Error.Details != "" && env.Error.Details != msg {
				msg += " (" + env.Error.Details + ")"
			}
			code, message = string(env.Error.ErrorCode), cleanText(msg)
		case env.ResponseError != nil && (env.ResponseError.Code != "" || env.ResponseError.Message != ""):
			code, message = string(env.ResponseError.Code), cleanText(env.ResponseError.Message)
		case env.Code != "" || env.Message != "":
			code, message = string(env.Code), cleanText(env.Message)
		}
		if code != "" || message != "" { // a message of control characters only cleans to ""
			return code, message
		}
		return "", "JSON body without an error code: " + snippet(trimmed)
	}
	return "", "non-JSON body: " + snippet(trimmed)
}

func htmlTitle(b []byte) string {
	// Lower-case ASCII only: bytes.ToLower turns invalid UTF-8 into
	// U+FFFD, which changes the length, and the indexes would not fit b.
	lower := make([]byte, len(b))
	for k, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[k] = c
	}
	i := bytes.Index(lower, []byte("<title>"))
	if i < 0 {
		return ""
	}
	rest, lrest := b[i+len("<title>"):], lower[i+len("<title>"):]
	j := bytes.Index(lrest, []byte("</title>"))
	if j < 0 {
		return ""
	}
	return cleanText(string(rest[:j]))
}
