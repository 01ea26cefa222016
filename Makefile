# Thin wrappers over the project's scripts, so that each step has one truth:
# the scripts are what CI (.ci/run) and the Dockerfile run.
#
#   make build          deploy/build.sh: the static binary, ./mediaintel_exporter
#   make test           go test -race in every Go module (root, dashboards,
#                       deploy, deploy/helm); a test that needs Prometheus,
#                       promtool, Alertmanager or zip skips when it is missing.
#                       No root, no apt-get, nothing fetched but Go modules.
#   make ci             .ci/run: the whole CI (README's test command): installs
#                       the tools, lint, vulncheck, release archives, the tests
#                       with the tools required, fuzzing, benchmarks once
#   make lint           .ci/lint: golangci-lint on every Go module
#   make vulncheck      .ci/vulncheck: govulncheck, offline
#   make release        deploy/release.sh: archives, SBOMs, sha256sums.txt in dist/
#   make helm-package   deploy/helm/package.sh: dist/mediaintel-exporter-<chart version>.tgz
#   make docker         docker buildx build for DOCKER_PLATFORMS (needs a Docker engine)

# The Go of go.mod's go line (a patched release), fetched from the module
# proxy once; GOTOOLCHAIN=local, this machine's default, would ignore go.mod.
GOTOOLCHAIN ?= go$(shell sed -n 's/^go //p' go.mod)
export GOTOOLCHAIN

VERSION := $(shell cat VERSION)
DOCKER_IMAGE ?= mediaintel_exporter
DOCKER_PLATFORMS ?= linux/amd64,linux/arm64
# For example --push (with DOCKER_IMAGE=registry/name), or --load with one
# platform: a multi-platform result stays in BuildKit's cache otherwise.
DOCKER_FLAGS ?=

# Every Go module of the repository: the directory of each go.mod git knows.
GO_MODULES := . $(patsubst %/go.mod,%,$(shell git ls-files '*/go.mod'))

.PHONY: all build test ci lint vulncheck release helm-package docker clean
all: build

# build: the static binary with version information, as the image has it.
build:
	sh deploy/build.sh mediaintel_exporter

# test: every module's tests, all of them even when one fails.
test:
	@rc=0; for m in $(GO_MODULES); do \
		echo "go test -race ./... (module $$m)"; \
		(cd $$m && go test -race ./...) || rc=1; \
	done; exit $$rc

# ci: everything CI runs.
ci:
	bash .ci/run

lint:
	bash .ci/lint

vulncheck:
	bash .ci/vulncheck

# release: PLATFORMS="linux-amd64 darwin-arm64" builds only those.
release:
	bash deploy/release.sh $(PLATFORMS)

helm-package:
	sh deploy/helm/package.sh dist

# docker: the image, cross-compiled for each platform (no emulation).
docker:
	docker buildx build --platform $(DOCKER_PLATFORMS) \
		--build-arg VERSION=$(VERSION) \
		--build-arg REVISION=$(shell git rev-parse HEAD) \
		--build-arg BRANCH=$(shell git rev-parse --abbrev-ref HEAD) \
		--build-arg BUILD_DATE=$(shell date -u +%Y%m%d-%H:%M:%S) \
		-t $(DOCKER_IMAGE):v$(VERSION) $(DOCKER_FLAGS) .

clean:
	rm -rf dist mediaintel_exporter
