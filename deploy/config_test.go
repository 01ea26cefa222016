package deploy

import (
	"os"
	"path/filepath"
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
	for _, want := range []string{"__SHARD__", "action: hashmod", "modulus: 2", "__param_workspace, __param_project", "/discovery?per=project", "metrics_path: /probe"} {
		if !strings.Contains(tmpl, want) {
			t.Errorf("prometheus-sharded.yml lacks %q", want)
		}
	}
	probe := readFile(t, filepath.Join(dir, "prometheus-probe-sd.yml"))
	for _, want := range []string{"http_sd_configs", "/discovery?per=project", "metrics_path: /probe", "target_label: __address__"} {
		if !strings.Contains(probe, want) {
			t.Errorf("prometheus-probe-sd.yml lacks %q", want)
		}
	}

	forEachPrometheus(t, func(t *testing.T, rel promRelease) {
		for _, name := range []string{"prometheus.yml", "prometheus-probe-sd.yml", "prometheus-sharded.yml"} {
			t.Run(name, func(t *testing.T) {
				out := testutil.RunTool(t, time.Minute, dir, rel.Promtool, "check", "config", name)
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
				rendered := strings.ReplaceAll(tmpl, "__SHARD__", shard)
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
