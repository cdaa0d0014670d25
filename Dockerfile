# Caseway node image. Node 24 runs the TypeScript sources directly (no build step).
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY cli ./cli
COPY protocol ./protocol
COPY certs ./certs
COPY node ./node
RUN mkdir /data && chown node:node /data
USER node
ENTRYPOINT ["node", "bin/caseway.js"]
CMD ["--help"]
