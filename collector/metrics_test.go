package collector

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/scrape"
	"github.com/mediaintel/mediaintel_exporter/status"
)

// result is a Result of account acct with one project of each kind:
// listed, count-only, failed, served from the cache, and failed but with
// figures kept (background mode).
func result(acct string) *scrape.Result {
	var s scrape.Stats
	s.Count[scrape.FormatMP4], s.Bytes[scrape.FormatMP4], s.DurMs[scrape.FormatMP4] = 2, 3000, 90000
	s.Count[scrape.FormatUnknown], s.Bytes[scrape.FormatUnknown], s.DurMs[scrape.FormatUnknown] = 1, 70, 500
	s.Res[scrape.Res1080p], s.Res[scrape.ResUnknown] = 2, 1
	s.Reasons[scrape.ReasonMetadataMissing] = 1
	s.LastCreated, s.LastUpdated = 1745394564, 1745394600
	at := time.Unix(1745394000, 0)
	sum := status.Summary{Recent: 1, SceneSummaries: true}
	sum.Import[status.ImportCompleted], sum.Analysis[status.AnalysisCompleted], sum.SceneSummary[status.SummaryCompleted] = 1, 1, 1
	return &scrape.Result{
		Account: acct, Up: true, Duration: 1500 * time.Millisecond, Timeout: 9500 * time.Millisecond, DiscoveredAt: at,
		Workspaces: []*scrape.WorkspaceResult{{
			Name: "ws-a", Success: true, ProjectCount: 5, Monthly: 42, HasMonthly: true, ReadAt: at,
			Projects: []*scrape.ProjectResult{
				{Workspace: "ws-a", Project: client.Project{ID: 1, Name: "listed", IsBase: true}, Success: true, Read: true, Duration: time.Second, Reported: 3, Stats: &s, ReadAt: at, Status: &sum},
				{Workspace: "ws-a", Project: client.Project{ID: 2, Name: "counted"}, Success: true, Read: true, Duration: time.Second, Reported: 1000, CountOnly: true, ReadAt: at},
				{Workspace: "ws-a", Project: client.Project{ID: 3, Name: "failed"}, Err: &client.Error{StatusCode: 503}, Duration: 2 * time.Second},
				{Workspace: "ws-a", Project: client.Project{ID: 4, Name: "cached"}, Success: true, Read: true, Reported: 3, Stats: &s, ReadAt: at, FromCache: true},
				{Workspace: "ws-a", Project: client.Project{ID: 5, Name: "kept"}, Err: &client.Error{StatusCode: 429}, Read: true, Reported: 3, Stats: &s, ReadAt: at},
			},
		}, {Name: "ws-b", Err: &client.Error{StatusCode: 401, Code: "200"}}},
	}
}

// expose writes the exposition of results in format and returns it.
func expose(t *testing.T, format expfmt.Format, accounts []Account, results []*scrape.Result, opts ResultOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, format)
	if err := WriteResults(enc, accounts, results, opts); err != nil {
		t.Fatal(err)
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// gathered is the text exposition parsed back, as a Gatherer, so that
// testutil compares it with what is wanted whatever the order.
func gathered(t *testing.T, text []byte) prometheus.Gatherer {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}
	// Sorted as a registry gathers them.
	var out []*dto.MetricFamily
	for _, f := range fams {
		slices.SortFunc(f.Metric, func(a, b *dto.Metric) int { return strings.Compare(labelKey(a), labelKey(b)) })
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return out, nil })
}

func labelKey(m *dto.Metric) string {
	var b strings.Builder
	for _, lp := range m.Label {
		b.WriteString(lp.GetName() + "=" + lp.GetValue() + "\x00")
	}
	return b.String()
}

var now = time.Unix(1745394030, 0)

