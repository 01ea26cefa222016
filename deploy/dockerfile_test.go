package deploy

import (
	"fmt"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/mediaintel/mediaintel_exporter/internal/testutil"
)

const buildScriptPath = "deploy/build.sh"

// dockerStage is one FROM ... stage as BuildKit reads it, with its base
// image and its commands' arguments expanded as a build would expand them
// (ARG defaults and ENV; build arguments not given expand to "").
type dockerStage struct {
	Name     string // AS name, lower-cased by BuildKit; "" if none
	Image    string // base image, global ARGs expanded
	Platform string // FROM --platform=..., as written ("$BUILDPLATFORM")
	Commands []instructions.Command
}

// parseDockerfile reads a Dockerfile with BuildKit's own parser and
// instruction reader, the code docker build runs. BuildKit's parser
// warnings and the lint checks of "docker build --check" that apply to the
// file alone are returned as warnings.
func parseDockerfile(text string) (stages []dockerStage, warnings []string, err error) {
	res, err := parser.Parse(strings.NewReader(text))
	if err != nil {
		return nil, nil, err
	}
	for _, w := range res.Warnings {
		where := ""
		if w.Location != nil {
			where = fmt.Sprintf("line %d: ", w.Location.Start.Line)
		}
		warnings = append(warnings, where+w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		warnings = append(warnings, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
	}})
	parsed, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, warnings, err
	}
	lex := shell.NewLex(res.EscapeToken)
	expander := func(env map[string]string) instructions.SingleWordExpander {
		var kv []string
		for k, v := range env {
			kv = append(kv, k+"="+v)
		}
		return func(word string) (string, error) {
			r, _, err := lex.ProcessWord(word, shell.EnvsFromSlice(kv))
			return r, err
		}
	}
	global := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			global[kv.Key] = kv.ValueString()
		}
	}
	for _, st := range parsed {
		image, err := expander(global)(st.BaseName)
		if err != nil {
			return nil, warnings, fmt.Errorf("FROM %s: %w", st.BaseName, err)
		}
		env := map[string]string{}
		for _, c := range st.Commands {
			if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
				if err := e.Expand(expander(env)); err != nil {
					return nil, warnings, fmt.Errorf("%s: %w", c, err)
				}
			}
			switch c := c.(type) {
			case *instructions.ArgCommand:
				for _, kv := range c.Args {
					v, ok := global[kv.Key] // a global ARG redeclared in the stage
					if kv.Value != nil {
						v, ok = *kv.Value, true
					}
					if ok {
						env[kv.Key] = v
					}
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					env[kv.Key] = kv.Value
				}
			}
		}
		stages = append(stages, dockerStage{Name: st.Name, Image: image, Platform: st.Platform, Commands: st.Commands})
	}
	return stages, warnings, nil
}

