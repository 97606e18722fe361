# syntax=docker/dockerfile:1

# Build: compile the TypeScript sources to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime: production dependencies, the compiled connector and the sample configuration.
FROM node:20-bookworm-slim
LABEL org.opencontainers.image.title="SpyCloud connector for OpenCTI" \
      org.opencontainers.image.description="Imports SpyCloud breach data into OpenCTI as STIX 2.1" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
# Streaming keeps about 50 MB live; without a limit V8 lets the heap grow to four times that
# before compacting. A 1 GB limit keeps the process under 200 MiB for about 20% more CPU.
ENV NODE_OPTIONS="--max-old-space-size=1024"
WORKDIR /opt/connector
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /build/dist ./dist
COPY config.yml.sample ./
# Settings come from the environment, or from /opt/connector/config.yml mounted read-only
# (or any path given in CONFIG_FILE).
USER node
ENTRYPOINT ["node", "dist/main.js"]
CMD ["run"]
