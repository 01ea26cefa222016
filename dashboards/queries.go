package dashboards

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Query is one PromQL expression of the dashboard: a panel target or the
// selector of a template variable.
type Query struct {
	// Where names the panel (with the query's refId) or the variable.
	Where string
	// Expr is the expression as written, with Grafana variables.
	Expr string
	// Instant is true for instant queries (stats, tables, bar gauges).
	Instant bool
}

var labelValuesRE = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// Queries returns every PromQL expression of a dashboard in Grafana's JSON
// model: the targets of all panels (rows included) and, for query variables
// of the form label_values(selector, label), the selector.
func Queries(dashboardJSON []byte) ([]Query, error) {
	var d struct {
		Panels     []panelJSON `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(dashboardJSON, &d); err != nil {
		return nil, fmt.Errorf("decoding the dashboard: %w", err)
	}
	var out []Query
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var text string
		switch qv := v.Query.(type) {
		case string:
			text = qv
		case map[string]any:
			text, _ = qv["query"].(string)
		}
		m := labelValuesRE.FindStringSubmatch(text)
		if m == nil {
			return nil, fmt.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, text)
		}
		out = append(out, Query{Where: "variable " + v.Name, Expr: m[1], Instant: true})
	}
	var walk func(ps []panelJSON)
	walk = func(ps []panelJSON) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if t.Expr == "" {
					continue
				}
				out = append(out, Query{Where: fmt.Sprintf("panel %q query %s", p.Title, t.RefID), Expr: t.Expr, Instant: t.Instant && !t.Range})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

type panelJSON struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID   string `json:"refId"`
		Expr    string `json:"expr"`
		Instant bool   `json:"instant"`
		Range   bool   `json:"range"`
	} `json:"targets"`
	Panels []panelJSON `json:"panels"`
}

// ExpandVariables replaces Grafana variables in expr — $name, ${name} and
// [[name]] — by the values given, the longest names first so that
// $__range_s is not taken for $__range followed by "_s". Variables not in
// vars are left as they are.
func ExpandVariables(expr string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) > len(names[j])
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		expr = strings.ReplaceAll(expr, "${"+n+"}", vars[n])
		expr = strings.ReplaceAll(expr, "[["+n+"]]", vars[n])
	}
	for _, n := range names {
		expr = strings.ReplaceAll(expr, "$"+n, vars[n])
	}
	return expr
}
