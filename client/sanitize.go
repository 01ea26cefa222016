package client

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

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
