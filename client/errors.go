package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Operation names an API call. The values are stable: they are used as
// metric label values.
type Operation string

// The operations the client performs.
const (
	OpListWorkspaces Operation = "list_workspaces"
	OpGetWorkspace   Operation = "get_workspace"
	OpListProjects   Operation = "list_projects"
	OpListAssets     Operation = "list_assets"
	OpImportStatus   Operation = "get_import_status"
	OpAnalysisStatus Operation = "get_analysis_status"
)

// Operations lists every Operation, for pre-initialising metrics.
var Operations = []Operation{OpListWorkspaces, OpGetWorkspace, OpListProjects, OpListAssets, OpImportStatus, OpAnalysisStatus}

// Error is the one error type of the client: what was asked (Op, Target),
// what came back (StatusCode, Code, Message) and whether trying again may
// help. StatusCode is 0 when no HTTP response was received.
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
}

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

func (e *Error) Unwrap() error { return e.Err }

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

// flexString decodes a JSON string or number (as its literal) or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*f = flexString(b)
	default:
		return fmt.Errorf("want string or number, got %s", describeJSON(b))
	}
	return nil
}

// flexInt decodes a JSON integer, a string holding an integer, or null.
type flexInt struct {
	V   int64
	Set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = flexInt{}
		return nil
	}
	s := b
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s = []byte(strings.TrimSpace(str))
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want integer, got %s", describeJSON(b))
	}
	*f = flexInt{V: v, Set: true}
	return nil
}

// flexBool decodes a JSON bool, the strings "true"/"false", or null.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(string(bytes.TrimSpace(b)), `"`) {
	case "true", "Y", "y":
		*f = true
	case "false", "N", "n", "null", "":
		*f = false
	default:
		return fmt.Errorf("want boolean, got %s", describeJSON(b))
	}
	return nil
}

func describeJSON(b []byte) string {
	kind := "value"
	if len(b) > 0 {
		switch b[0] {
		case '"':
			kind = "string"
		case '{':
			kind = "object"
		case '[':
			kind = "array"
		case 't', 'f':
			kind = "boolean"
		case 'n':
			kind = "null"
		default:
			kind = "number"
		}
	}
	return kind + " " + quoted(string(b), 40)
}

// errorEnvelope covers the error body shapes of API.md: the Media
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

// snippet quotes the start of a body for an error message.
func snippet(b []byte) string { return quoted(string(b), 64) }

// quoted is text from the network, cleaned and cut to limit runes, in quotes.
func quoted(s string, limit int) string { return strconv.Quote(clean(s, limit)) }

// cleanText makes text from the network safe for one log line.
func cleanText(s string) string { return clean(s, 200) }

// clean is the one sanitiser of text from the network: valid UTF-8, control
// characters as spaces, trimmed, at most limit runes ("..." marks a cut).
func clean(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "..."
	}
	return s
}
