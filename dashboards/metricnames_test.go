package dashboards

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// promql is Prometheus' own PromQL parser with its default options: the
// functions and syntax a stock Prometheus accepts.
var promql = parser.NewParser(parser.Options{})

// grafanaVarRE finds a Grafana variable ($name, ${name}, [[name]]); "$1"
// in label_replace is a regular expression's group, not a variable.
var grafanaVarRE = regexp.MustCompile(`\$\{?[A-Za-z_]\w*|\[\[\w+\]\]`)

// parseQuery parses a dashboard query, Grafana's variables substituted with
// testVars first, and checks that it is one Grafana can plot or show: an
// instant vector or a scalar.
func parseQuery(expr string) (parser.Expr, error) {
	expanded := ExpandVariables(expr, testVars)
	if v := grafanaVarRE.FindString(expanded); v != "" {
		return nil, fmt.Errorf("variable %s is left after substitution: %s", v, expanded)
	}
	e, err := promql.ParseExpr(expanded)
	if err != nil {
		return nil, err
	}
	if t := e.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeScalar {
		return nil, fmt.Errorf("the expression is a %s; a panel or variable query must be an instant vector or a scalar", t)
	}
	return e, nil
}

// metricNames returns the metric names a dashboard query selects, sorted,
// from the syntax tree of Prometheus' parser: the names of its vector
// selectors, also inside range selectors and subqueries. A selector that
// names no single metric is an error, as the test could not check it.
func metricNames(expr string) ([]string, error) {
	e, err := parseQuery(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
		}
		if name == "" {
			err = fmt.Errorf("selector %s names no single metric", vs)
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return slices.Compact(names), nil
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
		{`topk(10, f offset 1h) / ignoring(code) g unless h > bool Inf`, []string{"f", "g", "h"}},
		{`delta(i[24h]) > .5 and j:recorded:rate5m`, []string{"i", "j:recorded:rate5m"}},
		{`label_replace(k, "dst", "$1", "src", "(.*)")`, []string{"k"}},
		{`max_over_time(rate(l[5m])[1h:${__interval}]) + {__name__="m", a="b"} + l`, []string{"l", "m"}},
		{`scalar(sum(n))`, []string{"n"}},
	} {
		got, err := metricNames(tc.expr)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("metricNames(%q) = %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
	for _, expr := range []string{
		`sum(rate(x[5m])`,                 // unbalanced
		`rate(x[5m])[1h:]`,                // a range vector: Grafana cannot plot it
		`x[$__unknown_variable]`,          // a variable the tests do not know
		`{__name__=~"ncp_mediaintel_.+"}`, // which metrics?
		`no_such_function(x)`,
	} {
		if got, err := metricNames(expr); err == nil {
			t.Errorf("metricNames(%q) = %q without an error", expr, got)
		}
	}
}
