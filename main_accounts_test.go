package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// The tests of issue #23's accounts, through the built binary: several
// accounts of every credential source in one configuration file, against
// one API simulator with an account each, the server role's keys from a
// metadata service on loopback.

// exposition is a text exposition as a map from series (name{labels} as
// the exporter writes it, labels sorted by name) to value.
type exposition map[string]float64

// parseExposition reads the samples of a text exposition; a line it
// cannot read fails the test.
func parseExposition(t *testing.T, body string) exposition {
	t.Helper()
	out := exposition{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("exposition line without a value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// series writes name{labels} as the exporter does: label names sorted.
func series(name string, labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// withAccount returns the series of e whose labels include account="a",
// sorted.
func (e exposition) withAccount(a string) []string {
	var out []string
	for s := range e {
		if strings.Contains(s, `account="`+a+`"`) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// wsSpec and projSpec describe a small inventory whose figures a test
// can compute: every asset has a documented format, a size and, for a
// video, a duration.
type wsSpec struct {
	name     string
	monthly  int64
	projects []projSpec
}

type projSpec struct {
	id     int64
	name   string
	base   bool
	assets int
}

// specFormats are the formats the assets of a spec take in turn.
var specFormats = []string{"mp4", "mov", "png", "jpg", "mkv", "webm", "heic"}

// allFormats are the exporter's format classes (the format label).
var allFormats = []string{"mp4", "mkv", "mov", "webm", "png", "jpg", "heic", "other", "unknown"}

func isVideo(format string) bool {
	return format == "mp4" || format == "mov" || format == "mkv" || format == "webm"
}

// specAsset is asset i of project p: its format, size and duration
// follow from p's ID and i.
func specAsset(p projSpec, i int) (format string, size, durationMs int64) {
	format = specFormats[(int(p.id)+i)%len(specFormats)]
	size = 1_000_000 + (p.id*7_919+int64(i)*104_729)%50_000_000
	if isVideo(format) {
		durationMs = 10_000 + (p.id*31+int64(i)*977)%3_000_000
	}
	return format, size, durationMs
}

// buildInventory is the simulator inventory of ws. The assets are old
// (2026-01-15): no status window of a test reaches them.
func buildInventory(ws ...wsSpec) *mitest.Inventory {
	inv := &mitest.Inventory{}
	for _, w := range ws {
		mw := &mitest.Workspace{Name: w.name, MonthlyAnalysisCount: w.monthly}
		for _, p := range w.projects {
			mp := &mitest.Project{ID: p.id, Name: p.name, IsBase: p.base}
			for i := range p.assets {
				format, size, dur := specAsset(p, i)
				meta := &mitest.Meta{Format: mitest.Ptr(format), Size: mitest.Ptr(size), Resolution: mitest.Ptr("1920x1080")}
				if dur > 0 {
					meta.DurationMs = mitest.Ptr(dur)
				}
				at := fmt.Sprintf("2026-01-15T10:%02d:%02d", i/60%60, i%60)
				mp.Assets = append(mp.Assets, mitest.Asset{
					ID: mitest.Ptr(p.id*100_000 + int64(i)), FileName: mitest.Ptr(fmt.Sprintf("asset-%d.%s", i, format)), Meta: meta,
					CreatedTime: mitest.Ptr(at), UpdatedTime: mitest.Ptr(at), CreateUserName: mitest.Ptr("tester"), UpdateUserName: mitest.Ptr("tester"),
				})
			}
			mw.Projects = append(mw.Projects, mp)
		}
		inv.Workspaces = append(inv.Workspaces, mw)
	}
	return inv
}

// expectedFigures are the series a scrape of account over ws must show,
// with their values: per workspace its projects and monthly analyses, per
// project its info, asset count, and per format class its assets, bytes
// and seconds.
func expectedFigures(account string, ws ...wsSpec) exposition {
	out := exposition{}
	for _, w := range ws {
		wl := map[string]string{"account": account, "workspace": w.name}
		out[series("ncp_mediaintel_workspace_projects", wl)] = float64(len(w.projects))
		out[series("ncp_mediaintel_workspace_monthly_analyses", wl)] = float64(w.monthly)
		out[series("ncp_mediaintel_workspace_scrape_success", wl)] = 1
		for _, p := range w.projects {
			id := strconv.FormatInt(p.id, 10)
			pl := map[string]string{"account": account, "workspace": w.name, "project_id": id}
			out[series("ncp_mediaintel_project_info", map[string]string{"account": account, "workspace": w.name, "project_id": id,
				"project_name": p.name, "base_project": strconv.FormatBool(p.base)})] = 1
			out[series("ncp_mediaintel_project_scrape_success", pl)] = 1
			out[series("ncp_mediaintel_project_assets_reported", pl)] = float64(p.assets)
			count, size, dur := map[string]float64{}, map[string]float64{}, map[string]float64{}
			for i := range p.assets {
				f, s, d := specAsset(p, i)
				count[f]++
				size[f] += float64(s)
				dur[f] += float64(d) / 1000
			}
			for _, f := range allFormats {
				fl := map[string]string{"account": account, "workspace": w.name, "project_id": id, "format": f}
				out[series("ncp_mediaintel_assets", fl)] = count[f]
				out[series("ncp_mediaintel_assets_size_bytes", fl)] = size[f]
				out[series("ncp_mediaintel_assets_duration_seconds", fl)] = dur[f]
			}
		}
	}
	return out
}

// checkFigures returns what in got differs from want: a series missing or
// with another value, and any workspace_projects series of the account
// that want does not have (a workspace of another account).
func checkFigures(got, want exposition, account string) []string {
	var bad []string
	for s, w := range want {
		g, ok := got[s]
		switch {
		case !ok && w == 0 && strings.Contains(s, "format="):
			// A format class may be left out where it counts nothing.
		case !ok:
			bad = append(bad, "missing "+s)
		case math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)):
			bad = append(bad, fmt.Sprintf("%s = %v, want %v", s, g, w))
		}
	}
	for _, s := range got.withAccount(account) {
		if strings.HasPrefix(s, "ncp_mediaintel_workspace_projects{") || strings.HasPrefix(s, "ncp_mediaintel_project_info{") {
			if _, ok := want[s]; !ok {
				bad = append(bad, "unexpected "+s)
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// writeFiles writes each path (relative to dir) with its content, making
// folders as needed, and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sumSeries adds up the values of the series of name whose labels
// include every one of match ("k=\"v\"" each).
func (e exposition) sumSeries(name string, match ...string) float64 {
	var n float64
	for s, v := range e {
		if !strings.HasPrefix(s, name+"{") {
			continue
		}
		ok := true
		for _, m := range match {
			if !strings.Contains(s, m) {
				ok = false
				break
			}
		}
		if ok {
			n += v
		}
	}
	return n
}

// getStatus fetches u and returns the status and body; a transport
// error is returned as such.
func getStatus(c *http.Client, u string) (int, string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// The five accounts of TestAccountsScrapeExactlyWithExpiringKeys and
// TestSecretNeverLeaksAnySource: two of key files with a workspace of the
// same name, one of environment variables, one of a configure file's
// profile, one of the server role.
var (
	prodSpec = []wsSpec{
		{"media-prod", 17, []projSpec{{101, "Base Project", true, 23}, {102, "news-clips", false, 41}}},
		{"prod-archive", 3, []projSpec{{111, "Base Project", true, 9}}},
	}
	labSpec = []wsSpec{
		{"media-prod", 5, []projSpec{{201, "Base Project", true, 12}, {202, "model-eval", false, 30}, {203, "dubbing", false, 0}}},
	}
	ciSpec = []wsSpec{
		{"ci-media", 2, []projSpec{{301, "Base Project", true, 7}, {302, "fixtures", false, 19}}},
	}
	cliSpec = []wsSpec{
		{"cli-media", 11, []projSpec{{401, "Base Project", true, 15}}},
		{"cli-second", 0, []projSpec{{411, "Base Project", true, 4}, {412, "drafts", false, 26}}},
	}
	vmSpec = []wsSpec{
		{"vm-media", 29, []projSpec{{501, "Base Project", true, 33}, {502, "live", false, 8}}},
	}
)

// fiveAccounts is a simulator with the five accounts, the files of their
// static keys, and the configuration file naming them. The simulator's
// account of the server role, vm, is reached with vmBoot, which is never
// handed out: it accepts the keys the caller's metadata service adds with
// vm.AddKey.
type fiveAccounts struct {
	sim        *mitest.Server
	configFile string
	env        []string
	keys       map[string][2]string // account -> access key, secret key (static ones)
	specs      map[string][]wsSpec
	vm         *mitest.Account
	vmBoot     string // the on-vm account's simulator key, never handed out
}

func newFiveAccounts(t *testing.T, tag string) *fiveAccounts {
	t.Helper()
	keys := map[string][2]string{
		"prod": {"ncp_iam_" + tag + "PRODAK01", "ncp_iam_" + tag + "+Prod/Secret=0001"},
		"lab":  {"ncp_iam_" + tag + "LABAK002", "ncp_iam_" + tag + "+Lab/Secret=00002"},
		"ci":   {"ncp_iam_" + tag + "CIAK0003", "ncp_iam_" + tag + "+Ci/Secret=000003"},
		"cli":  {"ncp_iam_" + tag + "CLIAK004", "ncp_iam_" + tag + "+Cli/Secret=00004"},
	}
	f := &fiveAccounts{keys: keys, vmBoot: "ncp_iam_" + tag + "VMBOOT05",
		specs: map[string][]wsSpec{"prod": prodSpec, "lab": labSpec, "ci": ciSpec, "cli": cliSpec, "on-vm": vmSpec}}
	f.sim = mitest.NewServer(buildInventory(prodSpec...),
		mitest.WithCredentials(keys["prod"][0], keys["prod"][1]),
		mitest.WithAccount(keys["lab"][0], keys["lab"][1], buildInventory(labSpec...)),
		mitest.WithAccount(keys["ci"][0], keys["ci"][1], buildInventory(ciSpec...)),
		mitest.WithAccount(keys["cli"][0], keys["cli"][1], buildInventory(cliSpec...)),
		mitest.WithAccount(f.vmBoot, "ncp_iam_"+tag+"+VmBoot/NeverUsed", buildInventory(vmSpec...)))
	t.Cleanup(f.sim.Close)
	f.vm = f.sim.Account(f.vmBoot)

	dir := t.TempDir()
	// The configure file's DEFAULT section holds the ci account's key: an
	// exporter that read it instead of the profile's would show ci's
	// figures as cli's.
	configure := fmt.Sprintf("[DEFAULT]\nncloud_access_key_id = %s\nncloud_secret_access_key = %s\nncloud_api_url = https://ncloud.apigw.ntruss.com\n\n"+
		"[media]\nncloud_access_key_id = %s\nncloud_secret_access_key = %s\n", keys["ci"][0], keys["ci"][1], keys["cli"][0], keys["cli"][1])
	writeFiles(t, dir, map[string]string{
		"secrets/prod/access-key": keys["prod"][0] + "\n", "secrets/prod/secret-key": keys["prod"][1] + "\n",
		"lab-access-key": "  " + keys["lab"][0] + "\n", "lab-secret-key": keys["lab"][1],
		"ncloud/configure": configure,
	})
	f.configFile = filepath.Join(dir, "config.yml")
	// Relative paths are taken from the file's folder; absolute ones as
	// they are.
	writeFiles(t, dir, map[string]string{"config.yml": fmt.Sprintf(`accounts:
  - name: prod
    api_url: %[1]s
    access_key_file: secrets/prod/access-key
    secret_key_file: secrets/prod/secret-key
    labels: {team: video, env: prod}
  - name: lab
    api_url: %[1]s
    access_key_file: %[2]s
    secret_key_file: %[3]s
  - name: ci
    api_url: %[1]s
    access_key_env: CI_NCP_ACCESS_KEY
    secret_key_env: CI_NCP_SECRET_KEY
  - name: cli
    api_url: %[1]s
    ncloud_configure: ncloud/configure
    profile: media
  - name: on-vm
    api_url: %[1]s
    server_role: true
    labels: {env: vm}
`, f.sim.URL, filepath.Join(dir, "lab-access-key"), filepath.Join(dir, "lab-secret-key"))})
	f.env = []string{"CI_NCP_ACCESS_KEY=" + keys["ci"][0], "CI_NCP_SECRET_KEY=" + keys["ci"][1]}
	return f
}

// names are the accounts, in the file's order.
func (f *fiveAccounts) names() []string { return []string{"prod", "lab", "ci", "cli", "on-vm"} }

// simAccount is the simulator's account of the exporter's account name.
func (f *fiveAccounts) simAccount(name string) *mitest.Account {
	if name == "on-vm" {
		return f.vm
	}
	return f.sim.Account(f.keys[name][0])
}

// TestAccountsScrapeExactlyWithExpiringKeys is issue #23's first
// done-when: two accounts with a shared workspace name, a configure-file
// account and a server-role account (keys that live one minute) scrape
// exactly, each with its own key, for several key lifetimes, with no
// request sent on an expired key. One configuration file names five
// accounts (key files twice, environment variables, a configure file's
// profile, the server role); /metrics is scraped every 3 s for 200 s,
// more than three key lifetimes, and every scrape must show every
// account's figures exactly. It takes about 3.5 minutes.
func TestAccountsScrapeExactlyWithExpiringKeys(t *testing.T) {
	t.Parallel()
	const (
		lifetime = time.Minute
		runFor   = 200 * time.Second
		every    = 3 * time.Second
	)
	f := newFiveAccounts(t, "EXACT")
	md := testutil.StartMetadataServer(t, testutil.MetadataOptions{Lifetime: lifetime, RequireToken: true,
		Issue: func(ak, sk string, exp time.Time) { f.vm.AddKey(ak, sk, exp) }})
	env := baseEnv(append(f.env, "NCLOUD_METADATA_API_ENDPOINT="+md.URL)...)
	p := startExporter(t, env, nil, "--config.file="+f.configFile)

	want := map[string]exposition{}
	for _, name := range f.names() {
		want[name] = expectedFigures(name, f.specs[name]...)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	var (
		scrapes, failures int
		expiries          []float64
	)
	for time.Since(start) < runFor && failures < 5 {
		at := time.Now()
		status, body, err := getStatus(c, "http://"+p.Addr+"/metrics")
		if err != nil || status != http.StatusOK {
			t.Errorf("scrape at +%v: status %d, error %v:\n%.500s", at.Sub(start).Round(time.Second), status, err, body)
			failures++
			continue
		}
		scrapes++
		got := parseExposition(t, body)
		for _, name := range f.names() {
			if v, ok := got[series("ncp_mediaintel_up", map[string]string{"account": name})]; v != 1 || !ok {
				t.Errorf("scrape at +%v: up{account=%q} = %v (present %v)", at.Sub(start).Round(time.Second), name, v, ok)
				failures++
			}
			if bad := checkFigures(got, want[name], name); len(bad) > 0 {
				t.Errorf("scrape at +%v: account %s's figures are not exact:\n  %s", at.Sub(start).Round(time.Second), name, strings.Join(bad[:min(len(bad), 10)], "\n  "))
				failures++
			}
			_, has := got[series("ncp_mediaintel_credentials_expiry_timestamp_seconds", map[string]string{"account": name})]
			if has != (name == "on-vm") {
				t.Errorf("scrape at +%v: credentials_expiry_timestamp_seconds{account=%q} present: %v", at.Sub(start).Round(time.Second), name, has)
				failures++
			}
		}
		exp := got[series("ncp_mediaintel_credentials_expiry_timestamp_seconds", map[string]string{"account": "on-vm"})]
		switch {
		case exp <= float64(at.Unix()):
			t.Errorf("scrape at +%v: the server role's key expires at %v, before the scrape", at.Sub(start).Round(time.Second), exp)
			failures++
		case len(expiries) > 0 && exp < expiries[len(expiries)-1]:
			t.Errorf("scrape at +%v: the server role's key expiry went back from %v to %v", at.Sub(start).Round(time.Second), expiries[len(expiries)-1], exp)
			failures++
		}
		expiries = append(expiries, exp)
		time.Sleep(time.Until(at.Add(every)))
	}
	took := time.Since(start)
	distinct := slices.Compact(slices.Clone(expiries))
	keys := md.Keys()
	t.Logf("%d scrapes in %v; the server role handed out %d keys of %v; the exporter showed %d expiry times", scrapes, took.Round(time.Second), len(keys), lifetime, len(distinct))
	if t.Failed() {
		return
	}
	if took < 3*lifetime || scrapes < int(runFor/every)*3/4 {
		t.Errorf("%d scrapes over %v: want one every %v over at least three key lifetimes", scrapes, took, every)
	}
	// Renewed at half its life: a new key about every 30 s.
	if len(keys) < 5 || len(distinct) < 5 {
		t.Errorf("%d keys handed out, %d expiry times shown over %v: the key was not renewed through its lifetimes", len(keys), len(distinct), took)
	}
	issued := map[float64]bool{}
	for _, k := range keys {
		issued[float64(k.Expires.Unix())] = true
	}
	for _, exp := range distinct {
		if !issued[exp] {
			t.Errorf("the exporter showed the expiry %v, which no key handed out had", exp)
		}
	}

	// No request on an expired key; every request with the account's own
	// keys, and every key of the role used.
	var total int64
	for _, name := range f.names() {
		a := f.simAccount(name)
		total += a.TotalRequests()
		if n := a.ExpiredKeyRequests(); n != 0 {
			t.Errorf("account %s: %d requests with an expired key", name, n)
		}
		var own int64
		if name == "on-vm" {
			for i, k := range keys {
				n := f.sim.RequestsWithKey(k.AccessKey)
				own += n
				if n == 0 && i < len(keys)-1 {
					t.Errorf("the server role's key %d of %d (fetched at +%v) was never used", i+1, len(keys), k.Fetched.Sub(start).Round(time.Second))
				}
			}
			if n := f.sim.RequestsWithKey(f.vmBoot); n != 0 {
				t.Errorf("%d requests with the on-vm account's key that the metadata service never handed out", n)
			}
		} else {
			own = f.sim.RequestsWithKey(f.keys[name][0])
		}
		if own != a.TotalRequests() || own == 0 {
			t.Errorf("account %s: %d requests, %d of them with its own keys", name, a.TotalRequests(), own)
		}
	}
	if all := f.sim.TotalRequests(); all != total {
		t.Errorf("the simulator received %d requests, its accounts' keys signed %d: some carried another key", all, total)
	}
	// The exporter's request counters agree, account by account: each
	// account of the exporter sent exactly what the simulator's account of
	// its key received.
	internal := parseExposition(t, p.Get(t, "/internal/metrics"))
	for _, name := range f.names() {
		sent := internal.sumSeries("ncp_mediaintel_api_requests_total", `account="`+name+`"`)
		if got := f.simAccount(name).TotalRequests(); int64(sent) != got {
			t.Errorf("account %s: the exporter counts %v requests sent, the simulator's account received %d", name, sent, got)
		}
	}
	if md.Refused() != 0 {
		t.Errorf("the metadata service refused %d requests without a session token", md.Refused())
	}
	// account_info: the union of the static labels, "" where an account
	// has none.
	final := parseExposition(t, p.Get(t, "/metrics"))
	for name, labels := range map[string]map[string]string{
		"prod": {"team": "video", "env": "prod"}, "lab": {"team": "", "env": ""}, "on-vm": {"team": "", "env": "vm"},
	} {
		labels["account"] = name
		if v, ok := final[series("ncp_mediaintel_account_info", labels)]; !ok || v != 1 {
			t.Errorf("no %s 1", series("ncp_mediaintel_account_info", labels))
		}
	}
}

// TestConfigFileRefusedAtStart: a configuration file that does not parse,
// or names an unknown key, an account twice or two credential sources
// stops the exporter at start with status 1 and a message naming the
// file, the line and the account.
func TestConfigFileRefusedAtStart(t *testing.T) {
	t.Parallel()
	bin := testutil.BuildExporter(t)
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"not YAML", "accounts:\n  - name: prod\n    server_role: true\n  - name: lab\n    access_key_file: x: y\n",
			`:5: account \"lab\": not valid YAML: mapping values are not allowed in this context`},
		{"unknown key", "accounts:\n  - name: prod\n    server_role: true\n    concurency: 8\n",
			`:4: account \"prod\": unknown key \"concurency\"`},
		{"duplicate account", "accounts:\n  - name: prod\n    server_role: true\n  - name: lab\n    server_role: true\n  - name: prod\n    access_key_env: A\n    secret_key_env: B\n",
			`:6: account \"prod\": name already used by the account at line 2`},
		{"two credential sources", "accounts:\n  - name: prod\n    server_role: true\n  - name: lab\n    ncloud_configure: /home/me/.ncloud/configure\n    access_key_env: LAB_ACCESS_KEY\n    secret_key_env: LAB_SECRET_KEY\n",
			`:6: account \"lab\": more than one credential source: ncloud_configure (line 5) and access_key_env (line 6); give exactly one`},
		{"no credential source", "accounts:\n  - name: prod\n    server_role: true\n  - name: lab\n    rate_limit: 2\n",
			`:4: account \"lab\": no credential source`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(writeFiles(t, t.TempDir(), map[string]string{"config.yml": tc.yaml}), "config.yml")
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--config.file="+path, "--web.listen-address="+testutil.FreeAddr(t))
			cmd.Env = baseEnv()
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("the exporter still ran 30 s after it was given a bad configuration file:\n%s", out)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1:\n%s", err, out)
			}
			if want := path + tc.want; !strings.Contains(string(out), want) {
				t.Errorf("the output lacks %s:\n%s", want, out)
			}
			if strings.Contains(string(out), "Listening on") {
				t.Errorf("the exporter listened before refusing its configuration:\n%s", out)
			}
		})
	}
}
