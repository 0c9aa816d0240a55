# One image for every Tarmac process; each compose service's `command` picks the app.
#   docker build -t tarmac .
#   docker run tarmac                                   # the gateway (default)
#   docker run tarmac node --enable-source-maps apps/worker/dist/main.js
#   docker run tarmac node --enable-source-maps apps/notifier/dist/main.js
#   docker run -e TARMAC_ADDRESS=… -e TARMAC_AGENT_TOKEN=… tarmac node --enable-source-maps --use-openssl-ca apps/agent/dist/main.js
FROM node:20-bookworm-slim

WORKDIR /app

# The whole repository: npm workspaces need every package's manifest, and the build bundles the
# apps from their TypeScript sources. .dockerignore keeps out node_modules, git history,
# generated code and local build output.
COPY . .

# Dev dependencies are installed on purpose: esbuild and turbo (the build) and the prisma CLI
# (the migrate service) are among them. The Prisma client is generated into packages/db;
# the URL only satisfies env("DATABASE_URL") in the schema, generate never connects.
# `npm run build` (turbo run build) bundles each app into apps/<app>/dist/main.js with a
# source map: the processes run compiled JavaScript.
RUN npm ci --no-audit --no-fund \
 && DATABASE_URL=postgresql://build@127.0.0.1:5432/build npm run build \
 && npm cache clean --force

ENV NODE_ENV=production
# V8 heap settings for every app in the image (compose runs them all from it): 2 MB semi-spaces
# instead of up to 16 MB, resident whether used or not, and a 384 MB old generation, which makes
# V8 collect before growing far past what is live. Fresh gateway RSS ~168 → ~115 MB.
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=384"
# At most two glibc malloc arenas: by default each thread that allocates (V8's compiler and GC
# threads, libuv's pool) gets one of its own, and what they freed stays resident in it (a fresh
# gateway ~113 → ~107 MB RSS). The apps allocate on the main thread almost only.
ENV MALLOC_ARENA_MAX=2
USER node
EXPOSE 8080

# node itself is the main process (no npm/npx wrapper in between), so SIGTERM reaches the
# app's shutdown handlers directly.
CMD ["node", "--enable-source-maps", "apps/gateway/dist/main.js"]
