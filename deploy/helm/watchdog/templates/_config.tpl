{{/* The environment variable each secret is injected as; the config refers to them as os.environ/NAME. */}}
{{- define "watchdog.secretEnvNames" -}}
litellmMasterKey: LITELLM_MASTER_KEY
databaseUrl: WATCHDOG_DATABASE_URL
slackToken: SLACK_BOT_TOKEN
slackWebhookUrl: SLACK_WEBHOOK_URL
smtpPassword: SMTP_PASSWORD
webhookSecret: WEBHOOK_SECRET
callbackToken: CALLBACK_TOKEN
{{- end }}

{{/* Where one secret comes from, as YAML {name, key, optional}, or "" when nothing provides it. Argument: (list $ "litellmMasterKey"). */}}
{{- define "watchdog.secretSource" -}}
{{- $root := index . 0 }}
{{- $item := index . 1 }}
{{- $s := $root.Values.secrets }}
{{- $required := or (eq $item "litellmMasterKey") (eq $item "databaseUrl") }}
{{- $override := get ($s.overrides | default dict) $item }}
{{- if $override }}
{{- toYaml (dict "name" $override.name "key" $override.key "optional" false) }}
{{- else if $s.existingSecret }}
{{- toYaml (dict "name" (include "watchdog.secretName" $root) "key" (get $s.keys $item) "optional" (not $required)) }}
{{- else if get $s.values $item }}
{{- toYaml (dict "name" (include "watchdog.secretName" $root) "key" (get $s.keys $item) "optional" false) }}
{{- end }}
{{- end }}

{{/* "true" when the chart creates a Secret: no secrets.existingSecret and at least one value in secrets.values. */}}
{{- define "watchdog.ownSecret" -}}
{{- if not .Values.secrets.existingSecret }}
{{- range $item, $value := .Values.secrets.values }}
{{- if $value }}true{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Environment variables from the Secret(s): one secretKeyRef per provided secret (the database URL only with PostgreSQL). */}}
{{- define "watchdog.secretEnv" -}}
{{- $names := include "watchdog.secretEnvNames" . | fromYaml }}
{{- range $item := list "litellmMasterKey" "databaseUrl" "slackToken" "slackWebhookUrl" "smtpPassword" "webhookSecret" "callbackToken" }}
{{- $source := include "watchdog.secretSource" (list $ $item) | fromYaml }}
{{- if and $source (or (ne $item "databaseUrl") (include "watchdog.postgres" $)) }}
- name: {{ get $names $item }}
  valueFrom:
    secretKeyRef:
      name: {{ $source.name | quote }}
      key: {{ $source.key | quote }}
      optional: {{ $source.optional }}
{{- end }}
{{- end }}
{{- end }}

{{/* watchdog.yaml: the user's `config` merged with what the chart manages (LiteLLM URL and key, rules, store, HTTP port). */}}
{{- define "watchdog.config" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $litellm := dict "url" (include "watchdog.litellmUrl" .) }}
{{- if include "watchdog.secretSource" (list . "litellmMasterKey") }}
{{- $_ := set $litellm "master_key" "os.environ/LITELLM_MASTER_KEY" }}
{{- end }}
{{- $managed := dict "litellm" $litellm "rules" (list "/etc/watchdog/rules") }}
{{- $http := dict "host" "0.0.0.0" "port" (int .Values.containerPort) }}
{{- if include "watchdog.secretSource" (list . "callbackToken") }}
{{- $_ := set $http "callback_token" "os.environ/CALLBACK_TOKEN" }}
{{- end }}
{{- $_ := set $managed "http" $http }}
{{- with .Values.litellmConfig.existingConfigMap }}
{{- $_ := set $managed "litellm_config" (printf "/etc/litellm/%s" $.Values.litellmConfig.key) }}
{{- end }}
{{- if include "watchdog.postgres" . }}
{{- $_ := set $managed "database_url" "os.environ/WATCHDOG_DATABASE_URL" }}
{{- else }}
{{- $_ := set $managed "state_file" (printf "/var/lib/watchdog/%s" .Values.database.sqliteFile) }}
{{- end }}
{{- toYaml (mustMergeOverwrite $config $managed) }}
{{- end }}

