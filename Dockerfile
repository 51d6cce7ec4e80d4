# Images for every topology, from one file:
#
#   (default, last stage) the Node image: the gateway and the app's own server.
#       docker build -t node-gateway-stack .
#       gateway (default command):  node server/dist/cli.js app/dist/app.js
#       the app's own server:       node app/dist/standalone.js
#   --target nginx: nginx with this project's config and the app's static files.
#
# Buildable by the legacy builder (docker-compose 1.29, DOCKER_BUILDKIT=0) and by
# BuildKit alike: no `# syntax=` line, no RUN --mount, no heredocs.
# Base images are pinned to exact versions; the nginx one must equal the version
# the config is tested with (test/containers.test.ts).

# ---- build: compile TypeScript and make the static files (dev dependencies) ----
FROM node:26.10.0-trixie-slim AS build
WORKDIR /src
# Manifests first, so the npm ci layer is reused until a manifest or the lock changes.
COPY package.json package-lock.json tsconfig.base.json ./
COPY config/package.json config/
COPY app/package.json app/
COPY server/package.json server/
COPY loadtest/package.json loadtest/
# --ignore-scripts: the root `prepare` script builds the tree, and only the manifests are here
# yet; the build runs below, once the sources are copied. (No dependency needs its own script.)
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY config config
COPY app app
COPY server server
RUN npm run build && node app/scripts/make-static.mjs

# ---- nginx: the reverse proxy of the `proxy` and `full` topologies ----
FROM nginx:1.26.3 AS nginx
# The image's default site is not included by our nginx.conf; remove it so no
# entrypoint script tries to edit it.
RUN rm -f /etc/nginx/conf.d/default.conf
COPY nginx/nginx.conf /etc/nginx/nginx.conf
COPY nginx/includes /etc/nginx/includes
# TLS: /etc/nginx/certs/tls.crt and tls.key, where nginx.conf reads them, are
# links into the tmpfs. Mount a real certificate over /etc/nginx/certs; without
# one, 30-tls-certificate.sh has dev-certificate.sh (the project's one recipe)
# make a self-signed development certificate there at start (with openssl, which
# the base image has through ca-certificates, whose bundle verifies stapled OCSP
# answers: checked here so a base without either fails the build, not the start).
RUN openssl version && test -s /etc/ssl/certs/ca-certificates.crt \
  && mkdir -p /etc/nginx/certs \
  && ln -s /tmp/nginx-dev-cert/tls.crt /etc/nginx/certs/tls.crt \
  && ln -s /tmp/nginx-dev-cert/tls.key /etc/nginx/certs/tls.key
COPY scripts/dev-certificate.sh /usr/local/bin/
COPY nginx/docker-entrypoint.d/30-tls-certificate.sh /docker-entrypoint.d/
# Reloads nginx when the backend's addresses change (recreated or scaled containers).
COPY nginx/docker-entrypoint.d/40-reload-on-upstream-change.sh /docker-entrypoint.d/
# The same files the app would serve, from the same build, served by nginx itself.
COPY --from=build /src/app/static /srv/www/static
# uid 101 is the image's `nginx` user; ports 8080 (HTTP: health, redirect) and
# 8443 (HTTPS, HTTP/2) because it cannot bind below 1024.
USER 101:101
EXPOSE 8080 8443
# bash's /dev/tcp: a health probe with nothing installed. HTTP/1.0 without a
# Host header lands on the default server, which answers /nginx-health.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /nginx-health HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# ---- runtime: the gateway or the app's own server (production dependencies only) ----
FROM node:26.10.0-trixie-slim AS runtime
# tini as PID 1: forwards SIGTERM/SIGHUP/... to the gateway master (a process 1
# without handlers would ignore them) and reaps orphaned processes. openssl makes
# the gateway's development certificate (scripts/dev-certificate.sh).
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini openssl \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
# Listen on all interfaces of the container, port 8000: the gateway binds
# 0.0.0.0:$PORT when PORT is set, the app's own server reads HOST and PORT.
ENV HOST=0.0.0.0 PORT=8000
WORKDIR /app
COPY package.json package-lock.json ./
COPY config/package.json config/
COPY app/package.json app/
COPY server/package.json server/
COPY loadtest/package.json loadtest/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# Both the gateway and the app read config/limits.json at run time, through its loader
# (the @gw/limits workspace package, linked by npm ci).
COPY config config
COPY --from=build /src/config/dist config/dist
COPY --from=build /src/app/dist app/dist
COPY --from=build /src/app/static app/static
COPY --from=build /src/server/dist server/dist
# The official image's unprivileged user (uid 1000); nothing in /app is writable by it.
USER node
EXPOSE 8000
# Makes the gateway's development certificate when asked to (GATEWAY_CERTFILE
# under /tmp and absent; dev-certificate.sh, the recipe nginx's image runs too),
# then runs the base image's docker-entrypoint.sh.
COPY scripts/dev-certificate.sh docker/gateway-entrypoint.sh /usr/local/bin/
# Node's own http(s): no curl in the image. HTTPS when the gateway terminates TLS
# (GATEWAY_CERTFILE set); the certificate is not verified: this asks 127.0.0.1
# whether the process answers, not who it is.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require(process.env.GATEWAY_CERTFILE ? 'https' : 'http').get({ host: '127.0.0.1', port: process.env.PORT || 8000, path: '/healthz', rejectUnauthorized: false }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "gateway-entrypoint.sh"]
CMD ["node", "server/dist/cli.js", "app/dist/app.js"]