// line is where a command starts in the Dockerfile.
func line(c instructions.Command) int {
	if loc := c.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

// checkDockerfile returns what is wrong with a Dockerfile for this
// exporter's image: a multi-stage build whose Go builder runs on the build
// platform and cross-compiles with deploy/build.sh for the target platform
// (so that docker buildx build --platform a,b needs no emulation), and a
// distroless (or scratch) final stage of the target platform with only the
// binary, a numeric non-root user, port 9847, an exec-form entrypoint and
// the OCI labels, the version label defaulting to ver.
// goVersion is the root go.mod's go line (1.26.10), the oldest Go the
// builder image may carry: older releases have known vulnerabilities; ver
// is the VERSION file's version.
func checkDockerfile(text, goVersion, ver string) (problems []string) {
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	stages, warnings, err := parseDockerfile(text)
	if err != nil {
		return []string{"BuildKit cannot read the Dockerfile: " + err.Error()}
	}
	for _, w := range warnings {
		bad("BuildKit warns: %s", w)
	}
	if len(stages) < 2 {
		return append(problems, fmt.Sprintf("want a multi-stage build, got %d stage(s)", len(stages)))
	}

	// The builder: a Go image that copies the source and runs build.sh.
	var builder *dockerStage
	for i := range stages[:len(stages)-1] {
		if strings.HasPrefix(stages[i].Image, "golang:") {
			builder = &stages[i]
		}
	}
	if builder == nil {
		return append(problems, "no builder stage FROM golang:...")
	}
	if builder.Name == "" {
		bad("the builder stage has no name (FROM golang:... AS builder)")
	}
	if m := regexp.MustCompile(`^golang:(\d+\.\d+\.\d+)-`).FindStringSubmatch(builder.Image); m == nil || version.Compare("go"+m[1], "go"+goVersion) < 0 {
		bad("builder image %q: want golang %s or newer with its patch release named, as go.mod's go line requires", builder.Image, goVersion)
	}
	if p := strings.Trim(builder.Platform, "${}"); p != "BUILDPLATFORM" {
		bad("the builder stage runs on the target platform (FROM --platform=%q): want FROM --platform=$BUILDPLATFORM golang:..., so that it cross-compiles instead of running under emulation", builder.Platform)
	}
	copiesScript, runsScript := false, false
	declared := map[string]bool{} // the builder's ARGs
	var buildOut string
	for _, c := range builder.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				continue
			}
			for _, s := range c.SourcePaths {
				if s == "." || s == "./" || s == buildScriptPath || s == "deploy" || s == "deploy/" {
					copiesScript = true
				}
			}
		case *instructions.AddCommand:
			if slices.Contains(c.SourcePaths, ".") || slices.Contains(c.SourcePaths, buildScriptPath) {
				copiesScript = true
			}
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				declared[kv.Key] = true
			}
		case *instructions.RunCommand:
			cmd := strings.Join(c.CmdLine, " ")
			if i := strings.Index(cmd, buildScriptPath); i >= 0 {
				if !copiesScript {
					bad("line %d runs %s before any COPY brings it in", line(c), buildScriptPath)
				}
				runsScript = true
				// The target platform, from BuildKit's automatic ARGs, which
				// a stage sees only once it declares them.
				for _, v := range []struct{ want, re, arg string }{
					{"GOOS=$TARGETOS", `GOOS=\$\{?TARGETOS\}?`, "TARGETOS"},
					{"GOARCH=$TARGETARCH", `GOARCH=\$\{?TARGETARCH\}?`, "TARGETARCH"},
					{"GOARM=${TARGETVARIANT#v}", `GOARM=\$\{TARGETVARIANT#v\}`, "TARGETVARIANT"},
				} {
					if !regexp.MustCompile(`(^|\s)` + v.re + `(\s|$)`).MatchString(cmd[:i]) {
						bad("line %d runs %s without %s: the binary would be for the build platform, not the target", line(c), buildScriptPath, v.want)
					}
					if !declared[v.arg] {
						bad("the builder stage does not declare ARG %s before line %d, so it is empty there", v.arg, line(c))
					}
				}
				if f := strings.Fields(cmd[i+len(buildScriptPath):]); len(f) > 0 {
					buildOut = f[0]
				}
			}
			if strings.Contains(cmd, "go build") {
				bad("line %d runs go build itself; the command line belongs in %s so that it cannot drift", line(c), buildScriptPath)
			}
		}
	}
	if !runsScript {
		return append(problems, fmt.Sprintf("the builder stage never runs %s", buildScriptPath))
	}
	if !strings.HasPrefix(buildOut, "/") {
		bad("the builder runs %s without an absolute output path (got %q)", buildScriptPath, buildOut)
	}

	// The final stage.
	final := stages[len(stages)-1]
	distroless := strings.HasPrefix(final.Image, "gcr.io/distroless/static")
	if !distroless && final.Image != "scratch" {
		bad("final image %q: want gcr.io/distroless/static-* or scratch", final.Image)
	}
	if p := strings.Trim(final.Platform, "${}"); p != "" && p != "TARGETPLATFORM" {
		bad("the final stage is FROM --platform=%s: it must be the target platform's image", final.Platform)
	}
	copied := map[string]string{} // destination -> source, from the builder
	var user string
	var entrypoint *instructions.EntrypointCommand
	exposes := map[string]bool{}
	labels := map[string]string{}
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			if from := strings.ToLower(c.From); from != "" && (from == builder.Name || from == "0") {
				for _, s := range c.SourcePaths {
					copied[c.DestPath] = s
				}
			}
		case *instructions.UserCommand:
			user = c.User
		case *instructions.ExposeCommand:
			for _, p := range c.Ports {
				exposes[strings.TrimSuffix(p, "/tcp")] = true
			}
		case *instructions.EntrypointCommand:
			entrypoint = c
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				labels[kv.Key] = kv.Value
			}
		}
	}

	if src := copied["/bin/mediaintel_exporter"]; src != buildOut {
		bad("final stage: want COPY --from=%s %s /bin/mediaintel_exporter, got copies %v", builder.Name, buildOut, copied)
	}
	if !distroless {
		// scratch has nothing: the certificates and zoneinfo must be copied.
		var certs, zoneinfo bool
		for dst, src := range copied {
			certs = certs || strings.Contains(src+dst, "ca-certificates")
			zoneinfo = zoneinfo || strings.Contains(src+dst, "zoneinfo")
		}
		if !certs || !zoneinfo {
			bad("FROM scratch needs CA certificates and /usr/share/zoneinfo copied in (certs %v, zoneinfo %v)", certs, zoneinfo)
		}
	}
	switch u, _, _ := strings.Cut(user, ":"); {
	case user == "":
		bad("final stage has no USER: the exporter would run as root")
	case u == "0" || u == "root":
		bad("final stage runs as %q: want a non-root user", user)
	case !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(u):
		bad("USER %q: want a numeric uid so that runAsNonRoot can check it", user)
	}
	if !exposes["9847"] {
		bad("final stage does not EXPOSE 9847 (exposes %v)", exposes)
	}
	switch {
	case entrypoint == nil:
		bad("final stage has no ENTRYPOINT")
	case entrypoint.PrependShell:
		bad("ENTRYPOINT %q: want exec form, a JSON array, so that signals reach the exporter", entrypoint.CmdLine)
	case len(entrypoint.CmdLine) == 0 || entrypoint.CmdLine[0] != "/bin/mediaintel_exporter":
		bad("ENTRYPOINT runs %q, want /bin/mediaintel_exporter", entrypoint.CmdLine)
	}
	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.source", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.created"} {
		if _, ok := labels[l]; !ok {
			bad("final stage lacks OCI label %s (labels %v)", l, labels)
		}
	}
	// Expanded as a build without --build-arg VERSION expands it.
	if v, ok := labels["org.opencontainers.image.version"]; ok && v != ver {
		bad("the version label is %q without --build-arg VERSION, want the VERSION file's %q (ARG VERSION=%s)", v, ver, ver)
	}
	return problems
}

