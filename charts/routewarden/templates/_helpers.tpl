{{/*
Names. With the release named "routewarden" (as docs/install.md does) every
object is named "routewarden", exactly as in deploy/base.
*/}}
{{- define "routewarden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "routewarden.fullname" -}}
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

{{/* Selector labels: immutable on a DaemonSet, so never the version. */}}
{{- define "routewarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "routewarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "routewarden.labels" -}}
{{ include "routewarden.selectorLabels" . }}
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 }}
{{- end }}

{{- define "routewarden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "routewarden.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository[:tag][@digest]; the tag defaults to the chart's appVersion. */}}
{{- define "routewarden.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- if .Values.image.tag }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- end }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "routewarden.proxyImage" -}}
{{- $i := .Values.kubeRbacProxy.image }}
{{- if $i.digest }}
{{- printf "%s:%s@%s" $i.repository $i.tag $i.digest }}
{{- else }}
{{- printf "%s:%s" $i.repository $i.tag }}
{{- end }}
{{- end }}

{{/*
The address routewarden listens on (--listen): config.listen when set, else
":<port>", or "127.0.0.1:<port>" behind kube-rbac-proxy, which then takes
<port> on the node's own address.
*/}}
{{- define "routewarden.listen" -}}
{{- if not (kindIs "invalid" .Values.config.listen) }}
{{- .Values.config.listen }}
{{- else if .Values.kubeRbacProxy.enabled }}
{{- printf "127.0.0.1:%d" (int .Values.port) }}
{{- else }}
{{- printf ":%d" (int .Values.port) }}
{{- end }}
{{- end }}

{{/* The port of the listen address: the container port the probes and the Service use. */}}
{{- define "routewarden.listenPort" -}}
{{- $listen := include "routewarden.listen" . }}
{{- $port := regexFind "[0-9]+$" $listen }}
{{- if not $port }}
{{- fail (printf "config.listen %q has no port: write HOST:PORT or :PORT" $listen) }}
{{- end }}
{{- $port }}
{{- end }}

{{/*
One ROUTEWARDEN_<FLAG> variable per config value that is set (not null). The
keys are the flags in camelCase (src/cli/options.ts); snakecase + upper turns
maxDeletions into MAX_DELETIONS. YAML numbers reach templates as float64:
integers are printed as integers so that 4294967295 stays 4294967295.
*/}}
{{- define "routewarden.configEnv" -}}
{{- range $key, $value := .Values.config }}
{{- if and (not (kindIs "invalid" $value)) (ne $key "listen") }}
- name: {{ printf "ROUTEWARDEN_%s" ($key | snakecase | upper) }}
  {{- if or (kindIs "float64" $value) (kindIs "int64" $value) (kindIs "int" $value) }}
  value: {{ printf "%d" (int64 $value) | quote }}
  {{- else }}
  value: {{ toString $value | quote }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels kube-prometheus-stack selects on: release: <its release>, plus any extra. */}}
{{- define "routewarden.monitoringLabels" -}}
{{- if .root.Values.monitoring.release }}
release: {{ .root.Values.monitoring.release | quote }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end }}
