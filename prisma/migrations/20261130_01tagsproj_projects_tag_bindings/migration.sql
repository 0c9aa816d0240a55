-- AlterTable
ALTER TABLE "workspaces" ADD COLUMN     "project_id" TEXT;

-- CreateTable
CREATE TABLE "projects" (
    "id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "projects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workspace_tag_bindings" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL DEFAULT '',
    "seq" SERIAL NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workspace_tag_bindings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "project_tag_bindings" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL DEFAULT '',
    "seq" SERIAL NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "project_tag_bindings_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "projects_organization_id_name_key" ON "projects"("organization_id", "name");

-- CreateIndex
CREATE INDEX "workspace_tag_bindings_key_value_idx" ON "workspace_tag_bindings"("key", "value");

-- CreateIndex
CREATE UNIQUE INDEX "workspace_tag_bindings_workspace_id_key_key" ON "workspace_tag_bindings"("workspace_id", "key");

-- CreateIndex
CREATE INDEX "project_tag_bindings_key_value_idx" ON "project_tag_bindings"("key", "value");

-- CreateIndex
CREATE UNIQUE INDEX "project_tag_bindings_project_id_key_key" ON "project_tag_bindings"("project_id", "key");

-- CreateIndex
CREATE INDEX "workspaces_project_id_idx" ON "workspaces"("project_id");

-- AddForeignKey
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE NO ACTION ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "projects" ADD CONSTRAINT "projects_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspace_tag_bindings" ADD CONSTRAINT "workspace_tag_bindings_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "project_tag_bindings" ADD CONSTRAINT "project_tag_bindings_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- One default project per organization.
CREATE UNIQUE INDEX "projects_one_default_per_organization" ON "projects"("organization_id") WHERE "is_default";

-- Function bodies are E-strings that spell every semicolon as \073: the schema
-- engine of prisma migrate deploy splits a script at each semicolon, quoted or not.

-- An HCP-style id (prefix, dash, 16 base58 characters) minted in SQL, for rows
-- the database creates itself: default projects and backfilled tag bindings.
CREATE FUNCTION tarmac_new_id(prefix TEXT) RETURNS TEXT LANGUAGE sql VOLATILE AS E'
  SELECT prefix || ''-'' || string_agg(substr(''123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'', 1 + floor(random() * 58)::int, 1), '''')
  FROM generate_series(1, 16)
';

-- The default project of an organization, created when missing.
CREATE FUNCTION tarmac_default_project_id(org TEXT) RETURNS TEXT LANGUAGE plpgsql AS E'
DECLARE
  found TEXT\073
BEGIN
  SELECT id INTO found FROM projects WHERE organization_id = org AND is_default\073
  IF found IS NULL THEN
    INSERT INTO projects (id, organization_id, name, is_default, updated_at)
    VALUES (tarmac_new_id(''prj''), org, ''Default Project'', true, CURRENT_TIMESTAMP)
    ON CONFLICT DO NOTHING\073
    SELECT id INTO found FROM projects WHERE organization_id = org AND is_default\073
  END IF\073
  RETURN found\073
END
';

-- HCP puts every workspace in a project: an organization starts with its
-- Default Project, and a workspace row inserted without a project joins it,
-- whichever code path inserted the row.
CREATE FUNCTION tarmac_organization_default_project() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  PERFORM tarmac_default_project_id(NEW.id)\073
  RETURN NEW\073
END
';

CREATE TRIGGER organizations_default_project AFTER INSERT ON organizations
  FOR EACH ROW EXECUTE FUNCTION tarmac_organization_default_project();

CREATE FUNCTION tarmac_workspace_default_project() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  IF NEW.project_id IS NULL THEN
    NEW.project_id := tarmac_default_project_id(NEW.organization_id)\073
  END IF\073
  RETURN NEW\073
END
';

CREATE TRIGGER workspaces_default_project BEFORE INSERT OR UPDATE OF project_id ON workspaces
  FOR EACH ROW EXECUTE FUNCTION tarmac_workspace_default_project();

-- Backfill: a default project for every existing organization, every workspace
-- in it, and the flat tags already stored become value-less tag bindings.
SELECT tarmac_default_project_id(id) FROM organizations;
UPDATE workspaces SET project_id = tarmac_default_project_id(organization_id) WHERE project_id IS NULL;
INSERT INTO workspace_tag_bindings (id, workspace_id, key, value)
  SELECT tarmac_new_id('tb'), w.id, t.name, ''
  FROM workspaces w CROSS JOIN LATERAL (SELECT DISTINCT unnest(w.tag_names) AS name) t
ON CONFLICT DO NOTHING;
