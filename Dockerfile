# syntax=docker/dockerfile:1
# One image for both programs (WORKDIR /app holds package.json and dist/):
#   operator (default): node dist/operator/src/main.js [--flags]
#   miner:              node dist/miner/src/main.js run --config /etc/minefleet/miner.yaml
# The operator puts the miner command into the pods it creates
# (operator/src/controllers/minerfleet/desired/workload.ts, MINER_COMMAND), which replaces the
# entrypoint below; both paths are relative to WORKDIR.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: all dependencies, TypeScript → dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src operator/src
COPY miner/src miner/src
RUN npm run build

# --- production dependencies only ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="minefleet" \
      org.opencontainers.image.description="Kubernetes operator and miner for fleets of scrypt miners" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="https://github.com/minefleet/minefleet"
ENV NODE_ENV=production
WORKDIR /app
# Files stay root-owned and read-only to the process: it runs with a read-only root filesystem.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist ./dist
# Numeric, so that the kubelet can verify runAsNonRoot; the same UID the operator sets for
# miner pods (MINER_UID in operator/src/controllers/minerfleet/desired/device.ts) and the chart
# sets for the operator.
USER 65532:65532
# operator: metrics 8080, probes 8081; miner: metrics, health and readiness on 9100
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/operator/src/main.js"]
