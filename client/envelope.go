package client

import (
	"encoding/json"
	"errors"
	"strings"
)

// envelope is the Media Intelligence success envelope.
type envelope[T any] struct {
	Code    flexString `json:"code"`
	Message string     `json:"message"`
	Result  *T         `json:"result"`
	// TotalCount at the top level (the project list documents it there).
	TotalCount flexInt `json:"totalCount"`
}

// decodeJSON decodes a small (non-asset) success body, checking the code.
func decodeJSON[T any](body []byte) (*envelope[T], error) {
	var env envelope[T]
	if err := json.Unmarshal(body, &env); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset >= int64(len(body)) || strings.Contains(err.Error(), "unexpected end of JSON input") {
			return nil, &DecodeError{Offset: int64(len(body)), Msg: "unexpected end of body", Truncated: true}
		}
		return nil, err
	}
	if err := checkCode(string(env.Code), env.Message); err != nil {
		return nil, err
	}
	if env.Result == nil {
		return nil, &Error{Message: "answer has no result"}
	}
	return &env, nil
}

// checkCode turns a non-zero Media Intelligence code on a 200 into an Error.
func checkCode(code, message string) error {
	if code == "" || code == "0" {
		return nil
	}
	return &Error{Code: code, Message: cleanText(message)}
}
