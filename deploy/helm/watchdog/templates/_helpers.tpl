{{/* Chart name, overridable with nameOverride; 63 characters at most (a DNS label). */}}
{{- define "watchdog.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of every resource: fullnameOverride, else "<release>-<name>" (just the release name when it already contains the chart name). */}}
{{- define "watchdog.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "watchdog.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Namespace of every resource: namespaceOverride, else the release namespace. */}}
{{- define "watchdog.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels (app.kubernetes.io/*) for every resource. */}}
{{- define "watchdog.labels" -}}
helm.sh/chart: {{ include "watchdog.chart" . }}
{{ include "watchdog.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: watchdog
{{- end }}

{{/* Labels the Deployment, Service and PodDisruptionBudget select pods by (never change them: selectors are immutable). */}}
{{- define "watchdog.selectorLabels" -}}
app.kubernetes.io/name: {{ include "watchdog.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the ServiceAccount the pods run as. */}}
{{- define "watchdog.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "watchdog.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion). */}}
{{- define "watchdog.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the ConfigMap holding watchdog.yaml. */}}
{{- define "watchdog.configMapName" -}}
{{- printf "%s-config" (include "watchdog.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the ConfigMap holding the rule files: rules.existingConfigMap, else the chart's own; empty when the image's rules are used. */}}
{{- define "watchdog.rulesConfigMapName" -}}
{{- if .Values.rules.existingConfigMap }}
{{- .Values.rules.existingConfigMap }}
{{- else if .Values.rules.files }}
{{- printf "%s-rules" (include "watchdog.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Name of the Secret the env vars read from: secrets.existingSecret, else the one the chart creates. */}}
{{- define "watchdog.secretName" -}}
{{- default (include "watchdog.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* Name of the PersistentVolumeClaim for the SQLite store. */}}
{{- define "watchdog.claimName" -}}
{{- default (printf "%s-state" (include "watchdog.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* "true" when the ledger is in PostgreSQL. */}}
{{- define "watchdog.postgres" -}}
{{- if eq .Values.database.type "postgresql" }}true{{ end }}
{{- end }}

{{/* "true" when a standalone Deployment is rendered. */}}
{{- define "watchdog.standalone" -}}
{{- if eq .Values.mode "standalone" }}true{{ end }}
{{- end }}

{{/* "true" when a Service is rendered: always standalone; in sidecar mode only with sidecar.podSelector. */}}
{{- define "watchdog.service" -}}
{{- if or (eq .Values.mode "standalone") .Values.sidecar.podSelector }}true{{ end }}
{{- end }}

{{/* Name of the container port: "http" on its own pod, the container name beside LiteLLM (whose own port is "http"). */}}
{{- define "watchdog.portName" -}}
{{- if eq .Values.mode "sidecar" }}{{ .Values.sidecar.containerName | trunc 15 | trimSuffix "-" }}{{ else }}http{{ end }}
{{- end }}

{{/* LiteLLM's URL: litellm.url, else localhost in sidecar mode (4001 beside the litellm chart's backend), else the litellm-helm chart's default Service. */}}
{{- define "watchdog.litellmUrl" -}}
{{- if .Values.litellm.url }}
{{- .Values.litellm.url }}
{{- else if and (eq .Values.mode "sidecar") (eq .Values.sidecar.litellmChart "litellm") }}
{{- "http://localhost:4001" }}
{{- else if eq .Values.mode "sidecar" }}
{{- "http://localhost:4000" }}
{{- else }}
{{- "http://litellm:4000" }}
{{- end }}
{{- end }}
