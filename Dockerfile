# syntax=docker/dockerfile:1
#
# ScaiKey server image. The build stage compiles the TypeScript sources to plain JavaScript
# (`npm run build` → dist/), so no TypeScript compiler runs in the container; the final stage
# copies that and the production dependencies onto a clean slim base and runs as the
# unprivileged `node` user.
#
#   docker build -t scaikey-server .
#   docker run --rm -p 8000:8000 -e MONGODB_URI=mongodb://… -e SCAIKEY_ENCRYPTION_KEY=… scaikey-server
#
# Production needs MONGODB_URI and SCAIKEY_ENCRYPTION_KEY (the server refuses to start without
# them); see deploy/compose.yaml for a replica-set deployment.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: all dependencies, compile, then keep only the production ones ---------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# bcrypt ships prebuilt binaries for linux-x64/arm64 (glibc and musl); the toolchain is only a
# fallback for other platforms and never reaches the final image. Works on Debian and Alpine
# bases alike (--build-arg NODE_IMAGE=node:24-alpine gives a smaller image).
RUN if command -v apt-get >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*; \
    else \
      apk add --no-cache python3 make g++; \
    fi
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY spec ./spec
COPY generated ./generated
COPY handlers ./handlers
COPY mocks ./mocks
COPY scripts ./scripts
# The last step fails the build now, not at the first login, if the native binding cannot load.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && node -e "require('bcrypt').hashSync('x', 4); require('argon2')"

# ---- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_LEVEL=info \
    SCAIKEY_OUTBOX_DIR=/app/.data/outbox

COPY --from=build --chown=root:root /app/node_modules ./node_modules
# dist/ holds the compiled server, the admin CLI (dist/scripts/scaikey.js), the spec and the
# pages' assets at the places the code reads them from.
COPY --from=build --chown=root:root /app/dist ./dist

# Sources stay root-owned and read-only to the server; it may write only the dev mail outbox
# (used when SMTP_URL is unset).
RUN mkdir -p /app/.data/outbox && chown -R node:node /app/.data
USER node

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Node handles SIGTERM itself (drains in-flight requests, then exits); run with an init
# (`docker run --init`, compose `init: true`) so stray children are reaped.
STOPSIGNAL SIGTERM
CMD ["node", "dist/handlers/main.js"]
