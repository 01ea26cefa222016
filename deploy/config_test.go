package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// TestPrometheusConfigs validates every example Prometheus configuration with
// promtool check config, which also checks the rule files they load, with
// each Prometheus release's promtool. The sharded template is checked as it
// is and rendered for both shards.
func TestPrometheusConfigs(t *testing.T) {
	dir := filepath.Join(deployDir(t), "prometheus")
	tmpl := readFile(t, filepath.Join(dir, "prometheus-sharded.yml"))
	for _, want := range []string{"__SHARD__", "action: hashmod", "modulus: 2", "__param_account, __param_workspace, __param_project", "/discovery?per=project", "metrics_path: /probe"} {
		if !strings.Contains(tmpl, want) {
			t.Errorf("prometheus-sharded.yml lacks %q", want)
		}
	}
	probe := readFile(t, filepath.Join(dir, "prometheus-probe-sd.yml"))
	for _, want := range []string{"http_sd_configs", "/discovery?per=project", "metrics_path: /probe", "target_label: __address__", "[__param_account, __param_workspace, __param_project]"} {
		if !strings.Contains(probe, want) {
			t.Errorf("prometheus-probe-sd.yml lacks %q", want)
		}
	}

	for _, name := range []string{"prometheus.yml", "prometheus-probe-sd.yml", "prometheus-sharded.yml"} {
		conf := readFile(t, filepath.Join(dir, name))
		if n := len(prometheus3RE.FindAllString(conf, -1)); n != 2 {
			t.Errorf("%s: %d lines marked %q, want the two native-histogram settings", name, n, prometheus3Mark)
		}
		for _, want := range []string{"scrape_native_histograms: true", "convert_classic_histograms_to_nhcb: true"} {
			if !strings.Contains(conf, want) {
				t.Errorf("%s lacks %q (Prometheus 3: native histograms)", name, want)
			}
		}
	}

	forEachPrometheus(t, func(t *testing.T, rel promRelease) {
		for _, name := range []string{"prometheus.yml", "prometheus-probe-sd.yml", "prometheus-sharded.yml"} {
			t.Run(name, func(t *testing.T) {
				tmp := t.TempDir()
				for _, f := range []string{"alerts.yml", "recording.yml"} {
					copyFile(t, filepath.Join(dir, f), filepath.Join(tmp, f))
				}
				conf := readFile(t, filepath.Join(dir, name))
				if rel.Major() < 3 {
					// What the comment promises: 2.x refuses the file as it
					// is, and takes it without the marked lines.
					if err := os.WriteFile(filepath.Join(tmp, name), []byte(conf), 0o644); err != nil {
						t.Fatal(err)
					}
					out, err := runToolErr(time.Minute, tmp, rel.Promtool, "check", "config", name)
					if err == nil || !strings.Contains(out, "scrape_native_histograms") {
						t.Errorf("Prometheus %s takes %s with the Prometheus 3 settings (%v), or refuses it for another reason:\n%s", rel.Version, name, err, out)
					}
				}
				if err := os.WriteFile(filepath.Join(tmp, name), []byte(forPrometheus(rel, conf)), 0o644); err != nil {
					t.Fatal(err)
				}
				out := testutil.RunTool(t, time.Minute, tmp, rel.Promtool, "check", "config", name)
				if !strings.Contains(out, "2 rule files found") {
					t.Errorf("%s should load recording.yml and alerts.yml:\n%s", name, out)
				}
			})
		}
		for _, shard := range []string{"0", "1"} {
			t.Run("shard"+shard, func(t *testing.T) {
				tmp := t.TempDir()
				for _, f := range []string{"alerts.yml", "recording.yml"} {
					copyFile(t, filepath.Join(dir, f), filepath.Join(tmp, f))
				}
				rendered := forPrometheus(rel, strings.ReplaceAll(tmpl, "__SHARD__", shard))
				if err := os.WriteFile(filepath.Join(tmp, "prometheus.yml"), []byte(rendered), 0o644); err != nil {
					t.Fatal(err)
				}
				testutil.RunTool(t, time.Minute, tmp, rel.Promtool, "check", "config", "prometheus.yml")
			})
		}
	})
}

// TestAlertmanagerConfig validates the Alertmanager example with amtool and
// checks that every severity the alerts use is routed to the webhook.
func TestAlertmanagerConfig(t *testing.T) {
	amtool := requireTool(t, "amtool")
	dir := filepath.Join(deployDir(t), "alertmanager")
	out := testutil.RunTool(t, time.Minute, dir, amtool, "check-config", "alertmanager.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("amtool check-config:\n%s", out)
	}
	for _, sev := range []string{"critical", "warning", "info"} {
		testutil.RunTool(t, time.Minute, dir, amtool, "config", "routes", "test",
			"--config.file=alertmanager.yml", "--verify.receivers=mediaintel-webhook",
			"alertname=MediaIntelProjectScrapeFailing", "severity="+sev)
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "alertmanager.yml")), "webhook_configs") {
		t.Error("alertmanager.yml has no webhook receiver")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// prometheus3Mark ends the lines of the example configurations that only
// Prometheus 3 takes (the native-histogram settings); their comment tells
// users of Prometheus 2 to delete them.
const prometheus3Mark = "# Prometheus 3"

var prometheus3RE = regexp.MustCompile(`(?m)^.*` + regexp.QuoteMeta(prometheus3Mark) + `\s*\n`)

// forPrometheus returns an example configuration as a user of release rel
// runs it: for Prometheus 2, without the lines marked prometheus3Mark.
func forPrometheus(rel promRelease, conf string) string {
	if rel.Major() >= 3 {
		return conf
	}
	return prometheus3RE.ReplaceAllString(conf, "")
}

// runToolErr runs a command in dir with a deadline and returns its combined
// output and its error, for a run that is meant to fail.
func runToolErr(timeout time.Duration, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
