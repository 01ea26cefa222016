package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// helpFlagRE reads one flag of --help: its name and, when it has one, its
// default ("--mi.page-size=1000", `--mi.api-url="https://..."`).
var helpFlagRE = regexp.MustCompile(`^ {2,8}(?:-\w, )?--(\[no-\])?([a-z0-9.-]+)(?:=("?)([^ "]*)"?)?`)

// TestREADMEFlags: every flag of --help has a row in the README's flag
// table, and the row gives the default --help gives.
func TestREADMEFlags(t *testing.T) {
	help := testutil.RunTool(t, time.Minute, "", testutil.BuildExporter(t), "--help")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "| `--") {
			rows = append(rows, l)
		}
	}
	n := 0
	for _, l := range strings.Split(help, "\n") {
		m := helpFlagRE.FindStringSubmatch(l)
		if m == nil || m[2] == "help" {
			continue
		}
		n++
		name, def := m[2], m[4]
		var row string
		for _, r := range rows {
			first := strings.Split(r, "|")[1] // the flag column
			if strings.Contains(first, "`--"+name+"`") || strings.Contains(first, "`--[no-]"+name+"`") {
				row = r
			}
		}
		if row == "" {
			t.Errorf("--%s is not in the README's flag table", name)
			continue
		}
		if def == "" || def == "..." || strings.HasPrefix(def, strings.ToUpper(name[:1])) {
			continue // no default, or a placeholder such as MI.WORKSPACE
		}
		cell := strings.Split(row, "|")[2]
		if !strings.Contains(cell, "`"+def+"`") && !(def == "0s" && strings.Contains(cell, "`0`")) {
			t.Errorf("--%s: --help gives the default %q, the README %q", name, def, strings.TrimSpace(cell))
		}
	}
	if n < 30 {
		t.Errorf("read %d flags from --help; the pattern no longer matches its lines:\n%s", n, help)
	}
}
