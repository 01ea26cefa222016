package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
	"github.com/mediaintel/mediaintel_exporter/client/mitest"
	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

// leakForms are the ways a secret could show: as it is, and in the
// encodings a log line, a URL or a dump might use.
func leakForms(secret string) map[string]string {
	return map[string]string{
		"plain":            secret,
		"base64":           base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64 (raw)":     base64.RawStdEncoding.EncodeToString([]byte(secret)),
		"base64 (url)":     base64.URLEncoding.EncodeToString([]byte(secret)),
		"base64 (raw url)": base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"URL-escaped":      url.QueryEscape(secret),
		"path-escaped":     url.PathEscape(secret),
		"hex":              hex.EncodeToString([]byte(secret)),
		"quoted":           strconv.Quote(secret),
	}
}

// TestSecretNeverLeaksAnySource is issue #23's secrets done-when: no
// secret appears in a log line, a metric, the landing page, the debug
// probe or an error text, whatever the source of the key. One
// configuration file names an account of each source (key files,
// environment variable names, a configure file's profile, the server
// role); the API fails in many ways for each, the metadata service
// answers a refusal that carries a secret once, a reload is refused, and
// at the end every key is refused. Everything the exporter wrote and
// answered, at debug level, is searched for every secret (and every
// session token of the metadata service); the debug probe must say where
// each account's key comes from and, for the server role, when it
// expires.
func TestSecretNeverLeaksAnySource(t *testing.T) {
	t.Parallel()
	f := newFiveAccounts(t, "LEAK")
	refusedSecret := "ncp_iam_LEAKREFUSED+Secret/InARefusal=99"
	md := testutil.StartMetadataServer(t, testutil.MetadataOptions{KeyPrefix: "ncp_iam_LEAKROLE",
		Issue: func(ak, sk string, exp time.Time) { f.vm.AddKey(ak, sk, exp) }})
	// The first fetch of the role's key is a refusal that carries a secret
	// in its JSON.
	md.FailNext(1, http.StatusOK, fmt.Sprintf(`{"Code":"AccessDenied","Message":"denied; the key was %s","AccessKeyId":"ncp_iam_LEAKREFUSEDAK","SecretAccessKey":%q,"Expiration":"2099-01-01T00:00:00Z"}`,
		refusedSecret, refusedSecret))
	for name, sc := range map[string]struct {
		scope mitest.Scope
		fault mitest.Fault
	}{
		"prod":  {mitest.Scope{Operation: client.OpListProjects, Workspace: "prod-archive"}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "200"}},
		"lab":   {mitest.Scope{Operation: client.OpListAssets, ProjectID: 202}, mitest.Fault{Status: 503, Body: mitest.BodyGateway}},
		"ci":    {mitest.Scope{Operation: client.OpListAssets, ProjectID: 302}, mitest.Fault{Body: mitest.BodyTruncated}},
		"cli":   {mitest.Scope{Operation: client.OpListAssets, ProjectID: 412}, mitest.Fault{Status: 502, Body: mitest.BodyHTML}},
		"on-vm": {mitest.Scope{Operation: client.OpGetWorkspace, Workspace: "vm-media"}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "210"}},
	} {
		f.simAccount(name).SetFault(sc.scope, sc.fault)
	}
	env := baseEnv(append(f.env, "NCLOUD_METADATA_API_ENDPOINT="+md.URL)...)
	p := startExporter(t, env, nil, "--config.file="+f.configFile, "--log.level=debug", "--mi.max-attempts=2", "--web.enable-lifecycle")
	base := "http://" + p.Addr
	c := &http.Client{Timeout: 20 * time.Second}

	var ex []exchange
	get := func(paths ...string) {
		for _, path := range paths {
			ex = append(ex, fetch(t, c, http.MethodGet, base+path, nil))
		}
	}
	// The first scrape meets the refused role key; the role is asked
	// again after a second.
	get("/metrics")
	testutil.Eventually(t, 30*time.Second, "the server role's account up", func() bool {
		v, _ := metricValue(fetch(t, c, http.MethodGet, base+"/metrics", nil).body, `ncp_mediaintel_up{account="on-vm"}`)
		return v == 1
	})
	get("/", "/metrics", "/internal/metrics", "/discovery", "/discovery?per=project", "/-/healthy", "/-/ready",
		"/probe?workspace=media-prod", "/probe?account=nobody&workspace=media-prod", "/probe?account=Bad!&workspace=x", "/no-such-page")
	debug := map[string]string{}
	for _, name := range f.names() {
		for _, w := range f.specs[name] {
			get("/probe?account=" + name + "&workspace=" + w.name)
			for _, pr := range w.projects {
				q := "/probe?account=" + name + "&workspace=" + w.name + "&project=" + strconv.FormatInt(pr.id, 10) + "&debug=true"
				get(q)
				debug[name] += ex[len(ex)-1].body
			}
		}
	}
	// A reload refused (a duplicate account), and one that succeeds.
	good, err := os.ReadFile(f.configFile)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, "", map[string]string{f.configFile: string(good) + "  - name: prod\n    server_role: true\n"})
	ex = append(ex, fetch(t, c, http.MethodPost, base+"/-/reload", nil))
	if last := ex[len(ex)-1]; last.status != http.StatusInternalServerError || !strings.Contains(last.body, `account "prod": name already used`) {
		t.Errorf("POST /-/reload of a file with a duplicate account: %d %q", last.status, last.body)
	}
	writeFiles(t, "", map[string]string{f.configFile: string(good)})
	ex = append(ex, fetch(t, c, http.MethodPost, base+"/-/reload", nil))
	// Every key refused.
	for _, name := range f.names() {
		a := f.simAccount(name)
		a.ClearFaults()
		a.SetFault(mitest.Scope{}, mitest.Fault{Status: 401, Body: mitest.BodyGateway, ErrorCode: "200"})
	}
	get("/metrics", "/discovery?per=project", "/probe?account=on-vm&workspace=vm-media&project=501&debug=true",
		"/probe?account=cli&workspace=cli-media&project=401&debug=true")
	p.Stop(t)

	secrets := map[string]string{"refused role key": refusedSecret}
	for name, k := range f.keys {
		secrets[name+" secret key"] = k[1]
	}
	keys := md.Keys()
	for i, k := range keys {
		secrets[fmt.Sprintf("role key %d", i+1)] = k.SecretKey
	}
	for i, tok := range md.Tokens() {
		secrets[fmt.Sprintf("metadata session token %d", i+1)] = tok
	}
	if len(keys) == 0 || len(md.Tokens()) == 0 {
		t.Fatalf("the metadata service handed out %d keys and %d session tokens: the leak check is blind", len(keys), len(md.Tokens()))
	}
	out := p.Log()
	check := func(where, text string) {
		for what, s := range secrets {
			for form, v := range leakForms(s) {
				if strings.Contains(text, v) {
					t.Errorf("the %s (%s) appears in %s", what, form, where)
				}
			}
		}
		if strings.Contains(text, "panic:") || strings.Contains(text, "goroutine 1 [") {
			t.Errorf("a panic in %s", where)
		}
	}
	check("the process output", out)
	for _, x := range ex {
		check(x.what+" (body)", x.body)
		for k, vs := range x.header {
			check(x.what+" (header "+k+")", strings.Join(vs, " "))
		}
	}

	// The checks must have had something to look at.
	for _, want := range []string{"level=DEBUG", "level=ERROR", "HTTP 401", "HTTP 503", "HTML", "AccessDenied", "failed to reload", "configuration reloaded"} {
		if !strings.Contains(out, want) && !strings.Contains(strings.Join(bodies(ex), "\n"), want) {
			t.Errorf("neither the output nor an answer holds %q: the leak check may be blind:\n%s", want, out)
		}
	}
	statuses := map[int]int{}
	for _, x := range ex {
		statuses[x.status]++
	}
	if statuses[200] < 20 || statuses[400] < 2 || statuses[404] < 1 || statuses[500] < 1 {
		t.Errorf("answers by status %v: want 200s, 400s, a 404 and a 500", statuses)
	}
	// The debug probe says where each key comes from; for the server role
	// also when its key expires. Never an access key or a signature.
	exp := keys[len(keys)-1].Expires.UTC().Format(time.RFC3339)
	for name, want := range map[string]string{
		"prod":  "Key: key files " + f.configFile[:len(f.configFile)-len("config.yml")] + "secrets/prod/access-key, ",
		"lab":   "Key: key files /",
		"ci":    "Key: environment CI_NCP_ACCESS_KEY/CI_NCP_SECRET_KEY\n",
		"cli":   "Key: configure file " + f.configFile[:len(f.configFile)-len("config.yml")] + "ncloud/configure [media]\n",
		"on-vm": "Key: server role mediaintel-test-role (metadata " + md.URL + "), temporary, expires " + exp + " (in ",
	} {
		if !strings.Contains(debug[name], want) {
			t.Errorf("the debug probe of account %s lacks %q:\n%.1500s", name, want, debug[name])
		}
	}
	for _, x := range ex {
		if !strings.Contains(x.what, "debug=true") {
			continue
		}
		hidden := []string{client.HeaderSignature, client.HeaderAccessKey, client.HeaderTimestamp}
		for _, k := range f.keys {
			hidden = append(hidden, k[0])
		}
		for _, k := range keys {
			hidden = append(hidden, k.AccessKey)
		}
		for _, h := range hidden {
			if strings.Contains(x.body, h) {
				t.Errorf("%s shows %q", x.what, h)
			}
		}
	}
}

// bodies are the answers' bodies.
func bodies(ex []exchange) []string {
	out := make([]string, len(ex))
	for i, x := range ex {
		out[i] = x.body
	}
	return out
}
