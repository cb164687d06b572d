# syntax=docker/dockerfile:1
# Callroom: multi-stage build on Node 24 LTS. Nothing is downloaded at run time.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
# pocketsphinx is the bundled offline recogniser (wideband); flite voices ship inside the npm package.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpocketsphinx3 pocketsphinx-en-us tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY config ./config
RUN groupadd --system callroom && useradd --system --gid callroom --home /app callroom
USER callroom
# SIP (UDP/TCP), HTTP/WS, and the default RTP range.
EXPOSE 5060/udp 5060/tcp 8080/tcp 20000-29999/udp
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/callroom.mjs"]
CMD ["serve", "--config", "config/docker.yaml"]
