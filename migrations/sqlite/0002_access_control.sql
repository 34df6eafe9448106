-- Access control for SQLite: partner organizations, custom roles' permissions, direct
-- grants, personal and scoped API keys, login sessions, login throttling, audit events.
-- Conventions as in 0001: ids hyphenated UUID text, times RFC 3339 text in UTC, digests
-- 32-byte blobs, permission sets JSON arrays of strings (`["*"]` is every permission).
-- Unique violations are mapped by the columns SQLite names in its message: keep them.

-- Only platform keys set it; a partner's callers reach the organizations whose parent it is.
ALTER TABLE organizations ADD COLUMN partner INTEGER NOT NULL DEFAULT 0 CHECK (partner IN (0, 1));

-- Built-in roles store `[]`: their permissions are fixed by the code. The key stays unique
-- per organization through 0001's `roles_org_key_key` (mapped to a role-key duplicate).
ALTER TABLE roles ADD COLUMN permissions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE roles ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE roles ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
UPDATE roles SET updated_at = created_at;

-- Personal keys name their user; service and platform keys have none. `scope` NULL is
-- everything the owner may do.
ALTER TABLE api_keys ADD COLUMN user_id TEXT REFERENCES users (id);
ALTER TABLE api_keys ADD COLUMN scope TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
-- Listing one owner's keys: `user_id IS NULL` (service keys) or `= ?` (a user's), by id.
CREATE INDEX api_keys_org_user_idx ON api_keys (org_id, user_id, id);
DROP INDEX api_keys_org_idx;

-- Direct permission grants: one per (user, permission).
CREATE TABLE user_permissions (
    id         TEXT PRIMARY KEY NOT NULL,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    permission TEXT NOT NULL,
    expires_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL,
    CONSTRAINT user_permissions_org_user_permission_key UNIQUE (org_id, user_id, permission)
) STRICT;

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    digest       BLOB NOT NULL,
    client_ip    TEXT,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT,
    CONSTRAINT sessions_digest_key UNIQUE (digest)
) STRICT;
CREATE INDEX sessions_org_user_idx ON sessions (org_id, user_id, id);

-- Failed logins per throttle key (`account:<org>:<email>`, `ip:<address>`); not tenant
-- data: an address is throttled across organizations.
CREATE TABLE login_throttles (
    key             TEXT PRIMARY KEY NOT NULL,
    failures        INTEGER NOT NULL CHECK (failures >= 0),
    last_failure_at TEXT,
    locked_until    TEXT
) STRICT, WITHOUT ROWID;

-- Newest first is `ORDER BY id DESC` (UUIDv7 ids); each filter has its own index.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    request_id  TEXT,
    occurred_at TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_events_org_idx ON audit_events (org_id, id DESC);
CREATE INDEX audit_events_org_actor_idx ON audit_events (org_id, actor, id);
CREATE INDEX audit_events_org_action_idx ON audit_events (org_id, action, id);
CREATE INDEX audit_events_org_target_idx ON audit_events (org_id, target_id, id);
