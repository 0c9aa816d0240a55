-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateEnum
CREATE TYPE "AccessLevel" AS ENUM ('read', 'plan', 'write', 'admin');

-- CreateEnum
CREATE TYPE "TokenKind" AS ENUM ('user', 'team', 'organization');

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('pending', 'fetching', 'fetching_completed', 'pre_plan_running', 'pre_plan_completed', 'queuing', 'plan_queued', 'planning', 'planned', 'cost_estimating', 'cost_estimated', 'policy_checking', 'policy_override', 'policy_soft_failed', 'policy_checked', 'confirmed', 'post_plan_running', 'post_plan_completed', 'planned_and_finished', 'planned_and_saved', 'apply_queued', 'applying', 'applied', 'discarded', 'errored', 'canceled', 'force_canceled');

-- CreateEnum
CREATE TYPE "PhaseStatus" AS ENUM ('pending', 'managed_queued', 'queued', 'running', 'errored', 'canceled', 'finished', 'unreachable');

-- CreateEnum
CREATE TYPE "ConfigurationVersionStatus" AS ENUM ('pending', 'fetching', 'uploaded', 'archived', 'errored');

-- CreateEnum
CREATE TYPE "VariableCategory" AS ENUM ('terraform', 'env');

-- CreateEnum
CREATE TYPE "StateVersionStatus" AS ENUM ('pending', 'finalized', 'discarded');

-- CreateEnum
CREATE TYPE "CostEstimateStatus" AS ENUM ('pending', 'queued', 'finished', 'errored', 'canceled', 'skipped_due_to_targeting');

-- CreateTable
CREATE TABLE "organizations" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "run_concurrency" INTEGER NOT NULL DEFAULT 10,
    "cost_estimation_enabled" BOOLEAN NOT NULL DEFAULT false,
    "session_timeout" INTEGER,
    "session_remember" INTEGER,
    "collaborator_auth_policy" TEXT NOT NULL DEFAULT 'password',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "organizations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "username" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "is_site_admin" BOOLEAN NOT NULL DEFAULT false,
    "is_service_account" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "teams" (
    "id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "is_owners" BOOLEAN NOT NULL DEFAULT false,
    "visibility" TEXT NOT NULL DEFAULT 'secret',
    "manage_workspaces" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "teams_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "team_memberships" (
    "team_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "team_memberships_pkey" PRIMARY KEY ("team_id","user_id")
);

