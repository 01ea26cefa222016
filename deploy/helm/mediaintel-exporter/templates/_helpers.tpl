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
{{- if and .Values.credentials.create (not .Values.demo) }}
{{- if or (not .Values.credentials.accessKey) (not .Values.credentials.secretKey) }}
{{- fail "credentials.create needs credentials.accessKey and credentials.secretKey" }}
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
