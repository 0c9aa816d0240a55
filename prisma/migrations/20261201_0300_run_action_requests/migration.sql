-- CreateEnum
CREATE TYPE "RunActionRequestStatus" AS ENUM ('pending', 'applied', 'refused');

-- CreateTable
CREATE TABLE "run_action_requests" (
    "id" TEXT NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "run_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "actor_id" TEXT,
    "comment_id" TEXT,
    "force_cancel_available_at" TIMESTAMPTZ(3),
    "status" "RunActionRequestStatus" NOT NULL DEFAULT 'pending',
    "refusal" JSONB,
    "requested_at" TIMESTAMPTZ(3) NOT NULL,
    "decided_at" TIMESTAMPTZ(3),

    CONSTRAINT "run_action_requests_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "run_action_requests_seq_key" ON "run_action_requests"("seq");

-- CreateIndex
CREATE INDEX "run_action_requests_run_id_status_seq_idx" ON "run_action_requests"("run_id", "status", "seq");

-- CreateIndex
CREATE INDEX "run_action_requests_status_requested_at_idx" ON "run_action_requests"("status", "requested_at");

-- AddForeignKey
ALTER TABLE "run_action_requests" ADD CONSTRAINT "run_action_requests_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
