-- The events waiting for a relay, oldest first: what every relay round claims (outbox-claims.ts).
-- Small, since a row leaves it when it is published. The claim reads it with an index scan, which
-- marks the entries of published rows (their old row versions, dead once the publishing
-- transaction committed) as dead in the index, so later rounds skip them without visiting the
-- table. A bitmap scan of (published_at, id) visited every event published since the last VACUUM
-- of the table, on every round. Prisma cannot describe a partial index in its schema.
CREATE INDEX "outbox_events_unpublished_idx" ON "outbox_events"("id") WHERE "published_at" IS NULL;
-- The retention prune reads published rows by age. Without unpublished rows this index cannot
-- serve the claim, which so always reads (and cleans) the one index above.
DROP INDEX "outbox_events_published_at_id_idx";
CREATE INDEX "outbox_events_published_at_idx" ON "outbox_events"("published_at") WHERE "published_at" IS NOT NULL;
