// Package isotime parses the ISO 8601 times of the Media Intelligence API
// without allocating. It is the implementation of client.ParseTime, in a
// package of its own so that the asset scanner's benchmark, which cannot
// import client, parses times as the exporter does. Its tests, fuzz target
// and benchmark are client's, on ParseTime.
package isotime

import "time"

// Parse is client.ParseTime (documented there) for a string or a byte
// slice, so that a caller holding either parses it without a copy.
func Parse[S ~[]byte | ~string](b S, loc *time.Location) (sec int64, ok bool) {
	if len(b) < 19 {
		return 0, false
	}
	if b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := digits4(b[0], b[1], b[2], b[3])
	month, ok2 := digits2(b[5], b[6])
	day, ok3 := digits2(b[8], b[9])
	hour, ok4 := digits2(b[11], b[12])
	minute, ok5 := digits2(b[14], b[15])
	s, ok6 := digits2(b[17], b[18])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || s > 60 {
		return 0, false
	}
	i := 19
	if i < len(b) && b[i] == '.' {
		i++
		n := 0
		for i < len(b) && b[i]-'0' < 10 {
			i++
			n++
		}
		if n == 0 || n > 9 {
			return 0, false
		}
	}
	hasZone := false
	offset := 0
	if i < len(b) {
		hasZone = true
		switch c := b[i]; c {
		case 'Z':
			i++
		case '+', '-':
			rest := len(b) - i
			var hh, mm int
			var okh, okm bool
			switch {
			case rest == 6 && b[i+3] == ':':
				hh, okh = digits2(b[i+1], b[i+2])
				mm, okm = digits2(b[i+4], b[i+5])
			case rest == 5:
				hh, okh = digits2(b[i+1], b[i+2])
				mm, okm = digits2(b[i+3], b[i+4])
			default:
				return 0, false
			}
			if !okh || !okm || hh > 23 || mm > 59 {
				return 0, false
			}
			offset = hh*3600 + mm*60
			if c == '-' {
				offset = -offset
			}
			i = len(b)
		default:
			return 0, false
		}
		if i != len(b) {
			return 0, false
		}
	}
	if !hasZone && loc != nil && loc != time.UTC {
		return time.Date(year, time.Month(month), day, hour, minute, s, 0, loc).Unix(), true
	}
	days := daysFromCivil(int64(year), int64(month), int64(day))
	return days*86400 + int64(hour*3600+minute*60+s-offset), true
}

func digits2(a, b byte) (int, bool) {
	a -= '0'
	b -= '0'
	return int(a)*10 + int(b), a < 10 && b < 10
}

func digits4(a, b, c, d byte) (int, bool) {
	x, ok1 := digits2(a, b)
	y, ok2 := digits2(c, d)
	return x*100 + y, ok1 && ok2
}

func isLeap(y int) bool {
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days since 1970-01-01 of the given
// proleptic Gregorian date (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
