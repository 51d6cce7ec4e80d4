# Images for every topology, from one file:
#
#   (default, last stage) the Node image: the gateway and the app's own server.
#       docker build -t node-gateway-stack .
#       gateway (default command):  node server/dist/cli.js $APP_MODULE (app/dist/app.js)
#       the app's own server:       node app/dist/standalone.js
#   --target nginx: nginx with this project's config templates and the app's static files.
#
# Another app, same file: build arguments say where it is and how it is built
# (docker-compose.yml passes them from the variables of the same names):
#   APP_DIR     (app)                        the app's folder: a workspace of the root
#                                            package.json, with its package.json
#   APP_BUILD   (npm run build -w @gw/app)   its build command, run in /src after the
#                                            gateway's build; empty: nothing to build
#   APP_MODULE  (app/dist/app.js)            MODULE[:EXPORT] the gateway hosts (ENV
#                                            APP_MODULE in the image, for the default command)
#   APP_HEALTH_PATH  (/healthz)              what the healthcheck asks for a 200 (ENV)
#   e.g. --build-arg APP_DIR=examples --build-arg APP_BUILD= \
#        --build-arg APP_MODULE=examples/express/app.mjs --build-arg APP_HEALTH_PATH=/
# Static files: $APP_DIR/static after the build, if there is one, are what nginx
# serves under /static/ (the sample app makes app/static, with a .gz and a .br
# beside each text file: app/scripts/precompress.mjs, so nothing is compressed
# per request and nothing is written at run time); else nginx has none.
#
# Buildable by the legacy builder (docker-compose 1.29, DOCKER_BUILDKIT=0) and by
# BuildKit alike: no `# syntax=` line, no RUN --mount, no heredocs.
# Base images are pinned to exact versions; the nginx one must equal the version
# the config is tested with (test/containers.test.ts).

ARG APP_DIR=app
ARG APP_BUILD="npm run build -w @gw/app"
ARG APP_MODULE=app/dist/app.js
ARG APP_HEALTH_PATH=/healthz

# ---- build: compile TypeScript and make the static files (dev dependencies) ----
FROM node:26.10.0-trixie-slim AS build
ARG APP_DIR
ARG APP_BUILD
WORKDIR /src
# Manifests first, so the npm ci layer is reused until a manifest or the lock changes.
COPY package.json package-lock.json tsconfig.base.json ./
COPY config/package.json config/
COPY server/package.json server/
COPY loadtest/package.json loadtest/
COPY ${APP_DIR}/package.json ${APP_DIR}/
# --ignore-scripts: the root `prepare` script builds the tree, and only the manifests are here
# yet; the build runs below, once the sources are copied. (No dependency needs its own script.)
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY config config
COPY server server
COPY ${APP_DIR} ${APP_DIR}
# The limits loader and the gateway, then the app's own build (if any). What the
# later stages take is staged under /out: the app's folder without node_modules
# (the build's, with dev dependencies; the runtime stage installs its own), and
# its static files, or an empty folder when it has none.
RUN npm run build -w @gw/limits && npm run build -w nodicorn \
  && if [ -n "$APP_BUILD" ]; then sh -c "$APP_BUILD"; fi \
  && mkdir -p "/out/app/$APP_DIR" /out/static \
  && cp -a "$APP_DIR/." "/out/app/$APP_DIR/" \
  && find /out/app -name node_modules -prune -exec rm -rf {} + \
  && if [ -d "$APP_DIR/static" ]; then cp -a "$APP_DIR/static/." /out/static/; fi

