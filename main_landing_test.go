//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// The landing page's debug probe form, rendered by a real browser
// (Debian's chromium, headless) at the widths of a desktop and of a
// phone: the layout is read from the DOM's element boxes, and the URL the
// browser would submit is built by the browser itself (FormData) and sent
// to the exporter.

// chromiumTimeout bounds one chromium run; its whole process group is
// killed then.
const chromiumTimeout = 60 * time.Second

// Layout bounds the test asserts.
const (
	minControlWidth = 150 // px, each input and the select
	maxLabelGap     = 240 // px between a label's text and its control beside it
	maxLabelAbove   = 24  // px between a label's text and its control below it
	overlapSlack    = 0.5 // px two boxes may share without overlapping (rounding)
)

// landingViews are the views of the page the test renders: in a window
// of a desktop's width, and framed at a phone's width (headless chromium
// makes no window narrower than 500 px).
var landingViews = []struct {
	name string
	// width is the width of the page's viewport; frame, when true, puts
	// the page in an iframe that wide inside a window of frameWindow px.
	width int
	frame bool
	// wholePage: the whole page fits the width, not only the form. At
	// 360 px the landing page's own header does not (exporter-toolkit's
	// h1, the exporter's name in one word, is 364 px wide).
	wholePage bool
}{
	{"1280px", 1280, false, true},
	{"360px in a frame", 360, true, false},
}

// The window of a view: 1280x900 unframed; around a frame, the narrowest
// headless chromium makes, tall enough to show the whole framed page.
const (
	windowHeight      = 900
	frameWindow       = 500
	frameWindowHeight = 1300
)

// framePage shows the landing page in an iframe %d px wide and, once both
// have loaded, copies the framed page's boxes into its own <pre id="boxes">.
const framePage = `<!DOCTYPE html>
<html><body style="margin: 0">
<iframe id="page" src="/" width="%d" height="1280" style="border: 0"></iframe>
<pre id="boxes" hidden></pre>
<script>
addEventListener("load", () => {
  const framed = document.getElementById("page").contentDocument.getElementById("boxes");
  document.getElementById("boxes").textContent = framed ? framed.textContent : JSON.stringify({error: "the framed page has no boxes"});
});
</script>
</body></html>
`

// boxesScript is appended to the landing page by the test's proxy: once
// the page has loaded it writes, as JSON into <pre id="boxes">, the boxes
// of the debug probe form's controls and of its labels' text (a label's
// own box does not hold text that overflows it), then fills the form with
// each of %s (a JSON list of {field name: value}) and records the query
// the browser would submit and whether the form would let it.
const boxesScript = `<pre id="boxes" hidden></pre>
<script>
addEventListener("load", () => {
  const out = document.getElementById("boxes");
  try {
    const fills = %s;
    const rect = r => ({x: r.left, y: r.top, w: r.width, h: r.height});
    const forms = document.querySelectorAll('form[action$="probe"]');
    const res = {forms: forms.length, viewport: innerWidth, scrollWidth: document.documentElement.scrollWidth};
    if (forms.length === 1) {
      const form = forms[0];
      const controls = Array.from(form.elements);
      res.action = form.action;
      res.method = form.method;
      res.controls = controls.map(c => {
        const s = getComputedStyle(c);
        return {tag: c.tagName.toLowerCase(), type: c.type || "", name: c.name, box: rect(c.getBoundingClientRect()),
          visible: c.type !== "hidden" && s.display !== "none" && s.visibility === "visible" && s.opacity !== "0",
          options: c.options ? Array.from(c.options, o => o.value) : null};
      });
      res.labels = Array.from(form.querySelectorAll("label"), l => {
        const lines = [], text = [];
        const walk = document.createTreeWalker(l, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
          if (!n.data.trim() || n.parentElement.closest("input, select, textarea, button, option")) continue;
          text.push(n.data.trim());
          const r = document.createRange();
          r.selectNodeContents(n);
          for (const cr of r.getClientRects()) lines.push(rect(cr));
        }
        return {text: text.join(" "), control: controls.indexOf(l.control), lines};
      });
      res.submissions = fills.map(fill => {
        form.reset();
        for (const [name, value] of Object.entries(fill)) {
          const el = form.elements.namedItem(name);
          if (!el) return {error: "the form has no field named " + name};
          el.value = value;
        }
        return {query: new URLSearchParams(new FormData(form)).toString(), valid: form.checkValidity()};
      });
      form.reset();
    }
    out.textContent = JSON.stringify(res);
  } catch (e) {
    out.textContent = JSON.stringify({error: String(e && e.stack || e)});
  }
});
</script>
`

