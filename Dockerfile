# One image for every Tarmac process; each compose service's `command` picks the app.
#   docker build -t tarmac .
#   docker run tarmac                                   # the gateway (default)
#   docker run tarmac node --import tsx apps/worker/src/main.ts
#   docker run tarmac node --import tsx apps/notifier/src/main.ts
FROM node:20-bookworm-slim

WORKDIR /app

# The whole repository: npm workspaces need every package's manifest and the apps run from
# TypeScript sources through tsx (there is no build output). .dockerignore keeps out
# node_modules, git history and generated code.
COPY . .

# Dev dependencies are installed on purpose: tsx (the runtime loader) and the prisma CLI
# (the migrate service) are among them. The Prisma client is generated into packages/db;
# the URL only satisfies env("DATABASE_URL") in the schema, generate never connects.
RUN npm ci --no-audit --no-fund \
 && DATABASE_URL=postgresql://build@127.0.0.1:5432/build npx prisma generate \
 && npm cache clean --force

ENV NODE_ENV=production
USER node
EXPOSE 8080

# node itself is the main process (no npm/npx wrapper in between), so SIGTERM reaches the
# app's shutdown handlers directly.
CMD ["node", "--import", "tsx", "apps/gateway/src/main.ts"]
