# syntax=docker/dockerfile:1
#
# mediaintel_exporter container image, for one platform or several:
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg BUILD_DATE=$(date -u +%Y%m%d-%H:%M:%S) \
#     -t mediaintel_exporter:$(cat VERSION) .
#
# The builder runs on the build platform and cross-compiles for each target
# platform (BuildKit's TARGETOS, TARGETARCH and TARGETVARIANT, passed to the
# build script as GOOS, GOARCH and GOARM), so no emulation is needed. The
# binary is built by deploy/build.sh, the same script used outside
# containers and by the release archives. The final image is distroless
# (static, nonroot), which carries CA certificates for the HTTPS API and
# tzdata for Asia/Seoul times.

ARG GO_VERSION=1.26.10
# The version the binary and the labels say: the VERSION file's (a label
# cannot read a file, so deploy's TestDockerfile keeps the two equal).
# REVISION and BUILD_DATE have no default that a build context can know.
ARG VERSION=0.2.0

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS builder
WORKDIR /src
# Dependencies first, so that source changes reuse the module cache layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG VERSION
ARG REVISION
ARG BRANCH
ARG BUILD_USER=docker
ARG BUILD_DATE
# TARGETVARIANT is "v7" for linux/arm/v7 (GOARM=7); Go reads GOARM only
# for GOARCH=arm.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
    sh deploy/build.sh /out/mediaintel_exporter

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION
ARG REVISION
ARG BUILD_DATE
LABEL org.opencontainers.image.title="mediaintel_exporter" \
      org.opencontainers.image.description="Prometheus exporter for NAVER Cloud Platform Media Intelligence" \
      org.opencontainers.image.source="https://github.com/mediaintel/mediaintel_exporter" \
      org.opencontainers.image.url="https://github.com/mediaintel/mediaintel_exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/mediaintel_exporter /bin/mediaintel_exporter
COPY LICENSE /LICENSE
# 65532 is distroless' "nonroot" user; numeric, so Kubernetes' runAsNonRoot
# can verify it.
USER 65532:65532
EXPOSE 9847
ENTRYPOINT ["/bin/mediaintel_exporter"]
