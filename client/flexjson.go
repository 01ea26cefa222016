package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

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
