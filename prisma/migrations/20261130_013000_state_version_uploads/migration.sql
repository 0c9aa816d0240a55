-- State versions created without inline state wait, pending, for their upload: the md5 and
-- force flag the client declared are kept to check and apply when the bytes arrive.
ALTER TABLE "state_versions" ADD COLUMN "md5" TEXT;
ALTER TABLE "state_versions" ADD COLUMN "force" BOOLEAN NOT NULL DEFAULT false;
