package dashboards

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// promqlWords are identifiers that are never metric names: aggregation
// operators, their modifiers, binary operators, keywords and the special
// float literals.
var promqlWords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
}

// labelListKeywords are followed by a parenthesised list of label names.
var labelListKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdent(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// metricNames returns the metric names a PromQL expression selects, sorted:
// identifiers outside label matchers, strings, durations and label lists
// that are not functions, operators or keywords. Good enough for the
// dashboard's own expressions; the real parser checks them separately.
func metricNames(expr string) []string {
	found := map[string]bool{}
	n := len(expr)
	for i := 0; i < n; {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < n && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			i = j + 1
		case c == '{' || c == '[':
			// Label matchers and range/subquery durations: nothing to find
			// inside, except strings, which are skipped with them.
			end := byte('}')
			if c == '[' {
				end = ']'
			}
			j := i + 1
			for j < n && expr[j] != end {
				if q := expr[j]; q == '"' || q == '\'' || q == '`' {
					j++
					for j < n && expr[j] != q {
						if expr[j] == '\\' && q != '`' {
							j++
						}
						j++
					}
				}
				j++
			}
			i = j + 1
		case c >= '0' && c <= '9' || (c == '.' && i+1 < n && expr[i+1] >= '0' && expr[i+1] <= '9'):
			j := i
			for j < n && (isIdent(expr[j]) || expr[j] == '.') {
				j++
			}
			i = j
		case isIdentStart(c):
			j := i
			for j < n && isIdent(expr[j]) {
				j++
			}
			word := expr[i:j]
			k := j
			for k < n && (expr[k] == ' ' || expr[k] == '\t' || expr[k] == '\n') {
				k++
			}
			lower := strings.ToLower(word)
			switch {
			case labelListKeywords[lower] && k < n && expr[k] == '(':
				// Skip the label list.
				for k < n && expr[k] != ')' {
					k++
				}
				j = k + 1
			case promqlWords[lower]:
			case k < n && expr[k] == '(':
				// A function call.
			default:
				found[word] = true
			}
			i = j
		default:
			i++
		}
	}
	out := make([]string, 0, len(found))
	for w := range found {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

func TestMetricNamesExtraction(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (le, operation) (rate(a_bucket{code!~"2..", x="by (y)"}[$__rate_interval]))`, []string{"a_bucket"}},
		{`count(b{w=~"$workspace"} == 0) or vector(0)`, []string{"b"}},
		{`histogram_quantile(0.95, sum(c_bucket) without (instance)) * 1e3`, []string{"c_bucket"}},
		{"d\n  * on (workspace, project_id) group_left (project_name)\nmax by (workspace, project_id, project_name) (e{a=\"1\"})", []string{"d", "e"}},
		{`topk(10, f offset 1h) / ignoring(code) g unless h and bool Inf`, []string{"f", "g", "h"}},
		{`delta(i[24h]) > .5 and j:recorded:rate5m`, []string{"i", "j:recorded:rate5m"}},
		{`label_replace(k, "dst", "$1", "src", "(.*)")`, []string{"k"}},
	} {
		if got := metricNames(tc.expr); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}
