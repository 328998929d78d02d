{{/* Chart name (nameOverride wins). */}}
{{- define "minefleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: <release>-<chart>, or the release name when it already contains the chart name.
Truncated to 63 characters (DNS label).
*/}}
{{- define "minefleet.fullname" -}}
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

{{- define "minefleet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "minefleet.labels" -}}
helm.sh/chart: {{ include "minefleet.chart" . }}
{{ include "minefleet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: minefleet
{{- end }}

{{/* The operator pods' selector (immutable in a Deployment: never add labels to it). */}}
{{- define "minefleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "minefleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "minefleet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "minefleet.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository[:tag|@digest]; tag defaults to the chart's appVersion. */}}
{{- define "minefleet.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The miner image: the operator image unless minerImage overrides parts of it. */}}
{{- define "minefleet.minerImage" -}}
{{- $repo := default .Values.image.repository .Values.minerImage.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.minerImage.tag }}
{{- $digest := .Values.minerImage.digest }}
{{- if and (not $digest) (not .Values.minerImage.repository) (not .Values.minerImage.tag) }}
{{- $digest = .Values.image.digest }}
{{- end }}
{{- if $digest }}
{{- printf "%s@%s" $repo $digest }}
{{- else }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
{{- end }}

{{/*
The operator's namespaced permissions, used by the ClusterRole (all namespaces) or by one Role
per watched namespace. Derived from the code:
- informers (list + watch; get is granted with them, it reveals nothing list does not):
  minerfleets, miningpools, secrets (the cache keeps key names only), and every kind a fleet owns;
- server-side apply (PATCH, creating when absent) of the owned kinds: ServiceAccount, Role,
  RoleBinding, two ConfigMaps, Service, Deployment;
- MinerFleet status through the status subresource (server-side apply = patch); MiningPool
  status likewise for the pool prober (DESIGN.md section 4; not in the code yet);
- Events: create, and patch to bump the count of a repeated event;
- NetworkPolicies: as the owned kinds, plus delete (a fleet's opt-out);
- the API server's own endpoints (EndpointSlice, else Endpoints `default/kubernetes`), read by
  name for the miners' egress rule: a Role in `default` (templates/rbac.yaml).
The miner Role the operator creates grants get/list/watch on one ConfigMap; RBAC lets a
subject create a Role only with permissions it holds itself, which the configmaps rule covers.
*/}}
{{- define "minefleet.rules" -}}
- apiGroups: ["minefleet.io"]
  resources: ["minerfleets", "miningpools"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["minefleet.io"]
  resources: ["minerfleets/status", "miningpools/status"]
  verbs: ["patch"]
# Owner references with blockOwnerDeletion need update on the owner's finalizers where the
# OwnerReferencesPermissionEnforcement admission plugin is on.
- apiGroups: ["minefleet.io"]
  resources: ["minerfleets/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["configmaps", "services", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
# The fleets' NetworkPolicies: applied like the other owned kinds, and deleted when a fleet opts
# out (spec.networkPolicy.enabled: false), the one owned kind the operator ever deletes.
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The fleets' miner pods: the collector scrapes the ready ones (a trimmed cache: IP, readiness, labels);
# Weighted failover assigns each pod a pool (names only).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
{{- end }}

{{/* The watched namespaces, validated (a list of DNS labels). */}}
{{- define "minefleet.watchNamespaces" -}}
{{- if not (kindIs "slice" .Values.watchNamespaces) }}
{{- fail "watchNamespaces must be a list of namespace names (empty: all namespaces)" }}
{{- end }}
{{- range .Values.watchNamespaces }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .) }}
{{- fail (printf "watchNamespaces: %q is not a valid namespace name" .) }}
{{- end }}
{{- end }}
{{- join "," (uniq .Values.watchNamespaces) }}
{{- end }}

{{/* matchLabels as k=v,k2=v2 (sorted by key), the form the operator's selector flags take. */}}
{{- define "minefleet.selectorString" -}}
{{- $parts := list }}
{{- range $k, $v := . }}
{{- $parts = append $parts (printf "%s=%s" $k $v) }}
{{- end }}
{{- join "," $parts }}
{{- end }}