# ---- nginx: the reverse proxy of the `proxy` and `full` topologies ----
FROM nginx:1.30.6 AS nginx
# The image's default site is not included by our nginx.conf; remove it so no
# entrypoint script tries to edit it.
RUN rm -f /etc/nginx/conf.d/default.conf
# The config: nginx/includes as they are, and nginx/templates, which the image's
# 20-envsubst-on-templates.sh renders at every start into NGINX_ENVSUBST_OUTPUT_DIR
# on the tmpfs (the root filesystem is read-only), substituting NGINX_* variables
# only (nginx's own $host and friends stay). Each rendered file is linked from
# its place under /etc/nginx (nginx.conf, includes/site.conf, ...), so
# `nginx -t` and `nginx -s reload` find it as usual. 15-check-template-env.envsh
# checks the variables and applies their defaults before that (a bad value stops
# the container, naming it); the body limit's default is bodyLimitBytes of
# config/limits.json, copied here.
ENV NGINX_ENVSUBST_OUTPUT_DIR=/tmp/nginx-conf NGINX_ENVSUBST_FILTER=NGINX_
COPY nginx/includes /etc/nginx/includes
COPY nginx/templates /etc/nginx/templates
COPY config/limits.json /etc/nginx/limits.json
RUN cd /etc/nginx/templates && find . -type f -name '*.template' | while read -r t; do \
      f=${t#./}; f=${f%.template}; mkdir -p "$(dirname "/etc/nginx/$f")"; \
      ln -sfn "$NGINX_ENVSUBST_OUTPUT_DIR/$f" "/etc/nginx/$f"; \
    done && test -L /etc/nginx/nginx.conf
COPY nginx/docker-entrypoint.d/15-check-template-env.envsh /docker-entrypoint.d/
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
# The app's static files from the same build (none: an empty folder), served by nginx itself.
COPY --from=build /out/static /srv/www/static
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
ARG APP_DIR
ARG APP_MODULE
ARG APP_HEALTH_PATH
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
# The app the default command hosts and the path its healthcheck asks (the build
# arguments, kept for run time).
ENV APP_MODULE=$APP_MODULE APP_HEALTH_PATH=$APP_HEALTH_PATH
# The gateway's control socket (docs/control-socket.md), on the /tmp tmpfs (the root filesystem is
# read-only), mode 0600 for the node user: `docker exec CONTAINER node server/dist/cli.js ctl workers`
# finds it through the same variable. Unset it (-e GATEWAY_CONTROL_SOCKET=) to turn it off.
ENV GATEWAY_CONTROL_SOCKET=/tmp/nodicorn.sock
WORKDIR /app
COPY package.json package-lock.json ./
COPY config/package.json config/
COPY server/package.json server/
COPY loadtest/package.json loadtest/
COPY ${APP_DIR}/package.json ${APP_DIR}/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# Both the gateway and the app read config/limits.json at run time, through its loader
# (the @gw/limits workspace package, linked by npm ci).
COPY config config
COPY --from=build /src/config/dist config/dist
COPY --from=build /src/server/dist server/dist
# The app's folder after its build (dist/, static/, ...), without node_modules.
COPY --from=build /out/app/ ./
# The official image's unprivileged user (uid 1000); nothing in /app is writable by it.
USER node
EXPOSE 8000
# Makes the gateway's development certificate when asked to (GATEWAY_CERTFILE
# under /tmp and absent; dev-certificate.sh, the recipe nginx's image runs too),
# then runs the base image's docker-entrypoint.sh.
COPY scripts/dev-certificate.sh docker/gateway-entrypoint.sh /usr/local/bin/
# Node's own http(s): no curl in the image. HTTPS when the gateway terminates TLS
# (GATEWAY_CERTFILE set); the certificate is not verified: this asks 127.0.0.1
# whether the process answers, not who it is. APP_HEALTH_PATH: the sample app's
# /healthz, or any path of another app that answers 200.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const h = process.env.GATEWAY_HEALTH_BIND, i = h ? h.lastIndexOf(':') : -1; require(!h && process.env.GATEWAY_CERTFILE ? 'https' : 'http').get(h ? { host: h.slice(0, i), port: h.slice(i + 1), path: '/readyz' } : { host: '127.0.0.1', port: process.env.PORT || 8000, path: process.env.APP_HEALTH_PATH || '/healthz', rejectUnauthorized: false }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "gateway-entrypoint.sh"]
# The gateway hosting $APP_MODULE. An exec-form CMD cannot expand a variable, so
# `sh -c` does, and `exec` replaces that shell with node: tini's child is the
# gateway master, which gets every signal tini forwards.
CMD ["sh", "-c", "exec node server/dist/cli.js \"$APP_MODULE\""]