// TestDockerfile checks the image build without a Docker engine: the
// Dockerfile as BuildKit reads it, and the build script it runs.
func TestDockerfile(t *testing.T) {
	root := testutil.RepoRoot(t)
	for _, p := range checkDockerfile(readFile(t, filepath.Join(root, "Dockerfile")), goLine(t, root), versionFile(t, root)) {
		t.Error(p)
	}
	checkBuildScript(t, readFile(t, filepath.Join(root, buildScriptPath)))
}

// TestDockerfileChecks: each way of getting the image wrong is reported,
// starting from the real Dockerfile.
func TestDockerfileChecks(t *testing.T) {
	root := testutil.RepoRoot(t)
	dockerfile := readFile(t, filepath.Join(root, "Dockerfile"))
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"old Go", "ARG GO_VERSION=1.26.10", "ARG GO_VERSION=1.22", `builder image "golang:1.22-bookworm"`},
		{"unpatched Go", "ARG GO_VERSION=1.26.10", "ARG GO_VERSION=1.26.8", `builder image "golang:1.26.8-bookworm"`},
		{"Go without its patch release", "ARG GO_VERSION=1.26.10", "ARG GO_VERSION=1.26", `builder image "golang:1.26-bookworm"`},
		{"root user", "USER 65532:65532", "USER root", `runs as "root"`},
		{"user by name", "USER 65532:65532", "USER nonroot", "want a numeric uid"},
		{"user from an ARG", "USER 65532:65532", "ARG UID=0\nUSER ${UID}", `runs as "0"`},
		{"no user", "USER 65532:65532\n", "", "no USER"},
		{"other port", "EXPOSE 9847", "EXPOSE 8080", "does not EXPOSE 9847"},
		{"shell-form entrypoint", `ENTRYPOINT ["/bin/mediaintel_exporter"]`, "ENTRYPOINT /bin/mediaintel_exporter", "want exec form"},
		{"other entrypoint", `ENTRYPOINT ["/bin/mediaintel_exporter"]`, `ENTRYPOINT ["/bin/sh"]`, "ENTRYPOINT runs"},
		{"fat final image", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:bookworm", `final image "debian:bookworm"`},
		{"bare scratch", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM scratch", "FROM scratch needs CA certificates"},
		{"go build by hand", "sh deploy/build.sh /out/mediaintel_exporter", "go build -o /out/mediaintel_exporter . && sh deploy/build.sh /out/mediaintel_exporter", "runs go build itself"},
		{"no build script", "sh deploy/build.sh /out/mediaintel_exporter", "go build -o /out/mediaintel_exporter .", "never runs deploy/build.sh"},
		{"relative output", "sh deploy/build.sh /out/mediaintel_exporter", "sh deploy/build.sh mediaintel_exporter", "without an absolute output path"},
		{"binary elsewhere", "/out/mediaintel_exporter /bin/mediaintel_exporter", "/out/mediaintel_exporter /usr/bin/mediaintel_exporter", "want COPY --from=builder /out/mediaintel_exporter /bin/mediaintel_exporter"},
		{"script before copy", "COPY . .\n", "", "before any COPY brings it in"},
		{"no version label", `org.opencontainers.image.version="${VERSION}" \`, `\`, "lacks OCI label org.opencontainers.image.version"},
		{"lint: casing", "AS builder", "as builder", "FromAsCasing"},
		{"lint: empty continuation line", "    go mod download", "\n    go mod download", "Empty continuation line"},
		{"single stage", "FROM gcr.io/distroless/static-debian12:nonroot", "", "want a multi-stage build"},
		{"unreadable", "AS builder", "AS builder extra", "BuildKit cannot read"},
		{"builder without --platform=$BUILDPLATFORM", "FROM --platform=$BUILDPLATFORM golang:", "FROM golang:", "the builder stage runs on the target platform"},
		{"builder on the target platform", "FROM --platform=$BUILDPLATFORM golang:", "FROM --platform=$TARGETPLATFORM golang:", "the builder stage runs on the target platform"},
		{"target args not passed", "GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \\\n    ", "", "without GOOS=$TARGETOS"},
		{"GOARCH not passed", "GOARCH=$TARGETARCH ", "", "without GOARCH=$TARGETARCH"},
		{"GOARM not passed", "GOARM=${TARGETVARIANT#v} ", "", "without GOARM=${TARGETVARIANT#v}"},
		{"GOARCH from the build platform", "GOARCH=$TARGETARCH ", "GOARCH=$BUILDARCH ", "without GOARCH=$TARGETARCH"},
		{"target arg not declared", "ARG TARGETARCH\n", "", "does not declare ARG TARGETARCH"},
		{"final stage on the build platform", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM --platform=$BUILDPLATFORM gcr.io/distroless/static-debian12:nonroot", "the final stage is FROM --platform=$BUILDPLATFORM"},
		{"version default not the VERSION file", "ARG VERSION=" + versionFile(t, root) + "\n", "ARG VERSION=0.0.1\n", `the version label is "0.0.1"`},
		{"no version default", "ARG VERSION=" + versionFile(t, root) + "\n", "ARG VERSION\n", `the version label is ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(dockerfile, tc.old) {
				t.Fatalf("the Dockerfile no longer has %q; update this case", tc.old)
			}
			problems := checkDockerfile(strings.Replace(dockerfile, tc.old, tc.new, 1), goLine(t, root), versionFile(t, root))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("want a problem with %q, got %q", tc.want, problems)
			}
		})
	}
}

