# Thin wrappers over the project's scripts, so that each step has one truth:
# the scripts (.ci/run, deploy/build.sh) are what CI and the Dockerfile run.

# The Go of go.mod's go line (a patched release), fetched from the module
# proxy once; GOTOOLCHAIN=local, this machine's default, would ignore go.mod.
GOTOOLCHAIN ?= go$(shell sed -n 's/^go //p' go.mod)
export GOTOOLCHAIN

.PHONY: all build test
all: build

# build: the static binary with version information, as the image has it.
build:
	sh deploy/build.sh mediaintel_exporter

# test: everything CI runs.
test:
	bash .ci/run
