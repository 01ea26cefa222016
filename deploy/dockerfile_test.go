package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dockerInstr is one Dockerfile instruction after line continuations are
// joined and comments dropped.
type dockerInstr struct {
	Line int    // first source line
	Cmd  string // upper-cased keyword
	Args string // the rest, continuations joined with a space
}

// dockerStage is one FROM ... stage.
type dockerStage struct {
	Name   string // AS name, lower-cased; "" if none
	Image  string // base image after ARG substitution
	Instrs []dockerInstr
	Args   map[string]string // ARG defaults visible in the stage, plus ENV
}

// parseDockerfile splits a Dockerfile into instructions, the way the
// Dockerfile frontend does it: parser directives only at the very top, "#"
// comment lines (also inside a continuation) dropped, a line ending in the
// escape character (default backslash) continued on the next.
func parseDockerfile(text string) ([]dockerInstr, error) {
	escape := byte('\\')
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	directiveRE := regexp.MustCompile(`^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$`)
	i := 0
	for ; i < len(lines); i++ {
		m := directiveRE.FindStringSubmatch(lines[i])
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "escape") {
			if len(m[2]) != 1 || (m[2] != "\\" && m[2] != "`") {
				return nil, fmt.Errorf("line %d: bad escape directive %q", i+1, m[2])
			}
			escape = m[2][0]
		}
	}
	var out []dockerInstr
	var cur strings.Builder
	start := 0
	for ; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // comments are dropped, even within a continuation
		}
		if trimmed == "" {
			continue // blank lines, also inside a continuation, are skipped
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		t := strings.TrimRight(line, " \t")
		if len(t) > 0 && t[len(t)-1] == escape {
			cur.WriteString(strings.TrimSpace(t[:len(t)-1]))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(strings.TrimSpace(line))
		full := strings.TrimSpace(cur.String())
		cur.Reset()
		if full == "" {
			continue
		}
		kw, rest, _ := strings.Cut(full, " ")
		out = append(out, dockerInstr{Line: start, Cmd: strings.ToUpper(kw), Args: strings.TrimSpace(rest)})
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: continuation runs past the end of the file", start)
	}
	return out, nil
}

var dockerVarRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:[-+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// dockerSubst expands $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alt}.
func dockerSubst(s string, vars map[string]string) string {
	return dockerVarRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := dockerVarRE.FindStringSubmatch(m)
		name, mod := sm[1], sm[2]
		if name == "" {
			name = sm[3]
		}
		v, ok := vars[name]
		switch {
		case strings.HasPrefix(mod, ":-"):
			if !ok || v == "" {
				return mod[2:]
			}
		case strings.HasPrefix(mod, ":+"):
			if ok && v != "" {
				return mod[2:]
			}
			return ""
		}
		return v
	})
}

// dockerStages groups instructions into stages, resolving global ARGs in
// FROM and stage ARG/ENV values.
func dockerStages(instrs []dockerInstr) ([]dockerStage, error) {
	global := map[string]string{}
	var stages []dockerStage
	for _, in := range instrs {
		switch {
		case in.Cmd == "FROM":
			f := strings.Fields(in.Args)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") { // --platform=...
				f = f[1:]
			}
			if len(f) == 0 {
				return nil, fmt.Errorf("line %d: FROM without image", in.Line)
			}
			st := dockerStage{Image: dockerSubst(f[0], global), Args: map[string]string{}}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = strings.ToLower(f[2])
			} else if len(f) != 1 {
				return nil, fmt.Errorf("line %d: cannot parse FROM %q", in.Line, in.Args)
			}
			stages = append(stages, st)
		case len(stages) == 0:
			if in.Cmd != "ARG" {
				return nil, fmt.Errorf("line %d: %s before the first FROM", in.Line, in.Cmd)
			}
			for _, a := range strings.Fields(in.Args) {
				k, v, _ := strings.Cut(a, "=")
				global[k] = strings.Trim(v, `"`)
			}
		default:
			st := &stages[len(stages)-1]
			switch in.Cmd {
			case "ARG":
				for _, a := range strings.Fields(in.Args) {
					k, v, hasDefault := strings.Cut(a, "=")
					if !hasDefault {
						v = global[k] // a global ARG redeclared in a stage
					}
					st.Args[k] = dockerSubst(strings.Trim(v, `"`), st.Args)
				}
			case "ENV":
				for _, a := range strings.Fields(in.Args) {
					if k, v, ok := strings.Cut(a, "="); ok {
						st.Args[k] = dockerSubst(strings.Trim(v, `"`), st.Args)
					}
				}
			}
			st.Instrs = append(st.Instrs, in)
		}
	}
	return stages, nil
}

