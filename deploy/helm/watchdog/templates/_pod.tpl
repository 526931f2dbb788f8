{{/* The watchdog container, shared by the Deployment and the sidecar values. Argument: (dict "root" $ "sidecar" bool). */}}
{{- define "watchdog.container" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $port := include "watchdog.portName" $root -}}
name: {{ ternary $v.sidecar.containerName "watchdog" .sidecar }}
image: {{ include "watchdog.image" $root | quote }}
imagePullPolicy: {{ $v.image.pullPolicy }}
args:
  - run
  - --config
  - /etc/watchdog/config/watchdog.yaml
env:
  - name: WATCHDOG_CONFIG
    value: /etc/watchdog/config/watchdog.yaml
  {{- with include "watchdog.secretEnv" $root }}
  {{- . | trim | nindent 2 }}
  {{- end }}
  {{- with $v.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with $v.extraEnvFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
ports:
  - name: {{ $port }}
    containerPort: {{ $v.containerPort }}
    protocol: TCP
{{- with $v.probes.startup }}
{{- if .enabled }}
startupProbe:
  httpGet:
    path: /health/liveliness
    port: {{ $port }}
  periodSeconds: {{ .periodSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- with $v.probes.liveness }}
{{- if .enabled }}
livenessProbe:
  httpGet:
    path: /health/liveliness
    port: {{ $port }}
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- if and $v.probes.readiness.enabled (not .sidecar) }}
{{- with $v.probes.readiness }}
readinessProbe:
  httpGet:
    path: /health/readiness
    port: {{ $port }}
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
securityContext:
  {{- toYaml $v.securityContext | nindent 2 }}
resources:
  {{- toYaml $v.resources | nindent 2 }}
volumeMounts:
  - name: watchdog-config
    mountPath: /etc/watchdog/config
    readOnly: true
  {{- if include "watchdog.rulesConfigMapName" $root }}
  - name: watchdog-rules
    mountPath: /etc/watchdog/rules
    readOnly: true
  {{- end }}
  {{- if $v.litellmConfig.existingConfigMap }}
  - name: litellm-config
    mountPath: /etc/litellm
    readOnly: true
  {{- end }}
  - name: watchdog-state
    mountPath: /var/lib/watchdog
  - name: watchdog-tmp
    mountPath: /tmp
  {{- with $v.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* The pod volumes the container mounts (a list). Argument: (dict "root" $ "sidecar" bool). */}}
{{- define "watchdog.volumes" -}}
{{- $root := .root }}
{{- $v := $root.Values -}}
- name: watchdog-config
  configMap:
    name: {{ include "watchdog.configMapName" $root }}
{{- with include "watchdog.rulesConfigMapName" $root }}
- name: watchdog-rules
  configMap:
    name: {{ . }}
{{- end }}
{{- with $v.litellmConfig.existingConfigMap }}
- name: litellm-config
  configMap:
    name: {{ . }}
    items:
      - key: {{ $v.litellmConfig.key }}
        path: {{ $v.litellmConfig.key }}
{{- end }}
- name: watchdog-state
{{- if and $v.persistence.enabled (not .sidecar) }}
  persistentVolumeClaim:
    claimName: {{ include "watchdog.claimName" $root }}
{{- else }}
  emptyDir:
    sizeLimit: 1Gi
{{- end }}
- name: watchdog-tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- with $v.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Values for LiteLLM's chart that add the watchdog container and its volumes to the LiteLLM pod (sidecar mode). */}}
{{- define "watchdog.litellmValues" -}}
{{- $container := include "watchdog.container" (dict "root" . "sidecar" true) | fromYaml }}
{{- $volumes := include "watchdog.volumes" (dict "root" . "sidecar" true) | fromYamlArray }}
{{- $pod := dict "extraContainers" (list $container) "volumes" $volumes }}
{{- if eq .Values.sidecar.litellmChart "litellm" }}
{{- toYaml (dict "backend" $pod) }}
{{- else }}
{{- toYaml $pod }}
{{- end }}
{{- end }}
