package dashboards

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
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
		sel := selectorNames(vs)
		if len(sel) == 0 {
			err = fmt.Errorf("selector %s names no metric, nor a list of them", vs)
		}
		names = append(names, sel...)
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
		{`{__name__=~"o|p:q"} or r`, []string{"o", "p:q", "r"}},
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

// nameListRE is a __name__ regular expression that is a list of names:
// a|b|c, each a plain metric name.
var nameListRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\|[a-zA-Z_:][a-zA-Z0-9_:]*)*$`)

// selectorNames returns the metric names a vector selector selects: its
// name, a __name__="x" matcher, or a __name__=~"a|b" matcher listing
// names. None when it selects names otherwise (a pattern).
func selectorNames(vs *parser.VectorSelector) []string {
	if vs.Name != "" {
		return []string{vs.Name}
	}
	for _, m := range vs.LabelMatchers {
		if m.Name != model.MetricNameLabel {
			continue
		}
		switch {
		case m.Type == labels.MatchEqual:
			return []string{m.Value}
		case m.Type == labels.MatchRegexp && nameListRE.MatchString(m.Value):
			return strings.Split(m.Value, "|")
		}
	}
	return nil
}

// variableOrder is the order of the dashboard's label variables: each
// variable's query selects those before it, and each panel query selects
// those its metric has.
var variableOrder = []string{"job", "instance", "account", "workspace", "project"}

// variableLabel is the label each variable selects.
var variableLabel = map[string]string{"job": "job", "instance": "instance", "account": "account", "workspace": "workspace", "project": "project_id"}

// selectorProblems says where a query does not select what it should: a
// selector of an exporter metric (ncp_mediaintel_..., recorded series
// included) without job=~"$job", instance=~"$instance" and
// account=~"$account" (no account for ExporterOnly metrics); a variable's
// query that does not select exactly the variables before it; a grouping or
// join that keeps the workspace without the account, or drops the account.
func selectorProblems(q Query) ([]string, error) {
	// The interval variables are expanded; the label variables stay as they
	// are, inside the matchers' strings, to be seen.
	intervals := map[string]string{}
	for k, v := range testVars {
		if strings.HasPrefix(k, "__") || k == "datasource" {
			intervals[k] = v
		}
	}
	e, err := promql.ParseExpr(ExpandVariables(q.Expr, intervals))
	if err != nil {
		return nil, err
	}
	variable, isVariable := strings.CutPrefix(q.Where, "variable ")
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: ", q.Where)+fmt.Sprintf(format, args...))
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			names := selectorNames(n)
			exporter, exporterOnly := false, len(names) > 0
			for _, name := range names {
				if strings.Contains(name, "ncp_mediaintel_") {
					exporter = true
				}
				if !slices.Contains(ExporterOnly, name) {
					exporterOnly = false
				}
			}
			if !exporter {
				return nil
			}
			has := map[string]bool{}
			for _, m := range n.LabelMatchers {
				for v, l := range variableLabel {
					if m.Name == l && m.Type == labels.MatchRegexp && m.Value == "$"+v {
						has[v] = true
					}
				}
			}
			var want []string
			switch {
			case isVariable:
				i := slices.Index(variableOrder, variable)
				if i < 0 {
					bad("a variable the tests do not know")
					return nil
				}
				want = variableOrder[:i]
			case exporterOnly:
				want = []string{"job", "instance"}
			default:
				want = []string{"job", "instance", "account"}
			}
			for _, v := range want {
				if !has[v] {
					bad("%s does not select %s=~\"$%s\"", n, variableLabel[v], v)
				}
			}
			if isVariable || exporterOnly {
				for v := range has {
					if !slices.Contains(want, v) {
						bad("%s selects %s=~\"$%s\", which it should not", n, variableLabel[v], v)
					}
				}
			}
		case *parser.AggregateExpr:
			keeps := func(l string) bool { return slices.Contains(n.Grouping, l) != n.Without }
			if n.Without && slices.Contains(n.Grouping, "account") {
				bad("%s drops the account", n.Op)
			}
			if !n.Without && keeps("workspace") && !keeps("account") {
				bad("%s by %v keeps the workspace, not the account", n.Op, n.Grouping)
			}
		case *parser.BinaryExpr:
			if m := n.VectorMatching; m != nil && m.On && slices.Contains(m.MatchingLabels, "workspace") && !slices.Contains(m.MatchingLabels, "account") {
				bad("%s on %v matches on the workspace, not the account", n.Op, m.MatchingLabels)
			}
		}
		return nil
	})
	return problems, nil
}
