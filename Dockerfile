# Data container, image `duckdb-s3-query`: loads one table from S3 and serves it on port 8000.
#   docker build -t duckdb-s3-query .
#   docker run -p 8001:8000 -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_REGION \
#     duckdb-s3-query s3://bucket/labels.csv.gz --table-name labels [--nats nats://host:4222]

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-ui.mjs ./scripts/
COPY src ./src
RUN npm run build

FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-slim
LABEL org.opencontainers.image.title="duckdb-s3-query"
ENV NODE_ENV=production
# malloc keeps freed memory for reuse instead of returning it to the kernel: on VMs each first
# touch of a page costs ~10 µs, and scans churn through large buffers (README, Performance).
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 8000
# Loading a large table takes a while: /health answers 503 until it is in memory.
HEALTHCHECK --interval=10s --timeout=5s --start-period=300s --retries=3 CMD ["node", "/app/dist/tools/healthcheck.js"]
ENTRYPOINT ["node", "/app/dist/cli.js", "serve"]