// box is an element's box in CSS pixels, from getBoundingClientRect.
type box struct{ X, Y, W, H float64 }

func (b box) right() float64  { return b.X + b.W }
func (b box) bottom() float64 { return b.Y + b.H }
func (b box) String() string {
	return fmt.Sprintf("[x %.0f..%.0f, y %.0f..%.0f]", b.X, b.right(), b.Y, b.bottom())
}

// overlaps reports whether b and o share more than overlapSlack px both ways.
func (b box) overlaps(o box) bool {
	return b.X < o.right()-overlapSlack && o.X < b.right()-overlapSlack &&
		b.Y < o.bottom()-overlapSlack && o.Y < b.bottom()-overlapSlack
}

// union is the smallest box holding all of bs.
func union(bs []box) box {
	u := bs[0]
	for _, b := range bs[1:] {
		x, y := min(u.X, b.X), min(u.Y, b.Y)
		u = box{x, y, max(u.right(), b.right()) - x, max(u.bottom(), b.bottom()) - y}
	}
	return u
}

// formControl is one element of form.elements.
type formControl struct {
	Tag, Type, Name string
	Box             box
	Visible         bool
	Options         []string
}

// formLabel is one <label> of the form: its text, the index of the
// control it labels (-1: none) and its text's line boxes.
type formLabel struct {
	Text    string
	Control int
	Lines   []box
}

// landingBoxes is what boxesScript reports.
type landingBoxes struct {
	Error          string
	Forms          int
	Viewport       int
	ScrollWidth    int
	Action, Method string
	Controls       []formControl
	Labels         []formLabel
	Submissions    []struct {
		Error, Query string
		Valid        bool
	}
}

// formFill is one way of filling in the form, and what should come of it.
type formFill struct {
	name string
	// fields: field name to value; the others keep their defaults.
	fields map[string]string
	// valid: the browser lets the form be submitted (required, pattern).
	valid bool
	// query is the query string the browser submits (when valid), and
	// debugLine the start of the debug probe's answer to it.
	query, debugLine string
}

