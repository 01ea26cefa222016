# Sourced by the scripts in .ci/ (and deploy/release.sh): the Go they run,
# the cache directory kept between runs, and building a tool into it once.
# Expects the repository root as the current directory.

export PATH="/usr/local/go/bin:$PATH"
# The Go that builds, tests and ships: the version go.mod's go line names
# (a patched release; the machine's own Go may be older, and its GOTOOLCHAIN
# may be "local", which would ignore go.mod). Fetched from the module proxy
# once. Every go command, and every one the tests start, uses it.
GOTOOLCHAIN=go$(sed -n 's/^go //p' go.mod)
export GOTOOLCHAIN

# Tools and databases built once and kept between runs; MEDIAINTEL_CI_CACHE
# moves it (an empty directory measures a cold run).
ci_cache=${MEDIAINTEL_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mediaintel_exporter-ci}

# ci_tool PACKAGE VERSION prints the path of the command PACKAGE built at
# VERSION by go install, once, into $ci_cache/NAME-VERSION-GOTOOLCHAIN/. Keyed
# by the Go too: a tool built by an older Go may refuse a module whose go
# line is newer (golangci-lint does), and govulncheck reports on the
# standard library of the Go it runs with. What it says goes to stderr.
ci_tool() {
  local pkg=$1 version=$2 name dir start
  name=$(basename "$pkg")
  dir="$ci_cache/$name-$version-$GOTOOLCHAIN"
  if [ ! -x "$dir/$name" ]; then
    echo "ci: building $name $version ($pkg@$version) into $dir" >&2
    start=$SECONDS
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    GOBIN="$dir.tmp" GOFLAGS= go install "$pkg@$version" >&2
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    echo "ci: $name $version built in $((SECONDS - start)) s" >&2
  fi
  echo "$dir/$name"
}

# go_modules prints the directory of every Go module of the repository, the
# root first.
go_modules() {
  echo .
  git ls-files '*/go.mod' | xargs -r -n1 dirname
}
