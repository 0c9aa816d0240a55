-- An outbox row's created_at is when the row is written (clock_timestamp), not when its
-- transaction began (now()): the event's own time, from which its delivery is timed.
ALTER TABLE "outbox_events" ALTER COLUMN "created_at" SET DEFAULT clock_timestamp();
