-- CreateTable
CREATE TABLE "notification_configurations" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "destination_type" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "url" TEXT,
    "token" TEXT,
    "triggers" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "email_addresses" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "email_user_ids" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "delivery_responses" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "notification_configurations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "configuration_id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "run_status" TEXT NOT NULL,
    "run_updated_at" TIMESTAMPTZ(3) NOT NULL,
    "run_updated_by" TEXT,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lease_until" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "notification_configurations_workspace_id_created_at_idx" ON "notification_configurations"("workspace_id", "created_at");

-- CreateIndex
CREATE INDEX "notification_deliveries_state_next_attempt_at_idx" ON "notification_deliveries"("state", "next_attempt_at");

-- CreateIndex
CREATE INDEX "notification_deliveries_run_id_idx" ON "notification_deliveries"("run_id");

-- CreateIndex
CREATE UNIQUE INDEX "notification_deliveries_configuration_id_run_id_trigger_key" ON "notification_deliveries"("configuration_id", "run_id", "trigger");

-- AddForeignKey
ALTER TABLE "notification_configurations" ADD CONSTRAINT "notification_configurations_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_configuration_id_fkey" FOREIGN KEY ("configuration_id") REFERENCES "notification_configurations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