// TestWriteResults compares the exposition of two accounts' Results with
// the text it must produce, for the families where the choices are made.
func TestWriteResults(t *testing.T) {
	accounts := []Account{
		{Name: "lab", Labels: map[string]string{"team": "media"}},
		{Name: "prod", Labels: map[string]string{"env": "production"}, KeyExpiry: time.Unix(1745397600, 0), MaxStaleness: 15 * time.Minute},
	}
	text := expose(t, expfmt.NewFormat(expfmt.TypeTextPlain), accounts, []*scrape.Result{result("lab"), result("prod")}, ResultOptions{CacheAge: true, Now: now})
	const want = `
# HELP ncp_mediaintel_account_info An NCP account the exporter reads; always 1. Its other labels are the account's static labels from the configuration file.
# TYPE ncp_mediaintel_account_info gauge
ncp_mediaintel_account_info{account="lab",env="",team="media"} 1
ncp_mediaintel_account_info{account="prod",env="production",team=""} 1
# HELP ncp_mediaintel_credentials_expiry_timestamp_seconds When the account's current temporary key (server role) expires; absent for a key that does not expire.
# TYPE ncp_mediaintel_credentials_expiry_timestamp_seconds gauge
ncp_mediaintel_credentials_expiry_timestamp_seconds{account="prod"} 1.7453976e+09
# HELP ncp_mediaintel_cache_age_seconds Age of the project's asset figures: 0 when read in this scrape, more when served from the cache (--scrape.cache-ttl).
# TYPE ncp_mediaintel_cache_age_seconds gauge
ncp_mediaintel_cache_age_seconds{account="lab",project_id="1",workspace="ws-a"} 0
ncp_mediaintel_cache_age_seconds{account="lab",project_id="2",workspace="ws-a"} 0
ncp_mediaintel_cache_age_seconds{account="lab",project_id="4",workspace="ws-a"} 30
ncp_mediaintel_cache_age_seconds{account="lab",project_id="5",workspace="ws-a"} 0
ncp_mediaintel_cache_age_seconds{account="prod",project_id="1",workspace="ws-a"} 0
ncp_mediaintel_cache_age_seconds{account="prod",project_id="2",workspace="ws-a"} 0
ncp_mediaintel_cache_age_seconds{account="prod",project_id="4",workspace="ws-a"} 30
ncp_mediaintel_cache_age_seconds{account="prod",project_id="5",workspace="ws-a"} 0
# HELP ncp_mediaintel_project_assets_reported Number of assets in the project as the API reported it (totalCount).
# TYPE ncp_mediaintel_project_assets_reported gauge
ncp_mediaintel_project_assets_reported{account="lab",project_id="1",workspace="ws-a"} 3
ncp_mediaintel_project_assets_reported{account="lab",project_id="2",workspace="ws-a"} 1000
ncp_mediaintel_project_assets_reported{account="lab",project_id="4",workspace="ws-a"} 3
ncp_mediaintel_project_assets_reported{account="lab",project_id="5",workspace="ws-a"} 3
ncp_mediaintel_project_assets_reported{account="prod",project_id="1",workspace="ws-a"} 3
ncp_mediaintel_project_assets_reported{account="prod",project_id="2",workspace="ws-a"} 1000
ncp_mediaintel_project_assets_reported{account="prod",project_id="4",workspace="ws-a"} 3
ncp_mediaintel_project_assets_reported{account="prod",project_id="5",workspace="ws-a"} 3
# HELP ncp_mediaintel_project_scrape_failure 1 while the project's listing failed, for the reason of the first error that failed it (docs/runbook.md, Failure reasons); absent when it succeeded.
# TYPE ncp_mediaintel_project_scrape_failure gauge
ncp_mediaintel_project_scrape_failure{account="lab",project_id="3",reason="server_error",workspace="ws-a"} 1
ncp_mediaintel_project_scrape_failure{account="lab",project_id="5",reason="throttled",workspace="ws-a"} 1
ncp_mediaintel_project_scrape_failure{account="prod",project_id="3",reason="server_error",workspace="ws-a"} 1
ncp_mediaintel_project_scrape_failure{account="prod",project_id="5",reason="throttled",workspace="ws-a"} 1
# HELP ncp_mediaintel_project_last_success_timestamp_seconds When the project's exported figures were read: the end of its latest complete listing (in background mode also after its figures became too old to export).
# TYPE ncp_mediaintel_project_last_success_timestamp_seconds gauge
ncp_mediaintel_project_last_success_timestamp_seconds{account="lab",project_id="1",workspace="ws-a"} 1.745394e+09
ncp_mediaintel_project_last_success_timestamp_seconds{account="lab",project_id="2",workspace="ws-a"} 1.745394e+09
ncp_mediaintel_project_last_success_timestamp_seconds{account="lab",project_id="4",workspace="ws-a"} 1.745394e+09
ncp_mediaintel_project_last_success_timestamp_seconds{account="lab",project_id="5",workspace="ws-a"} 1.745394e+09
ncp_mediaintel_project_last_success_timestamp_seconds{account="prod",project_id="1",workspace="ws-a"} 1.745394e+09
ncp_mediaintel_project_last_success_timestamp_seconds{account="prod",project_id="2",workspace="ws-a"} 1.745394e+09
ncp_mediaintel_project_last_success_timestamp_seconds{account="prod",project_id="4",workspace="ws-a"} 1.745394e+09
ncp_mediaintel_project_last_success_timestamp_seconds{account="prod",project_id="5",workspace="ws-a"} 1.745394e+09
# HELP ncp_mediaintel_refresh_max_staleness_seconds Background mode: the age beyond which a project's figures are no longer exported (--scrape.max-staleness).
# TYPE ncp_mediaintel_refresh_max_staleness_seconds gauge
ncp_mediaintel_refresh_max_staleness_seconds{account="prod"} 900
# HELP ncp_mediaintel_up 1 if workspace discovery succeeded in this scrape (in background mode: in the latest refresh pass), 0 if it failed (key, permission, clock or API problem).
# TYPE ncp_mediaintel_up gauge
ncp_mediaintel_up{account="lab"} 1
ncp_mediaintel_up{account="prod"} 1
# HELP ncp_mediaintel_workspace_scrape_failure 1 while the workspace's project list failed, for the reason of the error that failed it; absent when it succeeded.
# TYPE ncp_mediaintel_workspace_scrape_failure gauge
ncp_mediaintel_workspace_scrape_failure{account="lab",reason="unauthenticated",workspace="ws-b"} 1
ncp_mediaintel_workspace_scrape_failure{account="prod",reason="unauthenticated",workspace="ws-b"} 1
`
	names := []string{"ncp_mediaintel_account_info", "ncp_mediaintel_credentials_expiry_timestamp_seconds", "ncp_mediaintel_cache_age_seconds",
		"ncp_mediaintel_project_assets_reported", "ncp_mediaintel_project_scrape_failure", "ncp_mediaintel_project_last_success_timestamp_seconds",
		"ncp_mediaintel_refresh_max_staleness_seconds", "ncp_mediaintel_up", "ncp_mediaintel_workspace_scrape_failure"}
	if err := testutil.GatherAndCompare(gathered(t, text), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// Every documented format is there, zero or not; other and unknown
	// only when not zero.
	if err := testutil.GatherAndCompare(gathered(t, text), strings.NewReader(assetsWant), "ncp_mediaintel_assets"); err != nil {
		t.Error(err)
	}
	if problems, err := promlint.New(bytes.NewReader(text)).Lint(); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", err, problems)
	}
}