-- CreateTable
CREATE TABLE "team_workspace_access" (
    "id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "access" "AccessLevel" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "team_workspace_access_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" TEXT NOT NULL,
    "kind" "TokenKind" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "description" TEXT,
    "user_id" TEXT,
    "team_id" TEXT,
    "organization_id" TEXT,
    "created_by_id" TEXT,
    "last_used_at" TIMESTAMPTZ(3),
    "expired_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workspaces" (
    "id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "auto_apply" BOOLEAN NOT NULL DEFAULT false,
    "locked" BOOLEAN NOT NULL DEFAULT false,
    "locked_reason" TEXT,
    "locked_by_user_id" TEXT,
    "locked_by_team_id" TEXT,
    "locked_at" TIMESTAMPTZ(3),
    "terraform_version" TEXT NOT NULL DEFAULT 'latest',
    "working_directory" TEXT,
    "execution_mode" TEXT NOT NULL DEFAULT 'remote',
    "speculative_enabled" BOOLEAN NOT NULL DEFAULT true,
    "queue_all_runs" BOOLEAN NOT NULL DEFAULT false,
    "structured_run_output_enabled" BOOLEAN NOT NULL DEFAULT false,
    "allow_destroy_plan" BOOLEAN NOT NULL DEFAULT true,
    "file_triggers_enabled" BOOLEAN NOT NULL DEFAULT true,
    "global_remote_state" BOOLEAN NOT NULL DEFAULT false,
    "source" TEXT NOT NULL DEFAULT 'tfe-api',
    "tag_names" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "agent_pool_name" TEXT,
    "resource_count" INTEGER NOT NULL DEFAULT 0,
    "current_run_id" TEXT,
    "current_state_version_id" TEXT,
    "latest_configuration_version_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "workspaces_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workspace_variables" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL DEFAULT '',
    "description" TEXT,
    "category" "VariableCategory" NOT NULL,
    "hcl" BOOLEAN NOT NULL DEFAULT false,
    "sensitive" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "workspace_variables_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "configuration_versions" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "status" "ConfigurationVersionStatus" NOT NULL DEFAULT 'pending',
    "source" TEXT NOT NULL DEFAULT 'tfe-api',
    "speculative" BOOLEAN NOT NULL DEFAULT false,
    "provisional" BOOLEAN NOT NULL DEFAULT false,
    "auto_queue_runs" BOOLEAN NOT NULL DEFAULT true,
    "error" TEXT,
    "error_message" TEXT,
    "archive_blob_id" TEXT,
    "status_timestamps" JSONB NOT NULL DEFAULT '{}',
    "created_by_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "configuration_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "runs" (
    "id" TEXT NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "organization_id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "configuration_version_id" TEXT NOT NULL,
    "status" "RunStatus" NOT NULL DEFAULT 'pending',
    "status_timestamps" JSONB NOT NULL DEFAULT '{}',
    "status_changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "operation" TEXT NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'tfe-api',
    "trigger_reason" TEXT NOT NULL DEFAULT 'manual',
    "message" TEXT NOT NULL DEFAULT 'Queued manually via the Terraform Enterprise API',
    "is_destroy" BOOLEAN NOT NULL DEFAULT false,
    "refresh" BOOLEAN NOT NULL DEFAULT true,
    "refresh_only" BOOLEAN NOT NULL DEFAULT false,
    "plan_only" BOOLEAN NOT NULL DEFAULT false,
    "save_plan" BOOLEAN NOT NULL DEFAULT false,
    "auto_apply" BOOLEAN NOT NULL DEFAULT false,
    "allow_empty_apply" BOOLEAN NOT NULL DEFAULT false,
    "allow_config_generation" BOOLEAN NOT NULL DEFAULT false,
    "debugging_mode" BOOLEAN NOT NULL DEFAULT false,
    "terraform_version" TEXT NOT NULL,
    "target_addrs" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "replace_addrs" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "variables" JSONB NOT NULL DEFAULT '[]',
    "has_changes" BOOLEAN NOT NULL DEFAULT false,
    "agent_pool_name" TEXT,
    "commit_sha" TEXT,
    "vcs_username" TEXT,
    "created_by_id" TEXT,
    "confirmed_by_id" TEXT,
    "canceled_by_id" TEXT,
    "canceled_at" TIMESTAMPTZ(3),
    "cancel_requested_at" TIMESTAMPTZ(3),
    "force_cancel_available_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "plans" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "status" "PhaseStatus" NOT NULL DEFAULT 'pending',
    "status_timestamps" JSONB NOT NULL DEFAULT '{}',
    "has_changes" BOOLEAN NOT NULL DEFAULT false,
    "resource_additions" INTEGER NOT NULL DEFAULT 0,
    "resource_changes" INTEGER NOT NULL DEFAULT 0,
    "resource_destructions" INTEGER NOT NULL DEFAULT 0,
    "resource_imports" INTEGER NOT NULL DEFAULT 0,
    "log_blob_id" TEXT,
    "plan_file_blob_id" TEXT,
    "json_blob_id" TEXT,
    "worker_id" TEXT,
    "heartbeat_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "plans_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "applies" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "status" "PhaseStatus" NOT NULL DEFAULT 'pending',
    "status_timestamps" JSONB NOT NULL DEFAULT '{}',
    "resource_additions" INTEGER NOT NULL DEFAULT 0,
    "resource_changes" INTEGER NOT NULL DEFAULT 0,
    "resource_destructions" INTEGER NOT NULL DEFAULT 0,
    "resource_imports" INTEGER NOT NULL DEFAULT 0,
    "log_blob_id" TEXT,
    "worker_id" TEXT,
    "heartbeat_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "applies_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cost_estimates" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "status" "CostEstimateStatus" NOT NULL DEFAULT 'pending',
    "status_timestamps" JSONB NOT NULL DEFAULT '{}',
    "matched_resources_count" INTEGER NOT NULL DEFAULT 0,
    "unmatched_resources_count" INTEGER NOT NULL DEFAULT 0,
    "resources_count" INTEGER NOT NULL DEFAULT 0,
    "prior_monthly_cost" TEXT NOT NULL DEFAULT '0.00',
    "proposed_monthly_cost" TEXT NOT NULL DEFAULT '0.00',
    "delta_monthly_cost" TEXT NOT NULL DEFAULT '0.00',
    "error_message" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "cost_estimates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "run_events" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "description" TEXT,
    "actor_id" TEXT,
    "comment_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "run_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "comments" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "author_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "comments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "state_versions" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "run_id" TEXT,
    "serial" INTEGER NOT NULL,
    "lineage" TEXT,
    "status" "StateVersionStatus" NOT NULL DEFAULT 'finalized',
    "terraform_version" TEXT,
    "state_blob_id" TEXT,
    "json_state_blob_id" TEXT,
    "size" INTEGER NOT NULL DEFAULT 0,
    "resources" JSONB NOT NULL DEFAULT '[]',
    "modules" JSONB NOT NULL DEFAULT '{}',
    "providers" JSONB NOT NULL DEFAULT '{}',
    "resources_processed" BOOLEAN NOT NULL DEFAULT true,
    "created_by_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "state_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "state_version_outputs" (
    "id" TEXT NOT NULL,
    "state_version_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "sensitive" BOOLEAN NOT NULL DEFAULT false,
    "type" JSONB NOT NULL DEFAULT '"string"',
    "value" JSONB,

    CONSTRAINT "state_version_outputs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "blobs" (
    "id" TEXT NOT NULL,
    "content_type" TEXT NOT NULL DEFAULT 'application/octet-stream',
    "size" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "blobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" BIGSERIAL NOT NULL,
    "msg_id" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "headers" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "organizations_name_key" ON "organizations"("name");

-- CreateIndex
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "teams_organization_id_name_key" ON "teams"("organization_id", "name");

-- CreateIndex
CREATE INDEX "team_memberships_user_id_idx" ON "team_memberships"("user_id");

-- CreateIndex
CREATE INDEX "team_workspace_access_workspace_id_idx" ON "team_workspace_access"("workspace_id");

-- CreateIndex
CREATE UNIQUE INDEX "team_workspace_access_team_id_workspace_id_key" ON "team_workspace_access"("team_id", "workspace_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_user_id_idx" ON "api_tokens"("user_id");

-- CreateIndex
CREATE INDEX "api_tokens_team_id_idx" ON "api_tokens"("team_id");

-- CreateIndex
CREATE INDEX "api_tokens_organization_id_idx" ON "api_tokens"("organization_id");

-- CreateIndex
CREATE UNIQUE INDEX "workspaces_current_run_id_key" ON "workspaces"("current_run_id");

-- CreateIndex
CREATE UNIQUE INDEX "workspaces_current_state_version_id_key" ON "workspaces"("current_state_version_id");

-- CreateIndex
CREATE UNIQUE INDEX "workspaces_organization_id_name_key" ON "workspaces"("organization_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "workspace_variables_workspace_id_category_key_key" ON "workspace_variables"("workspace_id", "category", "key");

-- CreateIndex
CREATE INDEX "configuration_versions_workspace_id_created_at_idx" ON "configuration_versions"("workspace_id", "created_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "runs_seq_key" ON "runs"("seq");

-- CreateIndex
CREATE INDEX "runs_workspace_id_seq_idx" ON "runs"("workspace_id", "seq" DESC);

-- CreateIndex
CREATE INDEX "runs_workspace_id_operation_seq_idx" ON "runs"("workspace_id", "operation", "seq" DESC);

-- CreateIndex
CREATE INDEX "runs_workspace_id_status_seq_idx" ON "runs"("workspace_id", "status", "seq");

-- CreateIndex
CREATE INDEX "runs_workspace_id_source_seq_idx" ON "runs"("workspace_id", "source", "seq" DESC);

-- CreateIndex
CREATE INDEX "runs_organization_id_seq_idx" ON "runs"("organization_id", "seq" DESC);

-- CreateIndex
CREATE INDEX "runs_organization_id_status_seq_idx" ON "runs"("organization_id", "status", "seq" DESC);

-- CreateIndex
CREATE INDEX "runs_organization_id_operation_seq_idx" ON "runs"("organization_id", "operation", "seq" DESC);

-- CreateIndex
CREATE INDEX "runs_organization_id_source_seq_idx" ON "runs"("organization_id", "source", "seq" DESC);

-- CreateIndex
CREATE INDEX "runs_organization_id_agent_pool_name_seq_idx" ON "runs"("organization_id", "agent_pool_name", "seq" DESC);

-- CreateIndex
CREATE INDEX "runs_commit_sha_idx" ON "runs"("commit_sha");

-- CreateIndex
CREATE INDEX "runs_vcs_username_idx" ON "runs"("vcs_username");

-- CreateIndex
CREATE INDEX "runs_status_status_changed_at_idx" ON "runs"("status", "status_changed_at");

-- CreateIndex
CREATE INDEX "runs_message_idx" ON "runs" USING GIN ("message" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "runs_configuration_version_id_idx" ON "runs"("configuration_version_id");

-- CreateIndex
CREATE UNIQUE INDEX "plans_run_id_key" ON "plans"("run_id");

-- CreateIndex
CREATE INDEX "plans_status_heartbeat_at_idx" ON "plans"("status", "heartbeat_at");

-- CreateIndex
CREATE UNIQUE INDEX "applies_run_id_key" ON "applies"("run_id");

-- CreateIndex
CREATE INDEX "applies_status_heartbeat_at_idx" ON "applies"("status", "heartbeat_at");

-- CreateIndex
CREATE UNIQUE INDEX "cost_estimates_run_id_key" ON "cost_estimates"("run_id");

-- CreateIndex
CREATE UNIQUE INDEX "run_events_comment_id_key" ON "run_events"("comment_id");

-- CreateIndex
CREATE INDEX "run_events_run_id_created_at_idx" ON "run_events"("run_id", "created_at");

-- CreateIndex
CREATE INDEX "comments_run_id_created_at_idx" ON "comments"("run_id", "created_at");

-- CreateIndex
CREATE INDEX "state_versions_workspace_id_created_at_idx" ON "state_versions"("workspace_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "state_versions_run_id_idx" ON "state_versions"("run_id");

-- CreateIndex
CREATE UNIQUE INDEX "state_versions_workspace_id_serial_key" ON "state_versions"("workspace_id", "serial");

-- CreateIndex
CREATE UNIQUE INDEX "state_version_outputs_state_version_id_name_key" ON "state_version_outputs"("state_version_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_events_msg_id_key" ON "outbox_events"("msg_id");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_id_idx" ON "outbox_events"("published_at", "id");

-- AddForeignKey
ALTER TABLE "teams" ADD CONSTRAINT "teams_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "team_memberships" ADD CONSTRAINT "team_memberships_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "team_memberships" ADD CONSTRAINT "team_memberships_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "team_workspace_access" ADD CONSTRAINT "team_workspace_access_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "team_workspace_access" ADD CONSTRAINT "team_workspace_access_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_locked_by_user_id_fkey" FOREIGN KEY ("locked_by_user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_locked_by_team_id_fkey" FOREIGN KEY ("locked_by_team_id") REFERENCES "teams"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_current_run_id_fkey" FOREIGN KEY ("current_run_id") REFERENCES "runs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_current_state_version_id_fkey" FOREIGN KEY ("current_state_version_id") REFERENCES "state_versions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_latest_configuration_version_id_fkey" FOREIGN KEY ("latest_configuration_version_id") REFERENCES "configuration_versions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspace_variables" ADD CONSTRAINT "workspace_variables_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "configuration_versions" ADD CONSTRAINT "configuration_versions_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "configuration_versions" ADD CONSTRAINT "configuration_versions_archive_blob_id_fkey" FOREIGN KEY ("archive_blob_id") REFERENCES "blobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "configuration_versions" ADD CONSTRAINT "configuration_versions_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_configuration_version_id_fkey" FOREIGN KEY ("configuration_version_id") REFERENCES "configuration_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_confirmed_by_id_fkey" FOREIGN KEY ("confirmed_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_canceled_by_id_fkey" FOREIGN KEY ("canceled_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plans" ADD CONSTRAINT "plans_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plans" ADD CONSTRAINT "plans_log_blob_id_fkey" FOREIGN KEY ("log_blob_id") REFERENCES "blobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plans" ADD CONSTRAINT "plans_plan_file_blob_id_fkey" FOREIGN KEY ("plan_file_blob_id") REFERENCES "blobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plans" ADD CONSTRAINT "plans_json_blob_id_fkey" FOREIGN KEY ("json_blob_id") REFERENCES "blobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "applies" ADD CONSTRAINT "applies_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "applies" ADD CONSTRAINT "applies_log_blob_id_fkey" FOREIGN KEY ("log_blob_id") REFERENCES "blobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cost_estimates" ADD CONSTRAINT "cost_estimates_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_events" ADD CONSTRAINT "run_events_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_events" ADD CONSTRAINT "run_events_actor_id_fkey" FOREIGN KEY ("actor_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_events" ADD CONSTRAINT "run_events_comment_id_fkey" FOREIGN KEY ("comment_id") REFERENCES "comments"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "comments" ADD CONSTRAINT "comments_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "comments" ADD CONSTRAINT "comments_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "state_versions" ADD CONSTRAINT "state_versions_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "state_versions" ADD CONSTRAINT "state_versions_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "state_versions" ADD CONSTRAINT "state_versions_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "state_versions" ADD CONSTRAINT "state_versions_state_blob_id_fkey" FOREIGN KEY ("state_blob_id") REFERENCES "blobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "state_versions" ADD CONSTRAINT "state_versions_json_state_blob_id_fkey" FOREIGN KEY ("json_state_blob_id") REFERENCES "blobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "state_version_outputs" ADD CONSTRAINT "state_version_outputs_state_version_id_fkey" FOREIGN KEY ("state_version_id") REFERENCES "state_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

