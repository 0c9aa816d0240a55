-- The provider schemas a plan was made with: the redacted plan document the CLI renders needs them.
ALTER TABLE "plans" ADD COLUMN "provider_schemas_blob_id" TEXT;
ALTER TABLE "plans" ADD CONSTRAINT "plans_provider_schemas_blob_id_fkey" FOREIGN KEY ("provider_schemas_blob_id") REFERENCES "blobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;
