package client

import (
	"encoding/json"
	"strings"
	"testing"
)

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
