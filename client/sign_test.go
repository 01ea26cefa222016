package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// TestSignVector is the test vector of docs/api.md.
func TestSignVector(t *testing.T) {
	got := client.Sign("GET", "/api/v1/workspaces/my-workspace/projects/1234/assets?pageNum=1&pageSize=100",
		1745398164000, testAccessKey, testSecretKey)
	if want := "5eUfSmko82Zbihbceqda0hlJ+ZLAGESVX6xGnjIlrq4="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	// Every input counts.
	base := client.Sign("GET", "/a?b=1", 1, "ak", "sk")
	for name, other := range map[string]string{
		"method":     client.Sign("POST", "/a?b=1", 1, "ak", "sk"),
		"uri":        client.Sign("GET", "/a?b=2", 1, "ak", "sk"),
		"timestamp":  client.Sign("GET", "/a?b=1", 2, "ak", "sk"),
		"access key": client.Sign("GET", "/a?b=1", 1, "ak2", "sk"),
		"secret key": client.Sign("GET", "/a?b=1", 1, "ak", "sk2"),
	} {
		if other == base {
			t.Errorf("changing the %s does not change the signature", name)
		}
	}
}

// TestClientSignsTheVector sends the vector's request through the client
// and checks the headers it puts on the wire.
func TestClientSignsTheVector(t *testing.T) {
	var got http.Header
	var uri string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, uri = r.Header.Clone(), r.RequestURI
		_, _ = io.WriteString(w, `{"code":"0","message":"success","result":{"content":[],"totalCount":0,"totalPage":0,"pageNo":1,"pageSize":100}}`)
	}))
	defer srv.Close()
	c, err := client.New(client.Config{
		BaseURL:     srv.URL,
		Credentials: client.Static(client.NewCredentials(testAccessKey, testSecretKey)),
		PageSize:    100,
		UserAgent:   "mediaintel_exporter/1.2.3",
		Now:         func() time.Time { return time.UnixMilli(1745398164000) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AssetPage(context.Background(), "my-workspace", 1234, 1, func(*client.Asset) {}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		client.HeaderTimestamp: "1745398164000",
		client.HeaderAccessKey: testAccessKey,
		client.HeaderSignature: "5eUfSmko82Zbihbceqda0hlJ+ZLAGESVX6xGnjIlrq4=",
		"Content-Type":         "application/json",
		"User-Agent":           "mediaintel_exporter/1.2.3",
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, got.Get(k), v)
		}
	}
	if uri != "/api/v1/workspaces/my-workspace/projects/1234/assets?pageNum=1&pageSize=100" {
		t.Errorf("request URI %q", uri)
	}

	// The default User-Agent names the exporter.
	c = newClient(t, srv.URL)
	_, _ = c.ListWorkspaces(context.Background())
	if ua := got.Get("User-Agent"); ua != "mediaintel_exporter" {
		t.Errorf("default User-Agent %q", ua)
	}
}

// TestRetrySignedAfresh: each attempt carries its own timestamp and a
// signature matching it.
func TestRetrySignedAfresh(t *testing.T) {
	type seen struct {
		ts  string
		sig string
		uri string
	}
	var (
		mu    sync.Mutex
		reqs  []seen
		clock = time.UnixMilli(1745398164000)
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, seen{r.Header.Get(client.HeaderTimestamp), r.Header.Get(client.HeaderSignature), r.RequestURI})
		n := len(reqs)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(503)
			return
		}
		_, _ = io.WriteString(w, `{"code":"0","message":"success","result":{"workspaceName":"alpha"}}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *client.Config) {
		cfg.Credentials = client.Static(client.NewCredentials(testAccessKey, testSecretKey))
		cfg.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(1500 * time.Millisecond)
			return clock
		}
	})
	if _, err := c.GetWorkspace(context.Background(), "alpha"); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	stamps := map[string]bool{}
	for i, r := range reqs {
		ts, err := strconv.ParseInt(r.ts, 10, 64)
		if err != nil {
			t.Fatalf("attempt %d: timestamp %q: %v", i+1, r.ts, err)
		}
		if want := client.Sign("GET", r.uri, ts, testAccessKey, testSecretKey); r.sig != want {
			t.Errorf("attempt %d: signature %s does not match its timestamp %d (want %s)", i+1, r.sig, ts, want)
		}
		if stamps[r.ts] {
			t.Errorf("attempt %d reuses timestamp %s", i+1, r.ts)
		}
		stamps[r.ts] = true
	}
}
