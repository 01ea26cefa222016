package client

import (
	"strings"
	"testing"
)

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
