package main

import (
	"io"
	"reflect"
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
		if cfg.API.BaseURL != sim.URL || cfg.API.Credentials == nil {
			t.Errorf("%s: API %q with credentials %v; want the simulator's", name, cfg.API.BaseURL, cfg.API.Credentials)
		}
		cfg.API.BaseURL = want.cfg.API.BaseURL
		cfg.API.BackoffBase, cfg.API.BackoffMax = want.cfg.API.BackoffBase, want.cfg.API.BackoffMax
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
	if cfg.API.Location != nil {
		zone = cfg.API.Location.String()
	}
	cfg.API.Credentials, cfg.API.Transport, cfg.API.Observer, cfg.API.Location = nil, nil, nil, nil
	cfg.Logger, cfg.Landing = nil, exporter.Landing{}
	return setting{cfg, zone}
}
