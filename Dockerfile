# The Strata worker and the reference Master in one image (DESIGN.md "Ship and show", docs/deploy.md).
#   docker build -t strata .
#   docker run -p 8080:8080 strata                 # worker: isolate and WASM tiers need nothing more
#   docker run -p 7070:7070 -p 7080:7080 strata master
# Offline (no registry, as in CI): deploy/image/offline-base.sh imports a base from this machine's
# own Node 24 and npm cache; pass it with --build-arg BASE=... --build-arg BUILD_BASE=...
ARG BASE=node:24-bookworm-slim
# The stages that run npm; the offline base adds an npm cache here so `npm ci` needs no network.
ARG BUILD_BASE=${BASE}

# Production dependencies only (native addons come prebuilt: isolated-vm, jco).
FROM ${BUILD_BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/postinstall.mjs scripts/
RUN npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error

# The dashboard and API reference assets (esbuild, Preact, uPlot, swagger-ui-dist are dev dependencies).
FROM ${BUILD_BASE} AS ui
WORKDIR /build
COPY package-lock.json /tmp/project-lock.json
COPY ui/deps-lock.mjs /tmp/
RUN node /tmp/deps-lock.mjs /tmp/project-lock.json /build \
 && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
COPY ui ui
RUN node ui/build.ts ui/dist

FROM ${BASE}
# bubblewrap for the process tier, tini as PID 1; the offline base already has both.
RUN if ! command -v bwrap >/dev/null 2>&1 || ! command -v tini >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends bubblewrap tini && rm -rf /var/lib/apt/lists/*; \
    fi \
 && echo 'strata:x:10001:10001:strata:/var/lib/strata:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'strata:x:10001:' >> /etc/group \
 && mkdir -p /var/lib/strata /etc/strata && chown 10001:10001 /var/lib/strata
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json package-lock.json ./
COPY bin bin
COPY proto proto
COPY wit wit
COPY sandboxes sandboxes
COPY src src
COPY --from=ui /build/ui/dist ui/dist
COPY deploy/image/strata.sh /usr/local/bin/strata
ENV NODE_ENV=production \
    STRATA_HOST=0.0.0.0 \
    STRATA_PORT=8080 \
    STRATA_MASTER_GRPC=0.0.0.0:7070 \
    STRATA_MASTER_HTTP=0.0.0.0:7080 \
    STRATA_DATA_DIR=/var/lib/strata \
    STRATA_LOG_FORMAT=json
# Non-root: the isolate and WASM tiers need no privilege. The process and Docker tiers need the
# host facilities docs/deploy.md lists (run those as root with them, e.g. --user 0).
USER 10001:10001
VOLUME /var/lib/strata
EXPOSE 8080 7070 7080
# Healthy when the worker (STRATA_PORT) or the Master (STRATA_MASTER_HTTP) answers /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const m=(process.env.STRATA_MASTER_HTTP||'').split(':').pop();Promise.any([process.env.STRATA_PORT||8080,m||7080].map(p=>fetch('http://127.0.0.1:'+p+'/healthz').then(r=>{if(!r.ok)throw r.status}))).then(()=>process.exit(0),()=>process.exit(1))"]
ENTRYPOINT ["strata"]
CMD ["serve"]
