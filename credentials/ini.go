package credentials

import (
	"bytes"
	"fmt"
	"strings"
)

// defaultSection is the profile of a configure file's keys that come
// before any section header: all of them in a flat file.
const defaultSection = "DEFAULT"

// iniFile is a parsed configure file: section, then key (lower case), then
// value.
type iniFile map[string]map[string]string

// parseINI reads the configure file's INI: [section] headers, key = value
// lines (split at the first '='; key and value trimmed; a value in one
// pair of matching quotes loses them), blank lines and lines starting with
// '#' or ';' ignored, CRLF accepted. Keys before the first header belong
// to DEFAULT. Section names are case-sensitive, keys are not. A line that
// is none of these, or a key given twice in one section, is an error that
// names the line by its number, never by its text: it may hold a secret.
func parseINI(data []byte) (iniFile, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	f := iniFile{}
	section := defaultSection
	where := map[[2]string]int{} // section and key: the line that set it
	for n, line := range strings.Split(string(data), "\n") {
		lineNo := n + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if line[len(line)-1] != ']' {
				return nil, fmt.Errorf("line %d: a section header without its closing ']'", lineNo)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			if section == "" {
				return nil, fmt.Errorf("line %d: a section header without a name", lineNo)
			}
			if f[section] == nil {
				f[section] = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: neither a [section] header nor a key = value line", lineNo)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			return nil, fmt.Errorf("line %d: a value without a key", lineNo)
		}
		if first, dup := where[[2]string{section, k}]; dup {
			return nil, fmt.Errorf("line %d: %s given again in [%s] (first on line %d)", lineNo, clean(k, 64), clean(section, 64), first)
		}
		where[[2]string{section, k}] = lineNo
		if f[section] == nil {
			f[section] = map[string]string{}
		}
		f[section][k] = unquote(strings.TrimSpace(v))
	}
	return f, nil
}

// unquote removes one pair of matching surrounding quotes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
