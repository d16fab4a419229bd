-- Websites, their domains and line groups, and the websites event log.
-- Tables, columns, keys and indexes mirror prisma/schema.prisma (test/schema-agreement.int.test.ts
-- compares them). Marked "SQL only" below: what Prisma's schema language cannot express.

CREATE TYPE website_status AS ENUM ('active', 'paused', 'deleting');
CREATE TYPE ws_event_type AS ENUM ('add', 'update', 'delete');

CREATE TABLE line_groups (
  id         SERIAL         NOT NULL,
  name       VARCHAR(128)   NOT NULL,
  cname      VARCHAR(253)   NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT line_groups_pkey PRIMARY KEY (id),
  -- SQL only: names are not blank, CNAMEs are stored lower case.
  CONSTRAINT line_groups_name_not_blank CHECK (length(btrim(name)) > 0),
  CONSTRAINT line_groups_cname_lower CHECK (cname = lower(cname))
);
CREATE UNIQUE INDEX line_groups_name_key ON line_groups (name);

CREATE TABLE websites (
  id            SERIAL         NOT NULL,
  line_group_id INTEGER        NOT NULL,
  https_enabled BOOLEAN        NOT NULL DEFAULT false,
  status        website_status NOT NULL DEFAULT 'active',
  created_at    TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at    TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT websites_pkey PRIMARY KEY (id),
  CONSTRAINT websites_line_group_id_fkey FOREIGN KEY (line_group_id)
    REFERENCES line_groups (id) ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE INDEX websites_line_group_id_idx ON websites (line_group_id);

CREATE TABLE website_domains (
  id         SERIAL       NOT NULL,
  website_id INTEGER      NOT NULL,
  domain     VARCHAR(253) NOT NULL,
  is_primary BOOLEAN      NOT NULL DEFAULT false,
  CONSTRAINT website_domains_pkey PRIMARY KEY (id),
  CONSTRAINT website_domains_website_id_fkey FOREIGN KEY (website_id)
    REFERENCES websites (id) ON DELETE CASCADE ON UPDATE CASCADE,
  -- SQL only: domains are stored lower case (the API lower-cases them).
  CONSTRAINT website_domains_domain_lower CHECK (domain = lower(domain))
);
CREATE UNIQUE INDEX website_domains_domain_key ON website_domains (domain);
CREATE INDEX website_domains_website_id_idx ON website_domains (website_id);
-- SQL only: at most one primary domain per website ...
CREATE UNIQUE INDEX website_domains_one_primary_idx ON website_domains (website_id) WHERE is_primary;

-- SQL only: ... and at least one, checked when the transaction commits, so a website can be
-- created or have its domains replaced within one transaction.
CREATE FUNCTION website_domains_check_primary() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  ids integer[];
  wid integer;
  primaries integer;
BEGIN
  IF TG_TABLE_NAME = 'websites' THEN
    ids := ARRAY[NEW.id];
  ELSIF TG_OP = 'INSERT' THEN
    ids := ARRAY[NEW.website_id];
  ELSIF TG_OP = 'DELETE' THEN
    ids := ARRAY[OLD.website_id];
  ELSE
    ids := ARRAY[OLD.website_id, NEW.website_id];
  END IF;
  FOREACH wid IN ARRAY ids LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM websites WHERE id = wid);
    SELECT count(*) INTO primaries FROM website_domains WHERE website_id = wid AND is_primary;
    IF primaries <> 1 THEN
      RAISE EXCEPTION 'website % must have exactly one primary domain (has %)', wid, primaries
        USING ERRCODE = 'check_violation', CONSTRAINT = 'website_domains_one_primary';
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER website_domains_one_primary
  AFTER INSERT OR UPDATE OR DELETE ON website_domains
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION website_domains_check_primary();

CREATE CONSTRAINT TRIGGER websites_one_primary
  AFTER INSERT ON websites
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION website_domains_check_primary();

-- The event log. Ids of a topic are 1, 2, 3, … in commit order: writers of a topic take
-- ws_events' transaction-scoped advisory lock, then the next id from ws_log_meta, in the
-- transaction of their change (see apps/website-api/src/adapters/event-log.ts).
CREATE TABLE ws_events (
  topic      VARCHAR(64)    NOT NULL,
  id         BIGINT         NOT NULL,
  event_type ws_event_type  NOT NULL,
  payload    JSONB          NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT ws_events_pkey PRIMARY KEY (topic, id),
  -- SQL only: ids are positive and payloads are JSON objects.
  CONSTRAINT ws_events_id_positive CHECK (id > 0),
  CONSTRAINT ws_events_payload_object CHECK (jsonb_typeof(payload) = 'object')
);
CREATE INDEX ws_events_topic_created_at_idx ON ws_events (topic, created_at);

CREATE TABLE ws_log_meta (
  topic             VARCHAR(64)    NOT NULL,
  epoch             VARCHAR(64)    NOT NULL,
  last_event_id     BIGINT         NOT NULL DEFAULT 0,
  purged_through_id BIGINT         NOT NULL DEFAULT 0,
  reset_at          TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT ws_log_meta_pkey PRIMARY KEY (topic),
  -- SQL only: retention never purges past the last id handed out.
  CONSTRAINT ws_log_meta_purged_le_last CHECK (purged_through_id >= 0 AND purged_through_id <= last_event_id)
);

CREATE TABLE ws_relay_state (
  topic             VARCHAR(64)    NOT NULL,
  last_published_id BIGINT         NOT NULL DEFAULT 0,
  owner             VARCHAR(128),
  lease_until       TIMESTAMPTZ(3),
  updated_at        TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT ws_relay_state_pkey PRIMARY KEY (topic)
);

-- The websites topic exists from the start, in an epoch of its own.
INSERT INTO ws_log_meta (topic, epoch) VALUES ('websites', gen_random_uuid()::text);
INSERT INTO ws_relay_state (topic) VALUES ('websites');
