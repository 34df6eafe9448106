-- Roster schema v1: organizations, roles, users, role assignments, API keys.
-- Every tenant table carries org_id and every query filters by it (sharding-ready).
-- Constraint and index names are mapped to domain errors by the adapter: keep them.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE organizations (
    id                     uuid PRIMARY KEY,
    slug                   text NOT NULL,
    name                   text NOT NULL,
    domain                 text,
    description            text,
    logo_url               text,
    icon_url               text,
    parent_id              uuid REFERENCES organizations (id),
    seat_limit             bigint CHECK (seat_limit BETWEEN 0 AND 4294967295), -- a u32
    default_role_id        uuid NOT NULL,
    invitation_ttl_seconds bigint NOT NULL CHECK (invitation_ttl_seconds > 0),
    status                 text NOT NULL CHECK (status IN ('active', 'deleted')),
    created_by             text NOT NULL,
    modified_by            text NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    version                bigint NOT NULL
);
-- A deleted organization frees its slug.
CREATE UNIQUE INDEX organizations_slug_key ON organizations (slug) WHERE status <> 'deleted';
CREATE INDEX organizations_parent_idx ON organizations (parent_id, id) WHERE parent_id IS NOT NULL;

CREATE TABLE roles (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id),
    key         text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL,
    builtin     boolean NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT roles_org_key_key UNIQUE (org_id, key),
    CONSTRAINT roles_org_id_key UNIQUE (org_id, id)
);

CREATE TABLE users (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organizations (id),
    email            text NOT NULL,
    email_normalized text NOT NULL,
    username         text NOT NULL,
    name             text NOT NULL,
    first_name       text,
    last_name        text,
    location         text,
    locale           text,
    tags             text[] NOT NULL DEFAULT '{}',
    -- A copy of the user's user_roles rows (sorted), written in the same statements, so
    -- reading a user is one index lookup with no sub-select.
    role_ids         uuid[] NOT NULL DEFAULT '{}',
    metadata         jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL CHECK (status IN ('invited', 'active', 'suspended', 'deleted')),
    password_hash    text,
    last_login_at    timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    version          bigint NOT NULL
);
-- Rules 1 and "unique username": among non-deleted users only, so deletion frees both.
-- Sorting uses the "C" collation (byte order, the same on every server locale and in the
-- SQLite adapter); the email key doubles as the email-order index, so queries compare
-- `email_normalized COLLATE "C"` (equality is the same under any deterministic collation).
CREATE UNIQUE INDEX users_org_email_key ON users (org_id, email_normalized COLLATE "C") WHERE status <> 'deleted';
CREATE UNIQUE INDEX users_org_username_key ON users (org_id, username) WHERE status <> 'deleted';
-- Keyset pages: creation order (ids are UUIDv7), name order, status filter.
CREATE INDEX users_org_id_idx ON users (org_id, id) WHERE status <> 'deleted';
CREATE INDEX users_org_name_idx ON users (org_id, name COLLATE "C", id) WHERE status <> 'deleted';
CREATE INDEX users_org_status_idx ON users (org_id, status, id) WHERE status <> 'deleted';
CREATE INDEX users_tags_idx ON users USING gin (tags) WHERE status <> 'deleted';
CREATE INDEX users_search_idx ON users
    USING gin ((lower(name) || chr(31) || email_normalized || chr(31) || username) gin_trgm_ops)
    WHERE status <> 'deleted';

CREATE TABLE user_roles (
    org_id  uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id),
    role_id uuid NOT NULL,
    -- org_id first: a user's roles are read with an index-only scan, tenant-local.
    PRIMARY KEY (org_id, user_id, role_id),
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (org_id, role_id) REFERENCES roles (org_id, id)
);
CREATE INDEX user_roles_role_idx ON user_roles (org_id, role_id, user_id);

CREATE TABLE api_keys (
    id         uuid PRIMARY KEY,
    org_id     uuid REFERENCES organizations (id), -- NULL: a platform key
    name       text NOT NULL,
    prefix     text NOT NULL,
    digest     bytea NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT api_keys_digest_key UNIQUE (digest)
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id, id);