// versionFile is the VERSION file's version: "0.2.0".
func versionFile(t *testing.T, root string) string {
	t.Helper()
	return strings.TrimSpace(readFile(t, filepath.Join(root, "VERSION")))
}

// goLine is the go line of the go.mod in root: "1.26.10".
func goLine(t *testing.T, root string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, filepath.Join(root, "go.mod")))
	if m == nil {
		t.Fatalf("%s/go.mod has no go line", root)
	}
	return m[1]
}

// checkBuildScript asserts the go build command line of deploy/build.sh.
func checkBuildScript(t *testing.T, script string) {
	t.Helper()
	var cmd string
	for _, line := range strings.Split(script, "\n") {
		if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && strings.Contains(l, "go build") {
			if cmd != "" {
				t.Fatalf("%s runs go build more than once", buildScriptPath)
			}
			cmd = l
		}
	}
	if cmd == "" {
		t.Fatalf("%s does not run go build", buildScriptPath)
	}
	if !strings.HasPrefix(cmd, "CGO_ENABLED=0 go build ") {
		t.Errorf("build command %q: want CGO_ENABLED=0 go build ...", cmd)
	}
	if !strings.Contains(cmd, " -trimpath ") {
		t.Errorf("build command %q lacks -trimpath", cmd)
	}
	ld := regexp.MustCompile(`-ldflags "([^"]*)"`).FindStringSubmatch(cmd)
	if ld == nil {
		t.Fatalf("build command %q has no -ldflags \"...\"", cmd)
	}
	if !strings.Contains(ld[1], "-s -w") {
		t.Errorf("-ldflags %q does not strip (-s -w)", ld[1])
	}
	for _, f := range []string{"Version", "Revision", "Branch", "BuildUser", "BuildDate"} {
		want := fmt.Sprintf("-X github.com/prometheus/common/version.%s=${", f)
		if !strings.Contains(ld[1], want) {
			t.Errorf("-ldflags %q does not set version.%s from the environment", ld[1], f)
		}
	}
	if !strings.HasSuffix(cmd, ` .`) {
		t.Errorf("build command %q does not build the package at the module root", cmd)
	}
}

