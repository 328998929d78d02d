#!/usr/bin/env bash
# One command on a fresh machine: install dependencies, obtain the real components, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
echo "[test-all] npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "[test-all] provision real components"
bash scripts/provision.sh
echo "[test-all] build + project image (npm run image: dist/, then buildah; the e2e tier runs it)"
bash scripts/image.sh
echo "[test-all] lint: typescript-eslint (type-aware) and prettier --check over the whole tree"
if ! npm run --silent lint; then
  echo "[test-all] FAILED: lint found problems (above); fix them, or run 'npm run format' for prettier's" >&2
  exit 1
fi
echo "[test-all] lint clean"
echo "[test-all] vitest (setup took $(( $(date +%s) - t0 ))s)"
npx vitest run
