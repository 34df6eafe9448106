-- Roster schema v1 for SQLite: the same tables as PostgreSQL's.
-- Ids are hyphenated UUID text, times RFC 3339 text (UTC, `+00:00`, so text order is time
-- order), tags a JSON array and metadata a JSON object, durations whole seconds.
-- Unique violations are mapped to domain errors by the columns SQLite names in its message
-- (`UNIQUE constraint failed: users.org_id, users.email_normalized`): keep those columns.

CREATE TABLE organizations (
    id                     TEXT PRIMARY KEY NOT NULL,
    slug                   TEXT NOT NULL,
    name                   TEXT NOT NULL,
    domain                 TEXT,
    description            TEXT,
    logo_url               TEXT,
    icon_url               TEXT,
    parent_id              TEXT REFERENCES organizations (id),
    seat_limit             INTEGER CHECK (seat_limit >= 0),
    default_role_id        TEXT NOT NULL,
    invitation_ttl_seconds INTEGER NOT NULL CHECK (invitation_ttl_seconds > 0),
    status                 TEXT NOT NULL CHECK (status IN ('active', 'deleted')),
    created_by             TEXT NOT NULL,
    modified_by            TEXT NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    version                INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX organizations_slug_key ON organizations (slug) WHERE status <> 'deleted';
CREATE INDEX organizations_parent_idx ON organizations (parent_id, id) WHERE parent_id IS NOT NULL;

CREATE TABLE roles (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    builtin     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    CONSTRAINT roles_org_key_key UNIQUE (org_id, key),
    CONSTRAINT roles_org_id_key UNIQUE (org_id, id)
) STRICT;

CREATE TABLE users (
    id               TEXT PRIMARY KEY NOT NULL,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    username         TEXT NOT NULL,
    name             TEXT NOT NULL,
    -- Unicode-lowercased name for the `q` search: SQLite's lower() and LIKE fold ASCII only.
    name_lower       TEXT NOT NULL,
    first_name       TEXT,
    last_name        TEXT,
    location         TEXT,
    locale           TEXT,
    tags             TEXT NOT NULL DEFAULT '[]',
    metadata         TEXT NOT NULL DEFAULT '{}',
    status           TEXT NOT NULL CHECK (status IN ('invited', 'active', 'suspended', 'deleted')),
    password_hash    TEXT,
    last_login_at    TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    version          INTEGER NOT NULL
) STRICT;
-- Rules 1 and "unique username": among non-deleted users only, so deletion frees both.
CREATE UNIQUE INDEX users_org_email_key ON users (org_id, email_normalized) WHERE status <> 'deleted';
CREATE UNIQUE INDEX users_org_username_key ON users (org_id, username) WHERE status <> 'deleted';
CREATE INDEX users_org_id_idx ON users (org_id, id) WHERE status <> 'deleted';
CREATE INDEX users_org_name_idx ON users (org_id, name, id) WHERE status <> 'deleted';
CREATE INDEX users_org_status_idx ON users (org_id, status, id) WHERE status <> 'deleted';

-- Keyed (org_id, user_id, role_id), clustered: a user's roles are one range read in role
-- order with every statement filtering by org_id. With PostgreSQL's (user_id, role_id) key
-- SQLite's planner picks user_roles_role_idx on org_id alone and reads the whole tenant.
-- (user_id, role_id) stays unique: a user belongs to exactly one organization.
CREATE TABLE user_roles (
    org_id  TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    role_id TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, role_id),
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (org_id, role_id) REFERENCES roles (org_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_roles_role_idx ON user_roles (org_id, role_id, user_id);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    org_id     TEXT REFERENCES organizations (id),
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    digest     BLOB NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    CONSTRAINT api_keys_digest_key UNIQUE (digest)
) STRICT;
CREATE INDEX api_keys_org_idx ON api_keys (org_id, id);