// TestBuildScript runs deploy/build.sh as the Dockerfile does and checks the
// result with go version -m: static, trimmed, version fields set.
func TestBuildScript(t *testing.T) {
	root := testutil.RepoRoot(t)
	out := filepath.Join(t.TempDir(), "mediaintel_exporter")
	cmd := exec.Command("sh", filepath.Join(root, buildScriptPath), out)
	cmd.Dir = t.TempDir() // the script must not depend on the caller's directory
	cmd.Env = append(os.Environ(), "VERSION=9.8.7-test", "REVISION=0123abcd", "BRANCH=testbranch", "BUILD_USER=tester", "BUILD_DATE=20250101-00:00:00")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", buildScriptPath, err, b)
	}
	info := testutil.RunTool(t, time.Minute, root, "go", "version", "-m", out)
	// The first line is "<file>: go1.26.10": the Go that built it.
	if m := regexp.MustCompile(`^\S+: (go\S+)`).FindStringSubmatch(info); m == nil || version.Compare(m[1], "go"+goLine(t, root)) < 0 {
		t.Errorf("%s was not built with go%s or newer (go.mod's go line):\n%s", out, goLine(t, root), info)
	}
	for _, want := range []string{"build\t-trimpath=true", "build\tCGO_ENABLED=0"} {
		if !strings.Contains(info, want) {
			t.Errorf("go version -m %s lacks %q:\n%s", out, want, info)
		}
	}
	// -trimpath keeps -ldflags out of the build info: the version fields are
	// read back from the binary's --version, which prints them.
	ver := testutil.RunTool(t, time.Minute, root, out, "--version")
	for _, want := range []string{"version 9.8.7-test", "branch: testbranch", "revision: 0123abcd", "build user:       tester", "build date:       20250101-00:00:00"} {
		if !strings.Contains(ver, want) {
			t.Errorf("%s --version lacks %q:\n%s", out, want, ver)
		}
	}
	// -s -w: no symbol table.
	if nm, err := exec.Command("go", "tool", "nm", out).CombinedOutput(); err == nil && len(nm) > 0 && !strings.Contains(string(nm), "no symbols") {
		t.Errorf("%s has a symbol table: not built with -ldflags -s", out)
	}
}

// TestBuildScriptVersionFile: with no VERSION in the environment,
// deploy/build.sh stamps the VERSION file's version, which --version and
// the build_info metric then report.
func TestBuildScriptVersionFile(t *testing.T) {
	root := testutil.RepoRoot(t)
	want := strings.TrimSpace(readFile(t, filepath.Join(root, "VERSION")))
	out := filepath.Join(t.TempDir(), "mediaintel_exporter")
	cmd := exec.Command("sh", filepath.Join(root, buildScriptPath), out)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VERSION=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", buildScriptPath, err, b)
	}
	ver := testutil.RunTool(t, time.Minute, root, out, "--version")
	if !strings.Contains(ver, "version "+want+" ") {
		t.Errorf("%s --version does not say the VERSION file's %s:\n%s", out, want, ver)
	}
}
