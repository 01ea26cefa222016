module github.com/mediaintel/mediaintel_exporter/deploy

go 1.26.10

require (
	github.com/mediaintel/mediaintel_exporter v0.0.0-00010101000000-000000000000
	github.com/mediaintel/mediaintel_exporter/dashboards v0.0.0-00010101000000-000000000000
	github.com/moby/buildkit v0.34.2
	go.yaml.in/yaml/v3 v3.0.6
)

require (
	github.com/agext/levenshtein v1.2.3 // indirect
	github.com/containerd/typeurl/v2 v2.3.0 // indirect
	github.com/docker/go-units v0.5.0 // indirect
	github.com/grafana/grafana-foundation-sdk/go v0.0.22 // indirect
	github.com/moby/docker-image-spec v1.3.1 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/planetscale/vtprotobuf v0.6.1-0.20240319094008-0393e58bdf10 // indirect
	github.com/tonistiigi/go-csvvalue v0.0.0-20240814133006-030d3b2625d0 // indirect
	golang.org/x/time v0.16.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

// The exporter's own modules, from this checkout: the tests build and run
// the exporter (internal/testutil, client/mitest) and run the dashboard's
// queries.
replace (
	github.com/mediaintel/mediaintel_exporter => ../
	github.com/mediaintel/mediaintel_exporter/dashboards => ../dashboards
)
