-- State versions created without inline state wait, pending, for their upload: the md5 and
-- force flag the client declared are kept to check and apply when the bytes arrive.
ALTER TABLE "state_versions" ADD COLUMN "md5" TEXT;
ALTER TABLE "state_versions" ADD COLUMN "force" BOOLEAN NOT NULL DEFAULT false;

-- A forced push (`terraform state push -force`) may reuse a serial the workspace already had,
-- so (workspace, serial) is looked up, not unique: the create paths check it under the
-- workspace row lock.
DROP INDEX "state_versions_workspace_id_serial_key";
CREATE INDEX "state_versions_workspace_id_serial_idx" ON "state_versions"("workspace_id", "serial");
