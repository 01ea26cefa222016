package helm

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the values table in the chart's README.md")

const (
	tableStart = "<!-- values table: generated from values.yaml by go test -run TestValuesTable -update; do not edit -->"
	tableEnd   = "<!-- end of values table -->"
)

// valueRow is one documented value.
type valueRow struct {
	Path, Type, Default, Doc string
}

// documentedValues reads values.yaml and returns a row for every key whose
// head comment starts with "# --", in file order. A key without one is
// descended into if it is a map; a leaf without one is an error, as is a
// documented key below a documented map.
func documentedValues(t *testing.T) []valueRow {
	t.Helper()
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(readFile(t, filepath.Join(chartDir(t), "values.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yamlv3.MappingNode {
		t.Fatal("values.yaml is not a map")
	}
	var rows []valueRow
	var walk func(n *yamlv3.Node, prefix string)
	walk = func(n *yamlv3.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := prefix + k.Value
			docText := docComment(k.HeadComment)
			if docText == "" {
				if v.Kind == yamlv3.MappingNode && len(v.Content) > 0 {
					walk(v, path+".")
					continue
				}
				t.Errorf("values.yaml: %s has no \"# --\" comment", path)
				continue
			}
			var val any
			if err := v.Decode(&val); err != nil {
				t.Fatal(err)
			}
			def, _ := json.Marshal(val)
			rows = append(rows, valueRow{Path: path, Type: yamlType(v), Default: string(def), Doc: docText})
			if v.Kind == yamlv3.MappingNode {
				for j := 0; j+1 < len(v.Content); j += 2 {
					if docComment(v.Content[j].HeadComment) != "" {
						t.Errorf("values.yaml: %s.%s is documented inside the documented %s", path, v.Content[j].Value, path)
					}
				}
			}
		}
	}
	walk(doc.Content[0], "")
	return rows
}

// docComment returns the text of the "# --" comment among a key's head
// comment lines, continuation lines ("# " after it) included.
func docComment(head string) string {
	var parts []string
	in := false
	for _, l := range strings.Split(head, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "# -- "):
			in = true
			parts = append(parts, strings.TrimPrefix(l, "# -- "))
		case in && strings.HasPrefix(l, "# "):
			parts = append(parts, strings.TrimPrefix(l, "# "))
		default:
			in = false
		}
	}
	return strings.Join(parts, " ")
}

func yamlType(n *yamlv3.Node) string {
	switch n.Kind {
	case yamlv3.MappingNode:
		return "object"
	case yamlv3.SequenceNode:
		return "list"
	}
	switch n.Tag {
	case "!!bool":
		return "bool"
	case "!!int":
		return "int"
	case "!!float":
		return "float"
	}
	return "string"
}

// valuesTable renders the rows as the README's Markdown table.
func valuesTable(rows []valueRow) string {
	esc := strings.NewReplacer("|", `\|`)
	var b strings.Builder
	b.WriteString("| value | type | default | meaning |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", r.Path, r.Type, esc.Replace(r.Default), esc.Replace(r.Doc))
	}
	return b.String()
}

// TestValuesTable checks that the chart README's values table is the one
// values.yaml's comments give (go test -run TestValuesTable -update
// rewrites it), and that every value is documented.
func TestValuesTable(t *testing.T) {
	rows := documentedValues(t)
	if len(rows) < 40 {
		t.Fatalf("only %d documented values: the parse of values.yaml went wrong", len(rows))
	}
	readmePath := filepath.Join(chartDir(t), "README.md")
	readme := string(readFile(t, readmePath))
	i, j := strings.Index(readme, tableStart), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no values table markers %q ... %q", tableStart, tableEnd)
	}
	want := readme[:i] + tableStart + "\n\n" + valuesTable(rows) + "\n" + readme[j:]
	if want == readme {
		t.Logf("%d values documented", len(rows))
		return
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("README.md: values table rewritten (%d values)", len(rows))
		return
	}
	t.Errorf("README.md's values table is not what values.yaml says; run: go test -run TestValuesTable -update (in deploy/helm)")
}

// TestSchemaCoversValues checks values.schema.json against values.yaml: every
// key of one is a property of the other (the defaults validating against the
// schema, which refuses unknown properties, gives one direction; this gives
// the other, so a value cannot be dropped from one file only).
func TestSchemaCoversValues(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(chartDir(t), "values.schema.json")), &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	var values map[string]any
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(readFile(t, filepath.Join(chartDir(t), "values.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	if err := doc.Decode(&values); err != nil {
		t.Fatal(err)
	}
	var missing []string
	var walk func(s map[string]any, v map[string]any, prefix string)
	walk = func(s map[string]any, v map[string]any, prefix string) {
		props, _ := s["properties"].(map[string]any)
		if props == nil {
			return // a free-form object (securityContext, affinity, ...)
		}
		for name, ps := range props {
			if prefix == "" && name == "global" {
				continue
			}
			sub, ok := v[name]
			if !ok {
				missing = append(missing, "values.yaml lacks "+prefix+name)
				continue
			}
			if sm, ok := sub.(map[string]any); ok {
				walk(ps.(map[string]any), sm, prefix+name+".")
			}
		}
		for name := range v {
			if _, ok := props[name]; !ok {
				missing = append(missing, "values.schema.json lacks "+prefix+name)
			}
		}
	}
	walk(schema, values, "")
	sort.Strings(missing)
	for _, m := range missing {
		t.Error(m)
	}
}