// TestLandingPageInBrowser renders the landing page of the exporter
// started with --demo (two accounts) in headless chromium, at each of
// landingViews: the debug probe form's labels and fields do not overlap,
// each label sits beside or above its field, the fields are wide enough
// to type in, nothing leaves the window; the account select offers the
// demo's accounts; and each of a table of fills of the form is submitted,
// or refused, as the browser would, and answered by the exporter.
// Screenshots go to $MEDIAINTEL_CI_WORK (.ci/run) or the test's temporary
// directory.
func TestLandingPageInBrowser(t *testing.T) {
	chromium := testutil.RequireTool(t, "chromium")
	lab := demoProject(t, mitest.DemoLabInventory(), mitest.DemoSharedWorkspace)
	// A workspace of the first account only: the lab account has no such
	// workspace, so a probe sent to lab would be refused.
	first := demoWorkspaceOnlyIn(t, mitest.DemoInventory(), mitest.DemoLabInventory())
	fills := []formFill{
		{
			name: "account and workspace", fields: map[string]string{"account": "lab", "workspace": mitest.DemoSharedWorkspace}, valid: true,
			query:     "account=lab&workspace=" + mitest.DemoSharedWorkspace + "&project=&debug=true",
			debugLine: "Debug probe of account lab, workspace=" + mitest.DemoSharedWorkspace + ",",
		},
		{
			name: "one project", fields: map[string]string{"account": "lab", "workspace": mitest.DemoSharedWorkspace, "project": lab}, valid: true,
			query:     "account=lab&workspace=" + mitest.DemoSharedWorkspace + "&project=" + lab + "&debug=true",
			debugLine: "Debug probe of account lab, workspace=" + mitest.DemoSharedWorkspace + " project=" + lab + ",",
		},
		{
			name: "the first account by default", fields: map[string]string{"workspace": first}, valid: true,
			query:     "account=default&workspace=" + first + "&project=&debug=true",
			debugLine: "Debug probe of account default, workspace=" + first + ",",
		},
		{name: "no workspace", fields: map[string]string{"account": "lab"}},
		{name: "a workspace name the API refuses", fields: map[string]string{"workspace": "Media_Prod"}},
		{name: "project 0", fields: map[string]string{"workspace": mitest.DemoSharedWorkspace, "project": "0"}},
		{name: "a project that is no number", fields: map[string]string{"workspace": mitest.DemoSharedWorkspace, "project": "12a"}},
	}
	exp := startExporter(t, baseEnv(), nil, "--demo")
	proxy := landingProxy(t, "http://"+exp.Addr, fills)

	shots := os.Getenv("MEDIAINTEL_CI_WORK")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range landingViews {
		t.Run(v.name, func(t *testing.T) {
			page, window, height := proxy.URL+"/", v.width, windowHeight
			if v.frame {
				page, window, height = fmt.Sprintf("%s/frame?width=%d", proxy.URL, v.width), frameWindow, frameWindowHeight
			}
			boxes := measureLanding(t, chromium, page, window, height, v.width)
			for _, l := range boxes.Labels {
				if l.Control >= 0 && len(l.Lines) > 0 {
					c := boxes.Controls[l.Control]
					t.Logf("label %q %v, %s %s %v", l.Text, union(l.Lines), c.Tag, c.Name, c.Box)
				}
			}
			for _, p := range layoutProblems(boxes, v.width, v.wholePage) {
				t.Error(p)
			}
			checkAccounts(t, boxes, "default", "lab")
			checkSubmissions(t, boxes, fills)

			shot := filepath.Join(shots, fmt.Sprintf("landing-%dpx.png", v.width))
			runChromium(t, chromium, window, height, "--screenshot="+shot, page)
			checkScreenshot(t, shot, window)
			t.Logf("screenshot of the landing page at %d px: %s", v.width, shot)
		})
	}
}

// demoProject returns the ID of the first project of workspace ws in inv.
func demoProject(t *testing.T, inv *mitest.Inventory, ws string) string {
	t.Helper()
	for _, w := range inv.Workspaces {
		if w.Name == ws && len(w.Projects) > 0 {
			return strconv.FormatInt(w.Projects[0].ID, 10)
		}
	}
	t.Fatalf("the demo inventory has no workspace %s with a project", ws)
	return ""
}

// demoWorkspaceOnlyIn returns the name of a workspace of inv that other
// lacks.
func demoWorkspaceOnlyIn(t *testing.T, inv, other *mitest.Inventory) string {
	t.Helper()
	for _, w := range inv.Workspaces {
		if !slices.ContainsFunc(other.Workspaces, func(o *mitest.Workspace) bool { return o.Name == w.Name }) {
			return w.Name
		}
	}
	t.Fatal("every workspace of the demo's first account is also the lab account's")
	return ""
}

// checkAccounts checks that the form's account select offers accounts,
// in that order.
func checkAccounts(t *testing.T, page *landingBoxes, accounts ...string) {
	t.Helper()
	for _, c := range page.Controls {
		if c.Name == "account" {
			if c.Tag != "select" || !slices.Equal(c.Options, accounts) {
				t.Errorf("account field: a %s offering %q; want a select offering %q", c.Tag, c.Options, accounts)
			}
			return
		}
	}
	t.Errorf("the form has no account field; want a select offering %q", accounts)
}

