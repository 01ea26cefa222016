package exporter

import (
	"html"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/mediaintel/mediaintel_exporter/handler"
)

// routes is the exporter's URL space.
func (e *Exporter) routes() (http.Handler, error) {
	cfg := e.cfg
	mux := http.NewServeMux()
	mux.Handle(cfg.TelemetryPath, e.Handler.Metrics())
	mux.Handle("/probe", e.Handler.Probe())
	mux.Handle("/discovery", e.Handler.Discovery())
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "Healthy\n") })
	mux.HandleFunc("/-/ready", e.serveReady)
	mux.HandleFunc("/-/reload", e.serveReload)
	mux.Handle("/internal/metrics", promhttp.HandlerFor(e.Process, handler.MetricsOpts(cfg.Logger)))
	if cfg.TelemetryPath != "/" {
		if err := e.buildLanding(); err != nil {
			return nil, err
		}
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { (*e.landing.Load()).ServeHTTP(w, r) })
	}
	return mux, nil
}

// buildLanding makes the landing page, whose debug probe form names the
// accounts read now.
func (e *Exporter) buildLanding() error {
	cfg := e.cfg
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        cfg.Landing.Name,
		Description: cfg.Landing.Description,
		Version:     cfg.Landing.Version,
		Links: []web.LandingLinks{
			{Address: cfg.TelemetryPath, Text: "Metrics"},
			{Address: "/discovery?per=project", Text: "HTTP service discovery (per project)"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness"},
		},
		ExtraCSS:  debugProbeCSS,
		ExtraHTML: e.debugProbeForm(),
		// The exporter serves no /debug/pprof: no links to it.
		Profiling: "false",
	})
	if err != nil {
		return refused("landing page", err)
	}
	var h http.Handler = landing
	e.landing.Store(&h)
	return nil
}

// debugProbeCSS lays the debug probe form out as a grid: labels in one
// column, the fields (each wide enough to type in) in the next; in a
// window narrower than 30em, each label above its field. The landing
// page's own CSS sizes every label for its own form (label { width:
// (longest label of that form + 1)/2 em }, 0.5em when it has none, as
// here), which would let the labels' text run over the fields: width:
// auto undoes that.
const debugProbeCSS = `
header h1 { overflow-wrap: anywhere; }
form.debug-probe { display: grid; grid-template-columns: max-content minmax(12em, 24em); gap: 0.5em 1em; align-items: center; }
form.debug-probe label { grid-column: 1; width: auto; }
form.debug-probe input, form.debug-probe select { grid-column: 2; width: 100%; box-sizing: border-box; }
form.debug-probe button { grid-column: 2; justify-self: start; }
@media (max-width: 30em) {
  form.debug-probe { grid-template-columns: minmax(0, 24em); gap: 0.25em; }
  form.debug-probe label, form.debug-probe input, form.debug-probe select, form.debug-probe button { grid-column: 1; }
  form.debug-probe label:not(:first-child), form.debug-probe button { margin-top: 0.5em; }
}
`

// debugProbeForm is the landing page's form for /probe?...&debug=true,
// with the accounts configured when the exporter was built. Its patterns
// are those /probe checks; the workspace's escapes its '-', which a
// pattern (compiled with the v flag) must.
func (e *Exporter) debugProbeForm() string {
	var b strings.Builder
	b.WriteString(`<h2>Debug probe</h2>
<p>Every API call of one probe, with the verdict per project and the exposition it would return.</p>
<form class="debug-probe" action="probe" method="get">
<label for="debug-account">account</label>
<select id="debug-account" name="account">`)
	for _, a := range e.Accounts() {
		n := html.EscapeString(a.Config.Name)
		b.WriteString(`<option value="` + n + `">` + n + `</option>`)
	}
	b.WriteString(`</select>
<label for="debug-workspace">workspace</label>
<input id="debug-workspace" name="workspace" required pattern="[a-z0-9\-]{3,63}" title="3-63 characters: a-z, 0-9 and -" placeholder="media-prod">
<label for="debug-project">project ID (optional)</label>
<input id="debug-project" name="project" inputmode="numeric" pattern="[1-9][0-9]*" title="a project ID: a positive integer; empty for the whole workspace" placeholder="1001">
<input type="hidden" name="debug" value="true">
<button type="submit">Debug probe</button>
</form>`)
	return b.String()
}

// serveReady answers /-/ready: 200 once Start was called (the state file
// was loaded before) and, in background mode, every account's first
// refresh pass has ended; 503 before. It never asks the API: an API outage
// must show as ncp_mediaintel_up 0 on a target that is up, not as an
// exporter taken out of its Service.
func (e *Exporter) serveReady(w http.ResponseWriter, _ *http.Request) {
	if waiting := e.waitingFor(); waiting != "" {
		http.Error(w, "Not ready: "+waiting, http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "Ready\n")
}

// serveReload answers POST /-/reload (or PUT, as Prometheus takes): the
// configuration file read again; 403 without --web.enable-lifecycle, as
// Prometheus answers.
func (e *Exporter) serveReload(w http.ResponseWriter, r *http.Request) {
	if !e.cfg.EnableLifecycle {
		http.Error(w, "Lifecycle API is not enabled.", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "Only POST or PUT requests allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := e.Reload(); err != nil {
		http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, "Reloaded\n")
}
