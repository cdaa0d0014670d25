# Caseway node image: the package `npm pack` makes (compiled JavaScript), installed globally on
# Node.js 24, the way README.md's "Install" section installs it on a host.
FROM node:24-slim AS package
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm pack --pack-destination /tmp

FROM node:24-slim
ENV NODE_ENV=production
COPY --from=package /tmp/caseway-*.tgz /tmp/
RUN npm install --global --no-audit --no-fund /tmp/caseway-*.tgz && rm /tmp/caseway-*.tgz && npm cache clean --force
RUN mkdir /data && chown node:node /data
USER node
WORKDIR /data
# 8443: the federation listener (mutual TLS), the only port partners reach. The local API
# (8080) listens on the container's loopback: reach it with `docker exec`, or set an `ops`
# listener in caseway.json for Prometheus and probes from outside.
EXPOSE 8443
# Ready: the metadata store answers, the blob store writes and reads back, the certificates are
# valid (GET /readyz on the local listener; `caseway init`'s default port).
ENV CASEWAY_READY_URL=http://127.0.0.1:8080/readyz
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.CASEWAY_READY_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["caseway"]
CMD ["--help"]
