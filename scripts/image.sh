#!/usr/bin/env bash
# `npm run image`: the project image, built here without any registry.
#   1. a base image made from this machine's Node binary and the shared libraries it loads
#      (minefleet.local/node-base:<node version>), cached by version;
#   2. the build context: dist/ (npm run build), production node_modules (`npm ci --omit=dev`
#      from npm's cache), package.json and build/ (native addons, if any);
#   3. `buildah bud --isolation chroot` of the project's Dockerfile on that base;
#   4. a docker-archive in .cache/images/minefleet.tar that test/support/node.ts imports into
#      containerd (the chart then runs it with pullPolicy Never).
# The same Dockerfile builds on a public base: `bash scripts/image.sh --context-only` then
#   docker build -f Dockerfile .cache/image/context
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MINEFLEET_CACHE:-$ROOT/.cache}
IMAGE=${MINEFLEET_IMAGE:-minefleet.local/minefleet:dev}
NODE_BIN=$(command -v node)
NODE_VERSION=$(node --version)
BASE=minefleet.local/node-base:$NODE_VERSION
CTX=$CACHE/image/context
OUT=$CACHE/images/minefleet.tar
log() { printf '[image] %s\n' "$*" >&2; }
fail() { printf '[image] FAILED: %s\n' "$*" >&2; exit 1; }
mkdir -p "$CACHE/images" "$CACHE/image"

context() {
  log "context: npm run build"
  (cd "$ROOT" && npm run --silent build) || fail "npm run build failed"
  rm -rf "$CTX" && mkdir -p "$CTX/build"
  cp "$ROOT/package.json" "$CTX/"
  cp -r "$ROOT/dist" "$CTX/dist"
  # Native addons built outside the image (node-gyp puts them in build/); empty when none.
  if [ -d "$ROOT/build" ]; then cp -r "$ROOT/build/." "$CTX/build/"; fi
  touch "$CTX/build/.keep"
  # Production dependencies only, the lockfile's versions; from npm's cache when it has them.
  cp "$ROOT/package-lock.json" "$CTX/"
  (cd "$CTX" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null) \
    || fail "context: npm ci --omit=dev failed"
  rm -f "$CTX/package-lock.json"
  [ -d "$CTX/node_modules/zod" ] || fail "context: production node_modules look incomplete (no zod)"
}

base() {
  if buildah inspect --type image "$BASE" >/dev/null 2>&1; then log "base $BASE: cached"; return; fi
  log "base $BASE from $NODE_BIN"
  local root; root=$(mktemp -d "$CACHE/image/base-XXXX")
  mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/etc/ssl/certs"
  chmod 1777 "$root/tmp"
  cp "$NODE_BIN" "$root/usr/local/bin/node"
  # The loader and every library node links against, at the same paths.
  ldd "$NODE_BIN" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
  done
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"; fi
  local c; c=$(buildah from scratch)
  buildah copy "$c" "$root" / >/dev/null
  buildah config --env PATH=/usr/local/bin:/usr/bin:/bin --cmd '["node"]' --os linux --arch amd64 "$c"
  buildah commit --quiet "$c" "$BASE" >/dev/null
  buildah rm "$c" >/dev/null
  rm -rf "$root"
}

build() {
  log "buildah bud $IMAGE (base $BASE)"
  buildah bud --quiet --isolation chroot --pull=never --layers=false --build-arg "NODE_IMAGE=$BASE" \
    -f "$ROOT/Dockerfile" -t "$IMAGE" "$CTX" >/dev/null || fail "buildah bud failed"
  rm -f "$OUT.tmp"
  buildah push --quiet "$IMAGE" "docker-archive:$OUT.tmp:$IMAGE" >/dev/null || fail "buildah push to $OUT failed"
  mv "$OUT.tmp" "$OUT"
  log "$IMAGE -> $OUT ($(du -h "$OUT" | cut -f1))"
}

start=$(date +%s)
command -v buildah >/dev/null || fail "buildah not found: run npm run provision"
context
[ "${1:-}" = "--context-only" ] && { log "context in $CTX"; exit 0; }
base
build
log "done in $(( $(date +%s) - start ))s"
