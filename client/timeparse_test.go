package client

import (
	"regexp"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		seoul = time.FixedZone("KST", 9*3600)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	unix := func(s string, loc *time.Location) int64 {
		tm, err := time.ParseInLocation("2006-01-02T15:04:05Z07:00", s, loc)
		if err != nil {
			tm, err = time.ParseInLocation("2006-01-02T15:04:05", s, loc)
		}
		if err != nil {
			t.Fatalf("bad test time %q: %v", s, err)
		}
		return tm.Unix()
	}
	tests := []struct {
		in   string
		loc  *time.Location
		want int64
		ok   bool
	}{
		{"2025-04-23T16:49:24", seoul, unix("2025-04-23T07:49:24Z", nil), true},
		{"2025-04-23T16:49:24", nil, unix("2025-04-23T16:49:24Z", nil), true},
		{"2025-04-23T16:49:24", time.UTC, unix("2025-04-23T16:49:24Z", nil), true},
		{"2025-04-23 16:49:24", seoul, unix("2025-04-23T07:49:24Z", nil), true},
		{"2025-04-23T16:49:24Z", seoul, unix("2025-04-23T16:49:24Z", nil), true},
		{"2025-04-23T16:49:24+09:00", nil, unix("2025-04-23T07:49:24Z", nil), true},
		{"2025-04-23T16:49:24+0900", nil, unix("2025-04-23T07:49:24Z", nil), true},
		{"2025-04-23T16:49:24-05:00", seoul, unix("2025-04-23T21:49:24Z", nil), true},
		{"2025-04-23T16:49:24-0530", nil, unix("2025-04-23T22:19:24Z", nil), true},
		{"2025-04-23T16:49:24.123", seoul, unix("2025-04-23T07:49:24Z", nil), true},
		{"2025-04-23T16:49:24.999999999Z", nil, unix("2025-04-23T16:49:24Z", nil), true},
		{"2025-04-23T16:49:24.5+09:00", nil, unix("2025-04-23T07:49:24Z", nil), true},
		{"1969-12-31T23:59:59.5Z", nil, -1, true}, // floor
		{"1970-01-01T00:00:00Z", nil, 0, true},
		{"0001-01-01T00:00:00Z", nil, unix("0001-01-01T00:00:00Z", nil), true},
		{"9999-12-31T23:59:59Z", nil, unix("9999-12-31T23:59:59Z", nil), true},
		{"2024-02-29T12:00:00", nil, unix("2024-02-29T12:00:00Z", nil), true},
		{"2000-02-29T12:00:00", nil, unix("2000-02-29T12:00:00Z", nil), true},
		{"2016-12-31T23:59:60Z", nil, unix("2017-01-01T00:00:00Z", nil), true},           // leap second
		{"2025-03-09T02:30:00", ny, time.Date(2025, 3, 9, 2, 30, 0, 0, ny).Unix(), true}, // DST gap: as time.Date
		{"2025-11-02T01:30:00", ny, time.Date(2025, 11, 2, 1, 30, 0, 0, ny).Unix(), true},
		// Rejected.
		{"", nil, 0, false},
		{"2025-04-23", nil, 0, false},
		{"2025-04-23T16:49", nil, 0, false},
		{"2025-04-23T16:49:2", nil, 0, false},
		{"2025-04-23t16:49:24", nil, 0, false},
		{"2025/04/23T16:49:24", nil, 0, false},
		{"2025-4-23T16:49:24", nil, 0, false},
		{"2025-00-23T16:49:24", nil, 0, false},
		{"2025-13-23T16:49:24", nil, 0, false},
		{"2025-04-00T16:49:24", nil, 0, false},
		{"2025-04-31T16:49:24", nil, 0, false},
		{"2025-02-29T16:49:24", nil, 0, false},
		{"1900-02-29T16:49:24", nil, 0, false},
		{"2025-04-23T24:00:00", nil, 0, false},
		{"2025-04-23T16:60:24", nil, 0, false},
		{"2025-04-23T16:49:61", nil, 0, false},
		{"2025-04-23T16:49:24.", nil, 0, false},
		{"2025-04-23T16:49:24.1234567890", nil, 0, false},
		{"2025-04-23T16:49:24,5", nil, 0, false},
		{"2025-04-23T16:49:24z", nil, 0, false},
		{"2025-04-23T16:49:24ZZ", nil, 0, false},
		{"2025-04-23T16:49:24+09", nil, 0, false},
		{"2025-04-23T16:49:24+9:00", nil, 0, false},
		{"2025-04-23T16:49:24+24:00", nil, 0, false},
		{"2025-04-23T16:49:24+09:60", nil, 0, false},
		{"2025-04-23T16:49:24+09:00 ", nil, 0, false},
		{" 2025-04-23T16:49:24", nil, 0, false},
		{"2025-04-23T16:49:24 ", nil, 0, false},
		{"+025-04-23T16:49:24", nil, 0, false},
		{"2025-04-23T1a:49:24", nil, 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseTime([]byte(tc.in), tc.loc)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseTime(%q, %v) = %d, %v; want %d, %v", tc.in, tc.loc, got, ok, tc.want, tc.ok)
		}
		if ok {
			checkParseTime(t, []byte(tc.in))
		}
	}
}

