-- ws_events_topic_created_at_idx (0001) served no query: retention, replay, the relay and the
-- backlog figures all walk the log by (topic, id), the primary key, and read created_at from the
-- rows they find. Every event insert still paid for it (one more btree insertion and its WAL), and
-- the operator relay query's min(created_at) could be planned on it, walking every retained event
-- instead of the unpublished ones.
DROP INDEX IF EXISTS ws_events_topic_created_at_idx;
