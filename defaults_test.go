package main

import (
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/exporter"
	"github.com/mediaintel/mediaintel_exporter/exporter/exportertest"
)

// TestDefaultsAreWhatShips: the binary's flags with none given, the
// exporter's Defaults and the configuration the tests' exporters are
// built from are one configuration, but for what reaches the simulator
// instead of NCP (its URL and key, a short backoff).
func TestDefaultsAreWhatShips(t *testing.T) {
	o, code := parseFlags(nil, io.Discard)
	if o == nil {
		t.Fatalf("parseFlags with no flags: exit status %d", code)
	}
	want := settingOf(exporter.Defaults())
	if got := settingOf(o.cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("the flags' defaults differ from exporter.Defaults:\n got %+v\nwant %+v", got, want)
	}

	sim := mitest.NewServer(mitest.Generate(1, mitest.GenConfig{Workspaces: 1, ProjectsPerWorkspace: 1, AssetsPerProject: 1}))
	t.Cleanup(sim.Close)
	x, _ := exportertest.New(t, sim, nil)
	for name, cfg := range map[string]exporter.Config{"exportertest.Config": exportertest.Config(sim), "the tests' exporter": x.Config()} {
		if len(cfg.Accounts) != 1 {
			t.Fatalf("%s: %d accounts; want Defaults' one", name, len(cfg.Accounts))
		}
		a, wa := &cfg.Accounts[0], want.cfg.Accounts[0]
		if a.API.BaseURL != sim.URL || a.API.Credentials == nil {
			t.Errorf("%s: API %q with credentials %v; want the simulator's", name, a.API.BaseURL, a.API.Credentials)
		}
		a.API.BaseURL = wa.API.BaseURL
		a.API.BackoffBase, a.API.BackoffMax = wa.API.BackoffBase, wa.API.BackoffMax
		if got := settingOf(cfg); !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from exporter.Defaults:\n got %+v\nwant %+v", name, got, want)
		}
	}
}

// setting is the part of a configuration that flags set: cfg without the
// credentials, the logger, the landing page and what New fills in, and
// with the zone by name (a *time.Location is loaded anew each time).
type setting struct {
	cfg  exporter.Config
	zone string
}

func settingOf(cfg exporter.Config) setting {
	zone := "<nil>"
	cfg.Accounts = slices.Clone(cfg.Accounts)
	for i := range cfg.Accounts {
		api := &cfg.Accounts[i].API
		if api.Location != nil {
			zone = api.Location.String()
		}
		api.Credentials, api.Transport, api.Observer, api.Location = nil, nil, nil, nil
	}
	cfg.Logger, cfg.Landing = nil, exporter.Landing{}
	return setting{cfg, zone}
}

// TestBadFlagValueNamesTheFlag: a value kingpin cannot take is refused
// with exit status 2 and an error that names the flag and the value;
// other parse errors are kingpin's own.
func TestBadFlagValueNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--scrape.timeout=abc"}, []string{`--scrape.timeout="abc"`, "invalid duration"}},
		{[]string{"--scrape.mode=foo"}, []string{`--scrape.mode="foo"`, "on-scrape,background"}},
		{[]string{"--mi.concurrency=4", "--mi.page-size=lots"}, []string{`--mi.page-size="lots"`}},
		{[]string{"--mi.rate-limit=fast"}, []string{`--mi.rate-limit="fast"`}},
		{[]string{"--no-such-flag"}, []string{"unknown long flag '--no-such-flag'"}},
	} {
		var stderr strings.Builder
		o, code := parseFlags(tc.args, &stderr)
		if o != nil || code != 2 {
			t.Errorf("%v: parsed (exit %d); want exit status 2", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, stderr.String())
			}
		}
	}
}