var assetsWant = func() string {
	var lines []string
	for _, acct := range []string{"lab", "prod"} {
		for _, p := range []string{"1", "4", "5"} {
			for _, f := range []string{"mp4", "mkv", "mov", "webm", "png", "jpg", "heic", "unknown"} {
				v := "0"
				switch f {
				case "mp4":
					v = "2"
				case "unknown":
					v = "1"
				}
				lines = append(lines, `ncp_mediaintel_assets{account="`+acct+`",format="`+f+`",project_id="`+p+`",workspace="ws-a"} `+v+"\n")
			}
		}
	}
	return "# HELP ncp_mediaintel_assets Assets in the project by format, de-duplicated by asset ID.\n# TYPE ncp_mediaintel_assets gauge\n" + strings.Join(lines, "")
}()

// TestWriteResultsOptions: the histograms, the cache age and the
// workspace series come and go with their options; nothing else does.
func TestWriteResultsOptions(t *testing.T) {
	for _, tc := range []struct {
		opts    ResultOptions
		present []string
		absent  []string
	}{
		{ResultOptions{}, []string{"ncp_mediaintel_workspace_projects"}, []string{"ncp_mediaintel_asset_size_distribution_bytes", "ncp_mediaintel_cache_age_seconds"}},
		{ResultOptions{Histograms: true}, []string{"ncp_mediaintel_asset_size_distribution_bytes", "ncp_mediaintel_video_duration_distribution_seconds"}, []string{"ncp_mediaintel_cache_age_seconds"}},
		{ResultOptions{ProjectOnly: true}, []string{"ncp_mediaintel_project_info"}, []string{"ncp_mediaintel_workspace_projects", "ncp_mediaintel_workspace_monthly_analyses", "ncp_mediaintel_workspace_scrape_success"}},
	} {
		text := expose(t, expfmt.NewFormat(expfmt.TypeTextPlain), nil, []*scrape.Result{result("a")}, tc.opts)
		fams, err := gathered(t, text).Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, f := range fams {
			got[f.GetName()] = true
		}
		for _, n := range tc.present {
			if !got[n] {
				t.Errorf("%+v: %s missing", tc.opts, n)
			}
		}
		for _, n := range tc.absent {
			if got[n] {
				t.Errorf("%+v: %s present", tc.opts, n)
			}
		}
	}
}