// runFlagsRE strips RUN/COPY flags such as --mount=... and --from=....
func stripFlags(args string) (flags map[string]string, rest string) {
	flags = map[string]string{}
	f := strings.Fields(args)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
		flags[k] = v
		f = f[1:]
	}
	return flags, strings.Join(f, " ")
}

const buildScriptPath = "deploy/build.sh"

// TestDockerfile checks the image build without a Docker engine: the
// Dockerfile is parsed by hand and its stages inspected.
func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	instrs, err := parseDockerfile(readFile(t, filepath.Join(root, "Dockerfile")))
	if err != nil {
		t.Fatal(err)
	}
	stages, err := dockerStages(instrs)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}

	// The builder: a Go image that copies the source and runs build.sh.
	var builder *dockerStage
	for i := range stages[:len(stages)-1] {
		if strings.HasPrefix(stages[i].Image, "golang:") {
			builder = &stages[i]
		}
	}
	if builder == nil {
		t.Fatalf("no builder stage FROM golang:...; stages: %+v", stages)
	}
	if builder.Name == "" {
		t.Error("the builder stage has no name (FROM golang:... AS builder)")
	}
	if !regexp.MustCompile(`^golang:1\.2[6-9](\.\d+)?-`).MatchString(builder.Image) {
		t.Errorf("builder image %q: want golang 1.26 or newer, as go.mod requires", builder.Image)
	}
	copiesScript, runsScript := false, false
	var buildOut string
	for _, in := range builder.Instrs {
		flags, rest := stripFlags(in.Args)
		switch in.Cmd {
		case "COPY", "ADD":
			if flags["from"] != "" {
				continue
			}
			src := strings.Fields(rest)
			for _, s := range src[:max(len(src)-1, 0)] {
				if s == "." || s == "./" || s == buildScriptPath || s == "deploy" || s == "deploy/" {
					copiesScript = true
				}
			}
		case "RUN":
			if i := strings.Index(rest, buildScriptPath); i >= 0 {
				if !copiesScript {
					t.Errorf("line %d runs %s before any COPY brings it in", in.Line, buildScriptPath)
				}
				runsScript = true
				if f := strings.Fields(rest[i+len(buildScriptPath):]); len(f) > 0 {
					buildOut = f[0]
				}
			}
			if strings.Contains(rest, "go build") {
				t.Errorf("line %d runs go build itself; the command line belongs in %s so that it cannot drift", in.Line, buildScriptPath)
			}
		}
	}
	if !runsScript {
		t.Fatalf("the builder stage never runs %s", buildScriptPath)
	}
	if buildOut == "" || !strings.HasPrefix(buildOut, "/") {
		t.Fatalf("the builder runs %s without an absolute output path (got %q)", buildScriptPath, buildOut)
	}

	// The build command itself, from the script the Dockerfile runs.
	checkBuildScript(t, readFile(t, filepath.Join(root, buildScriptPath)))

	// The final stage: distroless or scratch, the binary from the builder,
	// non-root, the port, an exec-form entrypoint.
	final := stages[len(stages)-1]
	distroless := strings.HasPrefix(final.Image, "gcr.io/distroless/static")
	if !distroless && final.Image != "scratch" {
		t.Errorf("final image %q: want gcr.io/distroless/static-* or scratch", final.Image)
	}
	copied := map[string]string{} // destination -> source, from the builder
	var user, entrypoint string
	exposes := map[string]bool{}
	labels := map[string]string{}
	labelRE := regexp.MustCompile(`([A-Za-z0-9._-]+)=("(?:[^"\\]|\\.)*"|\S+)`)
	for _, in := range final.Instrs {
		flags, rest := stripFlags(in.Args)
		switch in.Cmd {
		case "COPY":
			from := strings.ToLower(flags["from"])
			f := strings.Fields(rest)
			if len(f) >= 2 && from != "" && (from == builder.Name || from == "0") {
				for _, s := range f[:len(f)-1] {
					copied[f[len(f)-1]] = s
				}
			}
		case "USER":
			user = dockerSubst(rest, final.Args)
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				exposes[strings.TrimSuffix(p, "/tcp")] = true
			}
		case "ENTRYPOINT":
			entrypoint = rest
		case "LABEL":
			for _, m := range labelRE.FindAllStringSubmatch(rest, -1) {
				labels[m[1]] = dockerSubst(strings.Trim(m[2], `"`), final.Args)
			}
		}
	}

	if src := copied["/bin/mediaintel_exporter"]; src != buildOut {
		t.Errorf("final stage: want COPY --from=%s %s /bin/mediaintel_exporter, got copies %v", builder.Name, buildOut, copied)
	}

	if !distroless {
		// scratch has nothing: the certificates and zoneinfo must be copied.
		var certs, zoneinfo bool
		for dst, src := range copied {
			certs = certs || strings.Contains(src+dst, "ca-certificates")
			zoneinfo = zoneinfo || strings.Contains(src+dst, "zoneinfo")
		}
		if !certs || !zoneinfo {
			t.Errorf("FROM scratch needs CA certificates and /usr/share/zoneinfo copied in (certs %v, zoneinfo %v)", certs, zoneinfo)
		}
	}

	switch u, _, _ := strings.Cut(user, ":"); {
	case user == "":
		t.Error("final stage has no USER: the exporter would run as root")
	case u == "0" || u == "root":
		t.Errorf("final stage runs as %q: want a non-root user", user)
	case !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(u):
		t.Errorf("USER %q: want a numeric uid so that runAsNonRoot can check it", user)
	}
	if !exposes["9847"] {
		t.Errorf("final stage does not EXPOSE 9847 (exposes %v)", exposes)
	}

	var argv []string
	if err := json.Unmarshal([]byte(entrypoint), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("ENTRYPOINT %q: want exec form, a JSON array (%v)", entrypoint, err)
	}
	if argv[0] != "/bin/mediaintel_exporter" {
		t.Errorf("ENTRYPOINT runs %q, want /bin/mediaintel_exporter", argv[0])
	}

	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.source", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.created"} {
		if _, ok := labels[l]; !ok {
			t.Errorf("final stage lacks OCI label %s (labels %v)", l, labels)
		}
	}
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

