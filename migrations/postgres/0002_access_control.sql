-- Roster schema v2: access control. Permissions on roles, direct permission grants,
-- personal and scoped API keys, login sessions and throttling, partner organizations,
-- audit events. Every tenant table carries org_id and every query filters by it.
-- Constraint and index names are mapped to domain errors by the adapter: keep them.

-- A partner's callers reach its child organizations (those whose parent_id it is).
ALTER TABLE organizations ADD COLUMN partner boolean NOT NULL DEFAULT false;

-- Built-in roles store no permissions (the code fixes theirs); custom roles list theirs.
ALTER TABLE roles
    ADD COLUMN permissions text[] NOT NULL DEFAULT '{}',
    ADD COLUMN version     bigint NOT NULL DEFAULT 1,
    ADD COLUMN updated_at  timestamptz;
UPDATE roles SET updated_at = created_at;
ALTER TABLE roles ALTER COLUMN updated_at SET NOT NULL;

-- Personal keys belong to a user of the key's organization; scope NULL is everything the
-- owner may do.
ALTER TABLE api_keys
    ADD COLUMN user_id      uuid REFERENCES users (id),
    ADD COLUMN scope        text[],
    ADD COLUMN last_used_at timestamptz,
    ADD CONSTRAINT api_keys_user_has_org CHECK (user_id IS NULL OR org_id IS NOT NULL);
-- Listing an organization's service keys (user_id IS NULL) or one user's keys, by id.
-- It serves everything the (org_id, id) index did, which it replaces.
CREATE INDEX api_keys_org_user_idx ON api_keys (org_id, user_id, id);
DROP INDEX api_keys_org_idx;

-- Direct permission grants.
CREATE TABLE user_permissions (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id),
    user_id     uuid NOT NULL REFERENCES users (id),
    -- "C": listed in byte order straight from the unique index (permissions are ASCII).
    permission  text COLLATE "C" NOT NULL,
    expires_at  timestamptz,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint NOT NULL,
    -- org_id first: a user's grants are read tenant-locally, in permission order.
    CONSTRAINT user_permissions_org_user_permission_key UNIQUE (org_id, user_id, permission)
);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organizations (id),
    user_id      uuid NOT NULL REFERENCES users (id),
    digest       bytea NOT NULL,
    client_ip    text,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT sessions_digest_key UNIQUE (digest)
);
CREATE INDEX sessions_org_user_idx ON sessions (org_id, user_id, id);

-- Failed logins per key (`account:<org>:<email>`, `ip:<address>`); a key spans no
-- tenant's data, only an attempt to reach it.
CREATE TABLE login_throttles (
    key             text PRIMARY KEY,
    failures        integer NOT NULL CHECK (failures >= 0),
    last_failure_at timestamptz,
    locked_until    timestamptz
);

-- Append-only. No foreign key: the log outlives what it describes and is written on
-- every change. Ids are UUIDv7, so id order is time order; lists go newest first.
CREATE TABLE audit_events (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    request_id  text,
    occurred_at timestamptz NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_org_idx ON audit_events (org_id, id DESC);
CREATE INDEX audit_events_org_actor_idx ON audit_events (org_id, actor, id DESC);
CREATE INDEX audit_events_org_action_idx ON audit_events (org_id, action, id DESC);
CREATE INDEX audit_events_org_target_idx ON audit_events (org_id, target_id, id DESC);
