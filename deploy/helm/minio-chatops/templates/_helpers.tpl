{{/* Names and labels. */}}
{{- define "minio-chatops.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "minio-chatops.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "minio-chatops.labels" -}}
{{ include "minio-chatops.selectorLabels" . }}
app.kubernetes.io/part-of: minio-chatops
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Cluster-scoped objects are shared by every release: name them after the release and its namespace. */}}
{{- define "minio-chatops.clusterName" -}}
{{- $name := include "minio-chatops.fullname" . -}}
{{- if eq $name .Release.Namespace -}}{{ $name }}{{ else }}{{ printf "%s-%s" $name .Release.Namespace | trunc 63 | trimSuffix "-" }}{{ end -}}
{{- end -}}

{{/* The one subject every binding names: the release's ServiceAccount. */}}
{{- define "minio-chatops.subjects" -}}
subjects:
  - kind: ServiceAccount
    name: {{ include "minio-chatops.fullname" . }}
    namespace: {{ .Release.Namespace }}
{{- end -}}

{{- define "minio-chatops.ha" -}}
{{- if eq .Values.store.type "postgresql" }}true{{ end -}}
{{- end -}}

{{/*
Refusals: values the schema cannot judge alone. Each message names the value
and what to do. Included once, by the Deployment.
*/}}
{{- define "minio-chatops.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (ne .Values.store.type "postgresql") -}}
{{- fail (printf "replicaCount is %d but store.type is %q: SQLite is one file in one pod and cannot be shared by several replicas. Set store.type=postgresql (with store.postgresql.existingSecret holding the URL), or replicaCount=1." (int .Values.replicaCount) .Values.store.type) -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled (ge (int .Values.podDisruptionBudget.minAvailable) (int .Values.replicaCount)) -}}
{{- fail (printf "podDisruptionBudget.minAvailable is %d with replicaCount %d: a node drain would wait forever. Raise replicaCount or disable podDisruptionBudget." (int .Values.podDisruptionBudget.minAvailable) (int .Values.replicaCount)) -}}
{{- end -}}
{{- if eq .Values.slack.httpPort .Values.metrics.port -}}
{{- fail (printf "slack.httpPort and metrics.port are both %d: /metrics has its own port so that only Prometheus may reach it." (int .Values.metrics.port)) -}}
{{- end -}}
{{- $_ := include "minio-chatops.namespaces" . -}}
{{- end -}}

{{/*
What the RBAC grants in each tenant namespace, derived from config:
  <namespace>: {secrets: [...], consoles: [...], tenants: [...], discover: bool}
Secrets: each tenant's credentials Secret (its `credentials.secret`; without
credentials the operator's <tenant>-env-configuration), <tenant>-tls, and
rbac.extraSecrets. Tenants by name unless a cluster discovers that namespace.
*/}}
{{- define "minio-chatops.namespaces" -}}
{{- $out := dict -}}
{{- range $i, $c := .Values.config.clusters -}}
{{- $discover := ternary $c.discover true (hasKey $c "discover") -}}
{{- range $n := $c.namespaces -}}
{{- $prev := get $out $n | default (dict "secrets" (list) "consoles" (list) "tenants" (list) "discover" false) -}}
{{- $_ := set $prev "discover" (or $prev.discover $discover) -}}
{{- $_ := set $out $n $prev -}}
{{- end -}}
{{- end -}}
{{- range $i, $t := .Values.config.tenants | default list -}}
{{- with $t.kubernetes -}}
{{- $ns := .namespace -}}
{{- $name := .tenant | default $t.name -}}
{{- $entry := get $out $ns -}}
{{- if not $entry -}}
{{- fail (printf "config.tenants[%d] (%s): namespace %q is not in any config.clusters[].namespaces; list it there so the bot may read it." $i $t.name $ns) -}}
{{- end -}}
{{- $secrets := append $entry.secrets (printf "%s-tls" $name) -}}
{{- $creds := $t.credentials | default dict -}}
{{- if $creds.secret -}}
{{- if and $creds.namespace (ne $creds.namespace $ns) -}}
{{- fail (printf "config.tenants[%d] (%s): credentials.namespace %q differs from the tenant's namespace %q; keep the Secret next to the Tenant." $i $t.name $creds.namespace $ns) -}}
{{- end -}}
{{- $secrets = append $secrets $creds.secret -}}
{{- else if not $t.credentials -}}
{{- $secrets = append $secrets (printf "%s-env-configuration" $name) -}}
{{- end -}}
{{- $_ := set $entry "secrets" $secrets -}}
{{- $_ := set $entry "consoles" (append $entry.consoles (printf "%s-console" $name)) -}}
{{- $_ := set $entry "tenants" (append $entry.tenants $name) -}}
{{- end -}}
{{- end -}}
{{- range $ns, $names := .Values.rbac.extraSecrets | default dict -}}
{{- $entry := get $out $ns -}}
{{- if not $entry -}}
{{- fail (printf "rbac.extraSecrets: namespace %q is not in any config.clusters[].namespaces." $ns) -}}
{{- end -}}
{{- $_ := set $entry "secrets" (concat $entry.secrets $names) -}}
{{- end -}}
{{- range $ns, $entry := $out -}}
{{- $_ := set $entry "secrets" ($entry.secrets | uniq | sortAlpha) -}}
{{- $_ := set $entry "consoles" ($entry.consoles | uniq | sortAlpha) -}}
{{- $_ := set $entry "tenants" ($entry.tenants | uniq | sortAlpha) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The MinIO Operator of each cluster: {<namespace>: [deployment names]}. */}}
{{- define "minio-chatops.operators" -}}
{{- $out := dict -}}
{{- range .Values.config.clusters -}}
{{- $op := .operator | default dict -}}
{{- $ns := $op.namespace | default "minio-operator" -}}
{{- $_ := set $out $ns (append (get $out $ns | default (list)) ($op.deployment | default "minio-operator") | uniq | sortAlpha) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* config.yaml: the user's config plus what the chart owns. */}}
{{- define "minio-chatops.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $slack := dict "mode" .Values.slack.mode "http_port" (int .Values.slack.httpPort) "workers" (int .Values.slack.workers) -}}
{{- with .Values.slack.teamId }}{{ $_ := set $slack "team_id" . }}{{ end -}}
{{- with .Values.slack.appId }}{{ $_ := set $slack "app_id" . }}{{ end -}}
{{- $_ := set $cfg "slack" $slack -}}
{{- $_ := set $cfg "metrics_port" (int .Values.metrics.port) -}}
{{- $clusters := list -}}
{{- range .Values.config.clusters -}}
{{- $clusters = append $clusters (merge (dict "in_cluster" true) (deepCopy .)) -}}
{{- end -}}
{{- $_ := set $cfg "clusters" $clusters -}}
{{- if include "minio-chatops.ha" . -}}
{{- $_ := set $cfg "leader_election" (dict "name" .Values.leaderElection.leaseName "lease_seconds" (int .Values.leaderElection.leaseSeconds)) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The environment of the bot and of its doctor: config path, identity, Secrets, store. */}}
{{- define "minio-chatops.env" -}}
- name: MINIO_CHATOPS_CONFIG
  value: /etc/minio-chatops/config.yaml
- name: LOG_LEVEL
  value: INFO
# The root filesystem is read-only: anything that wants a home or cache dir gets /tmp.
- name: HOME
  value: /tmp
# Leader election identity and namespace (the Lease lives next to the bot).
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: SLACK_BOT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.slack.existingSecret }}
      key: {{ .Values.slack.botTokenKey }}
# Alertmanager's webhook (/alertmanager) accepts only this bearer token; without it, nothing.
- name: ALERTMANAGER_WEBHOOK_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.slack.existingSecret }}
      key: {{ .Values.slack.alertmanagerTokenKey | default "alertmanager-webhook-token" }}
      optional: true
{{- if ne .Values.slack.mode "http" }}
# Socket Mode{{ if eq .Values.slack.mode "auto" }} when this key is present{{ end }}.
- name: SLACK_APP_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.slack.existingSecret }}
      key: {{ .Values.slack.appTokenKey }}
      {{- if eq .Values.slack.mode "auto" }}
      optional: true
      {{- end }}
{{- end }}
{{- if ne .Values.slack.mode "socket" }}
# HTTP mode: the signing secret verifies each request.
- name: SLACK_SIGNING_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.slack.existingSecret }}
      key: {{ .Values.slack.signingSecretKey }}
      {{- if eq .Values.slack.mode "auto" }}
      optional: true
      {{- end }}
{{- end }}
- name: MINIO_CHATOPS_STORE_URL
{{- if include "minio-chatops.ha" . }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.store.postgresql.existingSecret }}
      key: {{ .Values.store.postgresql.urlKey }}
{{- else }}
  value: sqlite:////var/lib/minio-chatops/state.db
{{- end }}
{{- end -}}

{{- define "minio-chatops.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "minio-chatops.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Mounts shared by the bot and its doctor: config (read-only), /tmp, the SQLite volume. */}}
{{- define "minio-chatops.volumeMounts" -}}
- name: config
  mountPath: /etc/minio-chatops
  readOnly: true
# The root filesystem is read-only; Python, chart rendering and uploads write only here.
- name: tmp
  mountPath: /tmp
{{- if not (include "minio-chatops.ha" .) }}
- name: state
  mountPath: /var/lib/minio-chatops
{{- end }}
{{- end -}}

{{- define "minio-chatops.volumes" -}}
- name: config
  configMap:
    name: {{ include "minio-chatops.fullname" . }}-config
- name: tmp
  emptyDir:
    sizeLimit: 128Mi
{{- if not (include "minio-chatops.ha" .) }}
- name: state
  {{- if .Values.store.sqlite.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "minio-chatops.fullname" . }}-state
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- end -}}
