-- CreateTable
CREATE TABLE "run_tasks" (
    "id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "description" TEXT,
    "category" TEXT NOT NULL DEFAULT 'task',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "hmac_key_encrypted" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "run_tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workspace_run_tasks" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "task_id" TEXT NOT NULL,
    "enforcement_level" TEXT NOT NULL,
    "stages" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "workspace_run_tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_stages" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "status_timestamps" JSONB NOT NULL DEFAULT '{}',
    "overridden_by_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "task_stages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_results" (
    "id" TEXT NOT NULL,
    "task_stage_id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "task_id" TEXT NOT NULL,
    "task_name" TEXT NOT NULL,
    "task_url" TEXT NOT NULL,
    "workspace_task_id" TEXT NOT NULL,
    "enforcement_level" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "status_timestamps" JSONB NOT NULL DEFAULT '{}',
    "message" TEXT,
    "url" TEXT,
    "delivered_at" TIMESTAMPTZ(3),
    "delivery_attempts" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "task_results_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_result_outcomes" (
    "id" TEXT NOT NULL,
    "task_result_id" TEXT NOT NULL,
    "outcome_id" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "url" TEXT,
    "body" TEXT,
    "tags" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_result_outcomes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "run_tasks_organization_id_name_key" ON "run_tasks"("organization_id", "name");

-- CreateIndex
CREATE INDEX "workspace_run_tasks_task_id_idx" ON "workspace_run_tasks"("task_id");

-- CreateIndex
CREATE UNIQUE INDEX "workspace_run_tasks_workspace_id_task_id_key" ON "workspace_run_tasks"("workspace_id", "task_id");

-- CreateIndex
CREATE UNIQUE INDEX "task_stages_run_id_stage_key" ON "task_stages"("run_id", "stage");

-- CreateIndex
CREATE INDEX "task_results_task_stage_id_idx" ON "task_results"("task_stage_id");

-- CreateIndex
CREATE INDEX "task_results_run_id_idx" ON "task_results"("run_id");

-- CreateIndex
CREATE INDEX "task_results_status_idx" ON "task_results"("status");

-- CreateIndex
CREATE INDEX "task_result_outcomes_task_result_id_idx" ON "task_result_outcomes"("task_result_id");

-- AddForeignKey
ALTER TABLE "run_tasks" ADD CONSTRAINT "run_tasks_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspace_run_tasks" ADD CONSTRAINT "workspace_run_tasks_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspace_run_tasks" ADD CONSTRAINT "workspace_run_tasks_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "run_tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_stages" ADD CONSTRAINT "task_stages_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_results" ADD CONSTRAINT "task_results_task_stage_id_fkey" FOREIGN KEY ("task_stage_id") REFERENCES "task_stages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_result_outcomes" ADD CONSTRAINT "task_result_outcomes_task_result_id_fkey" FOREIGN KEY ("task_result_id") REFERENCES "task_results"("id") ON DELETE CASCADE ON UPDATE CASCADE;

