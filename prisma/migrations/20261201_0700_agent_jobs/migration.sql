-- AlterTable
ALTER TABLE "plans" ADD COLUMN     "execution_details" JSONB;

-- AlterTable
ALTER TABLE "applies" ADD COLUMN     "execution_details" JSONB;

-- CreateTable
CREATE TABLE "agent_jobs" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "phase" TEXT NOT NULL,
    "agent_pool_id" TEXT NOT NULL,
    "job_url" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "agent_id" TEXT,
    "attempt" BIGINT NOT NULL,
    "signal" TEXT,
    "claimed_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agent_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "agent_jobs_agent_pool_id_status_created_at_idx" ON "agent_jobs"("agent_pool_id", "status", "created_at");

-- CreateIndex
CREATE INDEX "agent_jobs_agent_id_status_idx" ON "agent_jobs"("agent_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "agent_jobs_run_id_phase_key" ON "agent_jobs"("run_id", "phase");

-- AddForeignKey
ALTER TABLE "agent_jobs" ADD CONSTRAINT "agent_jobs_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_jobs" ADD CONSTRAINT "agent_jobs_agent_pool_id_fkey" FOREIGN KEY ("agent_pool_id") REFERENCES "agent_pools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_jobs" ADD CONSTRAINT "agent_jobs_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE SET NULL ON UPDATE CASCADE;