func TestParseTimeAllocs(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Skip(err)
	}
	b := []byte("2025-04-23T16:49:24.123")
	z := []byte("2025-04-23T16:49:24+09:00")
	if n := testing.AllocsPerRun(100, func() {
		ParseTime(b, seoul)
		ParseTime(z, nil)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// checkParseTime compares ParseTime with time.ParseInLocation on the inputs
// both accept, in several locations.
func checkParseTime(t *testing.T, b []byte) {
	t.Helper()
	locs := []*time.Location{nil, time.UTC, time.FixedZone("KST", 9*3600), time.FixedZone("X", -(3*3600 + 30*60))}
	for _, name := range []string{"Asia/Seoul", "America/New_York", "Australia/Lord_Howe"} {
		if loc, err := time.LoadLocation(name); err == nil {
			locs = append(locs, loc)
		}
	}
	s := string(b)
	layouts := []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05Z0700"}
	for _, loc := range locs {
		got, ok := ParseTime(b, loc)
		if !ok {
			continue
		}
		for _, layout := range layouts {
			ref := loc
			if ref == nil {
				ref = time.UTC
			}
			in := s
			if len(in) > 10 && in[10] == ' ' {
				in = in[:10] + "T" + in[11:]
			}
			tm, err := time.ParseInLocation(layout, in, ref)
			if err != nil {
				continue
			}
			if tm.Unix() != got {
				t.Fatalf("ParseTime(%q, %v) = %d, time.ParseInLocation(%q) = %d (%v)", s, loc, got, layout, tm.Unix(), tm)
			}
		}
	}
	// Where time.ParseInLocation accepts one of our forms with a valid
	// second, we must accept it too.
	for _, layout := range layouts {
		tm, err := time.ParseInLocation(layout, s, time.UTC)
		if err != nil || !strictTimeRE.MatchString(s) {
			continue
		}
		if _, ok := ParseTime(b, nil); !ok && tm.Year() >= 0 && zoneOK(s) {
			t.Fatalf("time.ParseInLocation(%q, %q) accepts (%v), ParseTime does not", layout, s, tm)
		}
	}
}

// strictTimeRE is the shape ParseTime accepts.
var strictTimeRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?$`)

func fracDigits(s string) int {
	if len(s) <= 19 || s[19] != '.' {
		return 0
	}
	n := 0
	for i := 20; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n++
	}
	return n
}

// zoneOK reports whether the zone suffix of s (after the seconds and an
// optional fraction) is one that ParseTime supports: none, Z, ±hh:mm or
// ±hhmm with hh<24 and mm<60.
func zoneOK(s string) bool {
	i := 19
	if i < len(s) && s[i] == '.' {
		i += 1 + fracDigits(s)
	}
	z := s[i:]
	switch {
	case z == "" || z == "Z":
		return true
	case len(z) == 6 && z[3] == ':':
		z = z[:3] + z[4:]
	case len(z) != 5:
		return false
	}
	if z[0] != '+' && z[0] != '-' {
		return false
	}
	for _, c := range z[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return (z[1]-'0')*10+z[2]-'0' < 24 && (z[3]-'0')*10+z[4]-'0' < 60
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2025-04-23T16:49:24", "2025-04-23 16:49:24", "2025-04-23T16:49:24Z", "2025-04-23T16:49:24.123456789+09:00",
		"2025-04-23T16:49:24-0500", "2024-02-29T23:59:60Z", "0000-01-01T00:00:00Z", "2025-03-09T02:30:00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkParseTime(t, b)
	})
}

// stdParseTime is ParseTime done with the standard library: the layout is
// picked from the shape of b, then time.ParseInLocation parses it. It is the
// yardstick of BenchmarkParseTime.
func stdParseTime(b []byte, loc *time.Location) (int64, bool) {
	layout := "2006-01-02T15:04:05"
	n := len(b)
	switch {
	case n > 19 && b[n-1] == 'Z', n >= 25 && (b[n-6] == '+' || b[n-6] == '-'):
		layout = "2006-01-02T15:04:05Z07:00"
	case n >= 24 && (b[n-5] == '+' || b[n-5] == '-'):
		layout = "2006-01-02T15:04:05Z0700"
	}
	if n > 10 && b[10] == ' ' {
		layout = layout[:10] + " " + layout[11:]
	}
	t, err := time.ParseInLocation(layout, string(b), loc)
	return t.Unix(), err == nil
}

// BenchmarkParseTime compares ParseTime with the standard library on the
// API's time shapes, in Asia/Seoul (the default zone).
func BenchmarkParseTime(b *testing.B) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		b.Skip(err)
	}
	for _, in := range []string{"2025-04-23T16:49:24", "2025-04-23T16:49:24.123", "2025-04-23T16:49:24Z", "2025-04-23T16:49:24+09:00", "2025-04-23T16:49:24-05:00"} {
		s := []byte(in)
		want, _ := ParseTime(s, seoul)
		if got, ok := stdParseTime(s, seoul); !ok || got != want {
			b.Fatalf("%s: standard library %d %v, ParseTime %d", in, got, ok, want)
		}
		for _, c := range []struct {
			name  string
			parse func([]byte, *time.Location) (int64, bool)
		}{{"ours", ParseTime}, {"stdlib", stdParseTime}} {
			b.Run(c.name+"/"+in, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.parse(s, seoul)
				}
			})
		}
	}
}