// TestWriteResultsFormats: the text, OpenMetrics and protobuf encodings
// hold the same families, and each family once.
func TestWriteResultsFormats(t *testing.T) {
	results := []*scrape.Result{result("a"), result("b")}
	opts := ResultOptions{Histograms: true, CacheAge: true, Now: now}
	text := gathered(t, expose(t, expfmt.NewFormat(expfmt.TypeTextPlain), nil, results, opts))
	want, _ := text.Gather()

	pb := expose(t, expfmt.NewFormat(expfmt.TypeProtoDelim), nil, results, opts)
	var got []*dto.MetricFamily
	r := bytes.NewReader(pb)
	for {
		mf := &dto.MetricFamily{}
		if err := readDelimited(r, mf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got = append(got, mf)
	}
	if len(got) != len(want) {
		t.Fatalf("protobuf: %d families, text %d", len(got), len(want))
	}
	sortFams := func(fs []*dto.MetricFamily) {
		slices.SortFunc(fs, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	}
	sortFams(got)
	sortFams(want)
	for i := range got {
		if len(got[i].Metric) != len(want[i].Metric) || got[i].GetName() != want[i].GetName() {
			t.Errorf("protobuf family %s: %d samples; text %s: %d", got[i].GetName(), len(got[i].Metric), want[i].GetName(), len(want[i].Metric))
		}
	}

	om := expose(t, expfmt.NewFormat(expfmt.TypeOpenMetrics), nil, results, opts)
	if !bytes.HasSuffix(om, []byte("# EOF\n")) || !bytes.Contains(om, []byte("ncp_mediaintel_asset_size_distribution_bytes_bucket{")) {
		t.Errorf("OpenMetrics exposition without # EOF or the histograms:\n%.2000s", om)
	}
}

// readDelimited reads one varint-length-delimited protobuf message.
func readDelimited(r *bytes.Reader, m proto.Message) error {
	var n uint64
	for shift := uint(0); ; shift += 7 {
		c, err := r.ReadByte()
		if err != nil {
			return err
		}
		n |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	return proto.Unmarshal(buf, m)
}

// TestEncodeError: an encoder that fails stops the writing, with the
// family named.
func TestEncodeError(t *testing.T) {
	err := WriteResults(failingEncoder{}, nil, []*scrape.Result{result("a")}, ResultOptions{})
	if err == nil || !strings.Contains(err.Error(), "ncp_mediaintel_up") || !errors.Is(err, errGone) {
		t.Errorf("WriteResults on a failing encoder: %v", err)
	}
}

var errGone = errors.New("client went away")

type failingEncoder struct{}

func (failingEncoder) Encode(*dto.MetricFamily) error { return errGone }

// TestFamiliesDocumented: every family has a HELP text and labels from
// the bounded sets, account first.
func TestFamiliesDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Families {
		if seen[f.Name] {
			t.Errorf("%s is declared twice", f.Name)
		}
		seen[f.Name] = true
		if f.Help == "" || !strings.HasPrefix(f.Name, Namespace+"_") {
			t.Errorf("%s: help %q", f.Name, f.Help)
		}
		if len(f.Labels) == 0 || f.Labels[0] != "account" {
			t.Errorf("%s: labels %v; want account first", f.Name, f.Labels)
		}
	}
}

func TestAccountsCollector(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	l := client.NewAdaptiveLimiter(40, 5)
	reg.MustRegister(NewAccountsCollector(func() []AccountParts { return []AccountParts{{Name: "prod", Limiter: l}} }))
	l.Throttled()
	l.Throttled() // within a second of the first: no second reduction
	const want = `
# HELP ncp_mediaintel_rate_limiter_allowed_requests_per_second Request rate the limiter allows now: --mi.rate-limit, halved by a 429 and recovering by a tenth of it each second.
# TYPE ncp_mediaintel_rate_limiter_allowed_requests_per_second gauge
ncp_mediaintel_rate_limiter_allowed_requests_per_second{account="prod"} 20
# HELP ncp_mediaintel_rate_limiter_reductions_total Times a 429 answer lowered the allowed rate (at most once a second; every 429 is in api_requests_total).
# TYPE ncp_mediaintel_rate_limiter_reductions_total counter
ncp_mediaintel_rate_limiter_reductions_total{account="prod"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ncp_mediaintel_rate_limiter_allowed_requests_per_second", "ncp_mediaintel_rate_limiter_reductions_total"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint %v %v", err, problems)
	}
}

func TestAPIMetricsForget(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewAPIMetrics(reg)
	m.ForAccount("a").ObserveRequest(client.OpListAssets, 200, time.Millisecond)
	m.ForAccount("b")
	m.Forget("a")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, mt := range f.Metric {
			for _, lp := range mt.Label {
				if lp.GetName() == "account" && lp.GetValue() != "b" {
					t.Errorf("%s still has account %q", f.GetName(), lp.GetValue())
				}
			}
		}
	}
}
