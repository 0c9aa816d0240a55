-- CreateTable
CREATE TABLE "team_project_access" (
    "id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "access" TEXT NOT NULL,
    "workspace_level" "AccessLevel" NOT NULL,
    "project_access" JSONB,
    "workspace_access" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "team_project_access_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "team_project_access_project_id_idx" ON "team_project_access"("project_id");

-- CreateIndex
CREATE UNIQUE INDEX "team_project_access_team_id_project_id_key" ON "team_project_access"("team_id", "project_id");

-- AddForeignKey
ALTER TABLE "team_project_access" ADD CONSTRAINT "team_project_access_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "team_project_access" ADD CONSTRAINT "team_project_access_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