{{/* Fail early, with what to change, on combinations the schema cannot express (never printing a secret). */}}
{{- define "watchdog.validate" -}}
{{- $postgres := include "watchdog.postgres" . }}
{{- include "watchdog.noLiteralSecrets" (list "config" .Values.config) }}
{{- with .Values.secrets.values.databaseUrl }}
{{- if not (regexMatch "^postgres(ql)?://." .) }}
{{- fail "secrets.values.databaseUrl: expected a URL such as postgresql://user:password@host:5432/watchdog (the value given is not shown)." }}
{{- end }}
{{- end }}
{{- with .Values.secrets.values.slackWebhookUrl }}
{{- if not (hasPrefix "https://" .) }}
{{- fail "secrets.values.slackWebhookUrl: expected an https:// URL such as Slack's https://hooks.slack.com/services/… (the value given is not shown)." }}
{{- end }}
{{- end }}
{{- if and (eq .Values.mode "standalone") (gt (int .Values.replicaCount) 1) (not $postgres) }}
{{- fail (printf "replicaCount: %d needs PostgreSQL: set database.type: postgresql and give the URL in secrets (values.databaseUrl, existingSecret key %q, or overrides.databaseUrl). Replicas cannot share the embedded SQLite file; one replica holds the leader lock, the others stand by." (int .Values.replicaCount) .Values.secrets.keys.databaseUrl) }}
{{- end }}
{{- if and $postgres (not (include "watchdog.secretSource" (list . "databaseUrl"))) }}
{{- fail "database.type: postgresql needs the database URL: set secrets.values.databaseUrl, secrets.existingSecret (with the key in secrets.keys.databaseUrl), or secrets.overrides.databaseUrl." }}
{{- end }}
{{- if and (not $postgres) (not .Values.secrets.existingSecret) .Values.secrets.values.databaseUrl }}
{{- fail "secrets.values.databaseUrl is set but database.type is sqlite: set database.type: postgresql to use it." }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") (not $postgres) (not .Values.sidecar.allowSqlite) }}
{{- fail "mode: sidecar runs one watchdog per LiteLLM pod, and they share alert state only through PostgreSQL: set database.type: postgresql (a database on LiteLLM's own server works), or sidecar.allowSqlite: true for a single LiteLLM pod you accept may re-send notices after each rollout." }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (eq .Values.mode "standalone") (lt (int .Values.replicaCount) 2) }}
{{- fail "podDisruptionBudget.enabled needs replicaCount > 1 (with PostgreSQL): with one replica a PodDisruptionBudget either blocks node drains or protects nothing." }}
{{- end }}
{{- if and .Values.persistence.enabled $postgres }}
{{- fail "persistence.enabled keeps the SQLite store on a volume, but database.type is postgresql: turn persistence off (the ledger lives in PostgreSQL)." }}
{{- end }}
{{- range $name, $text := .Values.rules.files }}
{{- $doc := fromYaml $text }}
{{- if hasKey $doc "Error" }}
{{- fail (printf "rules.files.%s: expected YAML with a `budgets:` list at the top (%s); check rule files with: budget-watchdog check FILE" $name (get $doc "Error")) }}
{{- end }}
{{- if not (hasKey $doc "budgets") }}
{{- fail (printf "rules.files.%s: missing `budgets:` (the list of budgets in this file); check rule files with: budget-watchdog check FILE" $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Fail on a literal secret anywhere in `config`: it would be stored in a ConfigMap. Argument: (list "config.path" value). */}}
{{- define "watchdog.noLiteralSecrets" -}}
{{- $path := index . 0 }}
{{- $value := index . 1 }}
{{- $secretKeys := list "master_key" "token" "webhook_url" "secret" "password" "callback_token" "database_url" }}
{{- if kindIs "map" $value }}
{{- range $key, $item := $value }}
{{- $where := printf "%s.%s" $path $key }}
{{- if and (has $key $secretKeys) (not (kindIs "map" $item)) (not (kindIs "slice" $item)) (not (kindIs "invalid" $item)) }}
{{- include "watchdog.envRefOnly" (list $where $item) }}
{{- else if and (eq $key "headers") (kindIs "map" $item) }}
{{- range $header, $text := $item }}
{{- include "watchdog.envRefOnly" (list (printf "%s.%s" $where $header) $text) }}
{{- end }}
{{- else }}
{{- include "watchdog.noLiteralSecrets" (list $where $item) }}
{{- end }}
{{- end }}
{{- else if kindIs "slice" $value }}
{{- range $i, $item := $value }}
{{- include "watchdog.noLiteralSecrets" (list (printf "%s[%d]" $path $i) $item) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Fail unless a secret setting is an os.environ/NAME reference; the value itself is never printed. Argument: (list "config.path" value). */}}
{{- define "watchdog.envRefOnly" -}}
{{- $where := index . 0 }}
{{- $text := toString (index . 1) }}
{{- if not (regexMatch "^os\\.environ/[A-Za-z_][A-Za-z0-9_]*$" $text) }}
{{- fail (printf "%s: write os.environ/NAME here, not the secret itself (config is stored in a ConfigMap). Put the value in secrets.values, secrets.existingSecret or extraEnv, and reference its variable, e.g. os.environ/SLACK_BOT_TOKEN. The value given is not shown." $where) }}
{{- end }}
{{- end }}