// TestDockerfileParser pins the parser's handling of the tricky parts on a
// made-up Dockerfile.
func TestDockerfileParser(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\n# escape=\\\n\nARG BASE=golang\nARG TAG\n" +
		"FROM ${BASE}:${TAG:-1.26}-bookworm AS Build\n" +
		"RUN echo one \\\n# a comment inside a continuation\n    two \\\n\n    three\n" +
		"ENV A=x\nARG B=${A}y\n" +
		"from scratch\ncopy --from=build /a /b\n"
	instrs, err := parseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	stages, err := dockerStages(instrs)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[0].Image != "golang:1.26-bookworm" || stages[0].Name != "build" || stages[1].Image != "scratch" {
		t.Fatalf("stages %+v", stages)
	}
	if got := stages[0].Instrs[0].Args; got != "echo one two three" {
		t.Errorf("continuation joined as %q", got)
	}
	if stages[0].Args["B"] != "xy" {
		t.Errorf("ARG B = %q, want xy", stages[0].Args["B"])
	}
	if in := stages[1].Instrs[0]; in.Cmd != "COPY" || in.Line != 15 {
		t.Errorf("lower-case instruction parsed as %+v", in)
	}
	if _, err := parseDockerfile("FROM a\nRUN x \\\n"); err == nil {
		t.Error("a dangling continuation should be an error")
	}
}

// TestBuildScript runs deploy/build.sh as the Dockerfile does and checks the
// result with go version -m: static, trimmed, version fields set.
func TestBuildScript(t *testing.T) {
	root := repoRoot(t)
	requireExporterSource(t)
	out := filepath.Join(t.TempDir(), "mediaintel_exporter")
	cmd := exec.Command("sh", filepath.Join(root, buildScriptPath), out)
	cmd.Dir = t.TempDir() // the script must not depend on the caller's directory
	cmd.Env = append(os.Environ(), "VERSION=9.8.7-test", "REVISION=0123abcd", "BRANCH=testbranch", "BUILD_USER=tester", "BUILD_DATE=20250101-00:00:00")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", buildScriptPath, err, b)
	}
	info := runTool(t, time.Minute, root, "go", "version", "-m", out)
	for _, want := range []string{"build\t-trimpath=true", "build\tCGO_ENABLED=0"} {
		if !strings.Contains(info, want) {
			t.Errorf("go version -m %s lacks %q:\n%s", out, want, info)
		}
	}
	// -trimpath keeps -ldflags out of the build info: the version fields are
	// read back from the binary's --version, which prints them.
	ver := runTool(t, time.Minute, root, out, "--version")
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
