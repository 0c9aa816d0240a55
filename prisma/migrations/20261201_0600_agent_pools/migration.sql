-- AlterTable
ALTER TABLE "workspaces" ADD COLUMN     "agent_pool_id" TEXT;

-- CreateTable
CREATE TABLE "agent_pools" (
    "id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "organization_scoped" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agent_pools_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_pool_allowed_workspaces" (
    "agent_pool_id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agent_pool_allowed_workspaces_pkey" PRIMARY KEY ("agent_pool_id","workspace_id")
);

-- CreateTable
CREATE TABLE "agent_tokens" (
    "id" TEXT NOT NULL,
    "agent_pool_id" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "created_by_id" TEXT,
    "last_used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agent_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" TEXT NOT NULL,
    "agent_pool_id" TEXT NOT NULL,
    "agent_token_id" TEXT,
    "name" TEXT,
    "ip_address" TEXT,
    "status" TEXT NOT NULL DEFAULT 'idle',
    "capacity" INTEGER NOT NULL DEFAULT 1,
    "last_ping_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "agent_pools_organization_id_name_key" ON "agent_pools"("organization_id", "name");

-- CreateIndex
CREATE INDEX "agent_pool_allowed_workspaces_workspace_id_idx" ON "agent_pool_allowed_workspaces"("workspace_id");

-- CreateIndex
CREATE UNIQUE INDEX "agent_tokens_token_hash_key" ON "agent_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "agent_tokens_agent_pool_id_idx" ON "agent_tokens"("agent_pool_id");

-- CreateIndex
CREATE INDEX "agents_agent_pool_id_status_idx" ON "agents"("agent_pool_id", "status");

-- CreateIndex
CREATE INDEX "workspaces_agent_pool_id_idx" ON "workspaces"("agent_pool_id");

-- AddForeignKey
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_agent_pool_id_fkey" FOREIGN KEY ("agent_pool_id") REFERENCES "agent_pools"("id") ON DELETE NO ACTION ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_pools" ADD CONSTRAINT "agent_pools_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_pool_allowed_workspaces" ADD CONSTRAINT "agent_pool_allowed_workspaces_agent_pool_id_fkey" FOREIGN KEY ("agent_pool_id") REFERENCES "agent_pools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_pool_allowed_workspaces" ADD CONSTRAINT "agent_pool_allowed_workspaces_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_tokens" ADD CONSTRAINT "agent_tokens_agent_pool_id_fkey" FOREIGN KEY ("agent_pool_id") REFERENCES "agent_pools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agents" ADD CONSTRAINT "agents_agent_pool_id_fkey" FOREIGN KEY ("agent_pool_id") REFERENCES "agent_pools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agents" ADD CONSTRAINT "agents_agent_token_id_fkey" FOREIGN KEY ("agent_token_id") REFERENCES "agent_tokens"("id") ON DELETE SET NULL ON UPDATE CASCADE;

