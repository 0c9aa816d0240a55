-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "RunStatus" ADD VALUE 'pre_apply_running';
ALTER TYPE "RunStatus" ADD VALUE 'pre_apply_completed';
ALTER TYPE "RunStatus" ADD VALUE 'post_apply_running';
ALTER TYPE "RunStatus" ADD VALUE 'post_apply_completed';

-- AlterTable
ALTER TABLE "teams" ADD COLUMN     "manage_policy_overrides" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "manage_run_tasks" BOOLEAN NOT NULL DEFAULT false;

