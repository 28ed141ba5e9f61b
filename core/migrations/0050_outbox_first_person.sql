-- In an alarm storm every household's first person is paged before anyone's second (issue 22):
-- each page carries its place among its incident's pages (0 for the first person), and the
-- senders claim due pages by priority, then that place, then due time.
ALTER TABLE notifications ADD COLUMN person_order smallint NOT NULL DEFAULT 0;
DROP INDEX notifications_due_idx;
CREATE INDEX notifications_due_idx ON notifications (priority, person_order, due_at, id)
    WHERE status = 'pending';
