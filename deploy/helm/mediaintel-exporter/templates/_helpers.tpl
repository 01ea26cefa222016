{{/* Chart name, at most 63 characters. */}}
{{- define "mediaintel-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: the release name, with the chart name unless the release name
already contains it; at most 63 characters (a DNS label).
*/}}
{{- define "mediaintel-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mediaintel-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "mediaintel-exporter.labels" -}}
helm.sh/chart: {{ include "mediaintel-exporter.chart" . }}
{{ include "mediaintel-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mediaintel-exporter
{{- end }}

{{/* Labels that select the exporter's pods. */}}
{{- define "mediaintel-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mediaintel-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mediaintel-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mediaintel-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the NCP API key. */}}
{{- define "mediaintel-exporter.credentialsSecret" -}}
{{- if .Values.credentials.create }}
{{- printf "%s-credentials" (include "mediaintel-exporter.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- required "credentials.existingSecret: name the Secret holding the NCP API key (or set credentials.create=true, or demo=true)" .Values.credentials.existingSecret }}
{{- end }}
{{- end }}

{{/* Whether a web config is mounted, and the Secret holding it. */}}
{{- define "mediaintel-exporter.webConfigSecret" -}}
{{- if .Values.web.existingSecret }}
{{- .Values.web.existingSecret }}
{{- else if .Values.web.config }}
{{- printf "%s-web-config" (include "mediaintel-exporter.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The image: by digest when one is set, else by tag, "v" and the
appVersion unless image.tag says otherwise (the project's images are tagged
as its releases are: v0.2.0). */}}
{{- define "mediaintel-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* host:port of the Service, as Prometheus reaches it through cluster DNS. */}}
{{- define "mediaintel-exporter.serviceAddress" -}}
{{- printf "%s.%s.svc:%d" (include "mediaintel-exporter.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}

{{/* Namespace of the monitoring objects. */}}
{{- define "mediaintel-exporter.monitorNamespace" -}}
{{- default .Release.Namespace .Values.serviceMonitor.namespace }}
{{- end }}

{{/* Where the mounted files live in the container. */}}
{{- define "mediaintel-exporter.credentialsDir" -}}/etc/mediaintel/credentials{{- end }}
{{- define "mediaintel-exporter.webConfigDir" -}}/etc/mediaintel/web{{- end }}
{{- define "mediaintel-exporter.tlsDir" -}}/etc/mediaintel/tls{{- end }}
{{- define "mediaintel-exporter.stateDir" -}}/var/lib/mediaintel{{- end }}
{{- /* The configuration file's ConfigMap is mounted as a directory (no
subPath), so that the kubelet's updates reach the file. */}}
{{- define "mediaintel-exporter.configDir" -}}/etc/mediaintel/config{{- end }}
{{- define "mediaintel-exporter.configFile" -}}{{ include "mediaintel-exporter.configDir" . }}/config.yml{{- end }}
{{- define "mediaintel-exporter.secretsDir" -}}/etc/mediaintel/secrets{{- end }}

{{/* The ConfigMap holding the accounts' configuration file. */}}
{{- define "mediaintel-exporter.configName" -}}
{{- printf "%s-config" (include "mediaintel-exporter.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Whether any account reads the server role's keys ("true" or ""). */}}
{{- define "mediaintel-exporter.serverRole" -}}
{{- range .Values.accounts }}
{{- if .serverRole }}true{{ break }}{{ end }}
{{- end }}
{{- end }}

{{/*
The exporter's configuration file (docs/configuration.md) for the accounts
value: key files where the Deployment mounts each account's Secret, or
server_role. Every value is written as JSON, which YAML reads as it is
(strings quoted, numbers and lists as given); an optional setting is
written only when the account has it, so that the flags stay its default.
*/}}
{{- define "mediaintel-exporter.configYAML" -}}
{{- $secrets := include "mediaintel-exporter.secretsDir" . -}}
# The exporter's configuration file (--config.file; docs/configuration.md),
# rendered by the chart from its accounts value. Edit the values, not this.
accounts:
{{- range $a := .Values.accounts }}
  - name: {{ $a.name | toJson }}
    {{- if $a.serverRole }}
    server_role: true
    {{- else }}
    access_key_file: {{ printf "%s/%s/access-key" $secrets $a.name | toJson }}
    secret_key_file: {{ printf "%s/%s/secret-key" $secrets $a.name | toJson }}
    {{- end }}
    {{- range $value, $key := dict "apiURL" "api_url" "workspaces" "workspaces" "projectInclude" "project_include" "projectExclude" "project_exclude" "countOnly" "count_only" "rateLimit" "rate_limit" "rateBurst" "rate_burst" "concurrency" "concurrency" "statusRate" "status_rate" "labels" "labels" }}
    {{- if hasKey $a $value }}
    {{ $key }}: {{ index $a $value | toJson }}
    {{- end }}
    {{- end }}
{{- end }}
{{- end }}

{{/*
The scrape's TLS and basic auth, shared by the ServiceMonitor endpoints, the
ScrapeConfig and its HTTP service discovery.
*/}}
{{- define "mediaintel-exporter.scrapeAuth" -}}
{{- with .Values.serviceMonitor.tlsConfig }}
tlsConfig:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.serviceMonitor.basicAuth }}
basicAuth:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
How Prometheus stores the histograms: the prometheus-operator fields of
the ServiceMonitor and ScrapeConfig specs (NativeHistogramConfig). A value
set to null is left out, and so left to Prometheus. The operator leaves
out a field the Prometheus resource's version does not know.
*/}}
{{- define "mediaintel-exporter.histograms" -}}
{{- $sm := .Values.serviceMonitor }}
{{- range $field := list "scrapeNativeHistograms" "scrapeClassicHistograms" "convertClassicHistogramsToNHCB" }}
{{- $v := index $sm $field }}
{{- if not (kindIs "invalid" $v) }}
{{ $field }}: {{ $v }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Relabelings giving the /metrics or /internal/metrics target a name that
survives a pod restart.
*/}}
{{- define "mediaintel-exporter.stableInstance" -}}
{{- if .Values.serviceMonitor.stableInstance }}
- action: replace
  targetLabel: instance
  replacement: {{ include "mediaintel-exporter.fullname" . }}
- action: labeldrop
  regex: pod|container
{{- end }}
{{- end }}

{{/* Checks of value combinations that the schema cannot express. */}}
{{- define "mediaintel-exporter.validate" -}}
{{- if and .Values.serviceMonitor.enabled .Values.serviceMonitor.stableInstance (gt (int .Values.replicaCount) 1) }}
{{- fail "serviceMonitor.stableInstance gives every replica's target the same labels: with replicaCount > 1 set it to false (and read the README's \"Replicas\" first)" }}
{{- end }}
{{- if and .Values.credentials.create (not .Values.demo) (not .Values.accounts) }}
{{- if or (not .Values.credentials.accessKey) (not .Values.credentials.secretKey) }}
{{- fail "credentials.create needs credentials.accessKey and credentials.secretKey" }}
{{- end }}
{{- end }}
{{- if .Values.accounts }}
{{- if .Values.demo }}
{{- fail "demo=true brings its own two accounts: leave accounts empty with it (the exporter refuses --demo with --config.file)" }}
{{- end }}
{{- if .Values.credentials.create }}
{{- fail "credentials.create makes a Secret that no account reads: with accounts, name each account's Secret in its existingSecret" }}
{{- end }}
{{- end }}
{{- $seen := dict }}
{{- range $i, $a := .Values.accounts }}
{{- $what := printf "accounts[%d] (%s)" $i (toString $a.name) }}
{{- if hasKey $seen (toString $a.name) }}
{{- fail (printf "%s: the name %s is also that of accounts[%d]; each account needs a name of its own (the value of its account label)" $what (toString $a.name) (get $seen (toString $a.name))) }}
{{- end }}
{{- $_ := set $seen (toString $a.name) $i }}
{{- if and $a.existingSecret $a.serverRole }}
{{- fail (printf "%s: both existingSecret and serverRole: give exactly one source of the account's key" $what) }}
{{- end }}
{{- if not (or $a.existingSecret $a.serverRole) }}
{{- fail (printf "%s: no key: give existingSecret (a Secret holding the account's key) or serverRole: true" $what) }}
{{- end }}
{{- if hasKey ($a.labels | default dict) "account" }}
{{- fail (printf "%s: labels has a label named account, which the exporter sets itself (the account's name)" $what) }}
{{- end }}
{{- if and $a.serverRole (or (hasKey $a "accessKeyKey") (hasKey $a "secretKeyKey")) }}
{{- fail (printf "%s: accessKeyKey and secretKeyKey name keys of existingSecret; a serverRole account has none" $what) }}
{{- end }}
{{- end }}
{{- if .Values.background.enabled }}
{{- range .Values.extraArgs }}
{{- if and (hasPrefix "--scrape.cache-ttl=" .) (not (has (trimPrefix "--scrape.cache-ttl=" .) (list "0" "0s"))) }}
{{- fail (printf "extraArgs: %s with background.enabled: the refresh keeps every figure in memory, so the exporter refuses a cache TTL in background mode; drop it" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A probe's handler: a GET of path over the exporter's scheme, or the TCP port
when basic auth guards every path. Called with (dict "root" . "path" P):
/-/healthy for liveness (the process serves), /-/ready for readiness (it
serves and, with --status.state-file, has loaded its state; neither asks
the API, so a bad key does not take the pod out of the Service).
*/}}
{{- define "mediaintel-exporter.probeHandler" -}}
{{- if .root.Values.web.basicAuth }}
tcpSocket:
  port: http
{{- else }}
httpGet:
  path: {{ .path }}
  port: http
  scheme: {{ upper .root.Values.web.scheme }}
{{- end }}
{{- end }}
