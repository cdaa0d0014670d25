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
ENTRYPOINT ["caseway"]
CMD ["--help"]