// landingProxy serves the exporter at target, with boxesScript (filled
// with fills) appended to the landing page's body, and framePage at
// /frame?width=N.
func landingProxy(t *testing.T, target string, fills []formFill) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	fields := make([]map[string]string, len(fills))
	for i, f := range fills {
		fields[i] = f.fields
	}
	fj, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(boxesScript, fj)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/" {
			return nil
		}
		if r.StatusCode != http.StatusOK {
			return fmt.Errorf("landing page: %s", r.Status)
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = r.Body.Close()
		if err != nil {
			return err
		}
		i := bytes.LastIndex(body, []byte("</body>"))
		if i < 0 {
			return errors.New("landing page has no </body>")
		}
		body = append(body[:i:i], append([]byte(script), body[i:]...)...)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		t.Errorf("proxy: %s %s: %v", r.Method, r.URL, err)
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	mux := http.NewServeMux()
	mux.Handle("/", rp)
	mux.HandleFunc("/frame", func(w http.ResponseWriter, r *http.Request) {
		width, err := strconv.Atoi(r.URL.Query().Get("width"))
		if err != nil || width < 1 {
			http.Error(w, "want width=N", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(w, framePage, width)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

var boxesRE = regexp.MustCompile(`(?s)<pre id="boxes"[^>]*>(.*?)</pre>`)

// measureLanding renders target (the proxied landing page, or framePage)
// in a window of window x height px and returns what boxesScript found in
// a viewport of width px.
func measureLanding(t *testing.T, chromium, target string, window, height, width int) *landingBoxes {
	t.Helper()
	dom := runChromium(t, chromium, window, height, "--dump-dom", target)
	m := boxesRE.FindSubmatch(dom)
	if m == nil || len(bytes.TrimSpace(m[1])) == 0 {
		t.Fatalf("the dumped DOM has no boxes (did the page's script run?):\n%.2000s", dom)
	}
	var page landingBoxes
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &page); err != nil {
		t.Fatalf("decoding the boxes: %v\n%s", err, m[1])
	}
	if page.Error != "" {
		t.Fatalf("the page's script failed: %s", page.Error)
	}
	if page.Forms != 1 {
		t.Fatalf("%d forms with an action ending in probe; want one", page.Forms)
	}
	if page.Viewport != width {
		t.Fatalf("the viewport is %d px wide; want %d", page.Viewport, width)
	}
	return &page
}

// layoutProblems lists what is wrong with the form's layout at width,
// and with the whole page's width if wholePage.
func layoutProblems(page *landingBoxes, width int, wholePage bool) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if wholePage && page.ScrollWidth > width {
		bad("the page scrolls sideways: %d px wide in a %d px window", page.ScrollWidth, width)
	}
	inView := func(b box) bool { return b.X >= 0 && b.right() <= float64(width) }

	// The fields, each labelled once, and the submit button.
	labelled := map[int]int{}
	for _, l := range page.Labels {
		labelled[l.Control]++
	}
	fields := map[string]bool{}
	buttons := 0
	for i, c := range page.Controls {
		switch {
		case c.Type == "hidden":
			continue
		case c.Type == "submit":
			buttons++
			if !c.Visible || c.Box.W < 1 || c.Box.H < 1 || !inView(c.Box) {
				bad("the submit button is not visible in the window: visible %v, box %v", c.Visible, c.Box)
			}
			continue
		}
		fields[c.Name] = true
		if !c.Visible || c.Box.H < 10 || !inView(c.Box) {
			bad("field %s is not visible in the window: visible %v, box %v", c.Name, c.Visible, c.Box)
		}
		if c.Box.W < minControlWidth {
			bad("field %s is %.0f px wide; want at least %d", c.Name, c.Box.W, minControlWidth)
		}
		if labelled[i] != 1 {
			bad("field %s has %d labels; want one", c.Name, labelled[i])
		}
	}
	for _, name := range []string{"account", "workspace", "project"} {
		if !fields[name] {
			bad("the form has no visible field %s", name)
		}
	}
	if buttons != 1 {
		bad("%d submit buttons; want one", buttons)
	}

	// Each label's text beside or above its own control.
	for _, l := range page.Labels {
		if len(l.Lines) == 0 || union(l.Lines).W < 1 {
			bad("label %q has no visible text (are fonts installed? Debian: fonts-dejavu-core)", l.Text)
			continue
		}
		if l.Control < 0 {
			bad("label %q labels no control", l.Text)
			continue
		}
		t, c := union(l.Lines), page.Controls[l.Control].Box
		if !inView(t) {
			bad("label %q is not in the window: text %v", l.Text, t)
		}
		beside := t.right() <= c.X+overlapSlack && c.X-t.right() <= maxLabelGap && t.Y < c.bottom() && c.Y < t.bottom()
		above := t.bottom() <= c.Y+overlapSlack && c.Y-t.bottom() <= maxLabelAbove && t.X < c.right() && c.X < t.right()
		if !beside && !above {
			bad("label %q is neither beside nor above its control %s: text %v, control %v", l.Text, page.Controls[l.Control].Name, t, c)
		}
	}

	// No two of the labels' text lines and the visible controls overlap.
	type item struct {
		what  string
		owner int // label index for label lines, -1 for controls
		box   box
	}
	var items []item
	for i, l := range page.Labels {
		for _, b := range l.Lines {
			items = append(items, item{fmt.Sprintf("label %q", l.Text), i, b})
		}
	}
	for _, c := range page.Controls {
		if c.Type != "hidden" {
			items = append(items, item{strings.TrimSpace(c.Tag + " " + c.Name), -1, c.Box})
		}
	}
	seen := map[[2]string]bool{}
	for i, a := range items {
		for _, b := range items[i+1:] {
			if a.owner >= 0 && a.owner == b.owner || !a.box.overlaps(b.box) || seen[[2]string{a.what, b.what}] {
				continue
			}
			seen[[2]string{a.what, b.what}] = true
			bad("%s %v overlaps %s %v", a.what, a.box, b.what, b.box)
		}
	}
	return probs
}

// checkSubmissions checks the form's target and, for each fill, the query
// the browser built, whether it would submit it, and the exporter's
// answer to the URL it would go to.
func checkSubmissions(t *testing.T, page *landingBoxes, fills []formFill) {
	t.Helper()
	if page.Method != "get" {
		t.Errorf("form method %q; want get", page.Method)
	}
	action, err := url.Parse(page.Action)
	if err != nil || action.Path != "/probe" {
		t.Fatalf("form action %q; want the exporter's /probe (%v)", page.Action, err)
	}
	if len(page.Submissions) != len(fills) {
		t.Fatalf("%d submissions; want %d", len(page.Submissions), len(fills))
	}
	c := &http.Client{Timeout: 60 * time.Second}
	for i, f := range fills {
		got := page.Submissions[i]
		if got.Error != "" {
			t.Errorf("%s: %s", f.name, got.Error)
			continue
		}
		if got.Valid != f.valid {
			t.Errorf("%s: the form would be submitted: %v, want %v (query %s)", f.name, got.Valid, f.valid, got.Query)
		}
		if !f.valid {
			continue
		}
		if got.Query != f.query {
			t.Errorf("%s: the browser submits %q; want %q", f.name, got.Query, f.query)
		}
		u := *action
		u.RawQuery = got.Query
		resp, err := c.Get(u.String())
		if err != nil {
			t.Errorf("%s: GET %s: %v", f.name, &u, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), f.debugLine) {
			t.Errorf("%s: GET %s: %s (%v); want 200 starting %q:\n%.500s", f.name, &u, resp.Status, err, f.debugLine, body)
		}
	}
}

// checkScreenshot checks that chromium wrote a PNG of the window's width.
func checkScreenshot(t *testing.T, path string, width int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if cfg.Width != width {
		t.Errorf("screenshot %s is %d px wide; want %d", path, cfg.Width, width)
	}
}

// runChromium runs headless chromium in a window of width x height px with args
// and a profile, home and cache of its own, and returns its stdout. It is
// killed with its whole process group after chromiumTimeout, and on
// return the group and any process naming its home are killed, so that no
// helper process outlives the test.
func runChromium(t *testing.T, chromium string, width, height int, args ...string) []byte {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	args = append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-crash-reporter", "--hide-scrollbars",
		"--user-data-dir=" + filepath.Join(home, "profile"),
		fmt.Sprintf("--window-size=%d,%d", width, height),
	}, args...)
	cmd := exec.CommandContext(ctx, chromium, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_CACHE_HOME=" + home}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its helpers, if any are left
	}
	sweepProcesses(t, home)
	if ctx.Err() != nil {
		t.Fatalf("chromium %s: killed after %v\n%s", strings.Join(args, " "), chromiumTimeout, stderr.Bytes())
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// sweepProcesses kills every process whose command line names dir, a
// chromium run's own home, and waits until they are gone (10 s at most).
// Chromium's crash handlers leave its process group (they name their
// database there, under XDG_CONFIG_HOME); they end by themselves soon
// after the browser, but a test must not count on that.
func sweepProcesses(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := processesNaming(dir)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("chromium's processes %v still run 10 s after SIGKILL", pids)
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesNaming returns the IDs of the processes whose command line
// holds dir (zombies have none).
func processesNaming(dir string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
