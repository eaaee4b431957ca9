# syntax=docker/dockerfile:1
#
# routewarden's container image: the bundled dist/, bin/ and production
# dependencies on Node.js 24. Build it with BuildKit (docker build, docker
# buildx build, podman build):
#
#   npm run image          (buildah, docker or podman; tags routewarden:<version>)
#   docker build -t routewarden:0.1.0 --build-arg BUILD_REVISION=$(git rev-parse HEAD) .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/routewarden:0.1.0 --push .
#
# Base image: the official node:24-bookworm-slim, for the build and at run
# time. The runtime needs /usr/bin/env, because `routewarden` on PATH is
# bin/routewarden.js with its `#!/usr/bin/env node` line, and the glibc that the
# `netlink` package's native binding (built in prod-deps on the same image) is
# linked against. Distroless nodejs24 has glibc but no
# /usr/bin/env, so it could only run `node /app/bin/routewarden.js`, not the
# `routewarden` entrypoint. Pin NODE_IMAGE to a digest in your release build.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: every dependency, the bundle into dist/ (scripts/build.ts) ------
# npm ci's postinstall (scripts/netlink-native.mjs) compiles the netlink
# package's native binding from routewarden's patched copy (native/netlink/
# binding.cc says why), so both install stages need python3, make and g++.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Node's headers for node-gyp come from Debian's libnode-dev (Node-API is
# ABI-stable across Node versions): node-gyp would otherwise download them.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ libnode-dev && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr
COPY package.json package-lock.json .npmrc ./
COPY scripts/netlink-native.mjs ./scripts/
COPY native ./native
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
# The git revision baked into the bundle (--version, routewarden_build_info):
# the context has no .git, so `npm run image` passes it; "unknown" without.
ARG BUILD_REVISION
RUN npm run build

# --- prod-deps: production dependencies only ---------------------------------
# Its own stage rather than `npm prune --omit=dev` after the build: the result
# depends on package.json and the lockfile alone, so this layer (most of the
# image) stays cached and unchanged across source changes. The postinstall
# builds netlink's patched binding into node_modules/netlink/build/Release,
# which node-gyp-build loads before the package's prebuilt addons; the
# toolchain stays in this stage, only node_modules reaches the runtime.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
# Node's headers for node-gyp come from Debian's libnode-dev (Node-API is
# ABI-stable across Node versions): node-gyp would otherwise download them.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ libnode-dev && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr
COPY package.json package-lock.json .npmrc ./
COPY scripts/netlink-native.mjs ./scripts/
COPY native ./native
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

# --- runtime -------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG BUILD_REVISION=unknown
LABEL org.opencontainers.image.title="routewarden" \
      org.opencontainers.image.description="Keeps kube-vip's routing table honest" \
      org.opencontainers.image.source="https://github.com/routewarden/routewarden" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${BUILD_REVISION}"
ENV NODE_ENV=production
WORKDIR /app
# npm, npx, corepack and yarn are not needed to run routewarden; without them
# the image has less to patch. `routewarden` goes on PATH as a symlink to the
# entry script, which resolves dist/ relative to its real location.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
        /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && ln -s /app/bin/routewarden.js /usr/local/bin/routewarden
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY --chmod=0755 bin ./bin
COPY --from=build /app/dist ./dist
# The files belong to root and are read-only to the process. Unprivileged by
# default (uid/gid 1000, the image's `node` user, numeric so that Kubernetes'
# runAsNonRoot can verify it): enough for detection, since netlink route dumps
# and route notifications need no privilege. Repair (--remediate) adds and
# deletes routes in the host's network namespace, which needs CAP_NET_ADMIN
# as an effective capability: deploy/base runs the container as uid 0 with
# every capability dropped except NET_ADMIN (docs/install.md explains why).
USER 1000:1000
EXPOSE 9798
ENTRYPOINT ["routewarden"]
CMD ["run"]
