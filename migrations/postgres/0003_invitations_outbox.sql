-- Roster schema v3: onboarding. Invitations of invited users, the transactional email
-- outbox, and where an organization's users sign in.
-- Every tenant table carries org_id and every query filters by it.
-- Constraint and index names are mapped to domain errors by the adapter: keep them.

-- Linked from invitation and generated-credential emails when a request names no login URL.
ALTER TABLE organizations ADD COLUMN default_login_url text;

-- An invitation's email and roles are its user's, read by joining users: never copied.
-- `expired` is not a stored status: a pending invitation past expires_at is expired.
CREATE TABLE invitations (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id),
    user_id     uuid NOT NULL REFERENCES users (id),
    status      text NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked')),
    -- SHA-256 of the current token; a resend replaces it.
    digest      bytea NOT NULL,
    invited_by  text NOT NULL,
    login_url   text,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at  timestamptz,
    version     bigint NOT NULL,
    -- Acceptance finds an invitation by its token alone, across organizations.
    CONSTRAINT invitations_digest_key UNIQUE (digest)
);
-- Keyset pages of an organization's invitations (ids are UUIDv7: creation order).
CREATE INDEX invitations_org_idx ON invitations (org_id, id);
-- Deleting users revokes their pending invitations.
CREATE INDEX invitations_org_user_idx ON invitations (org_id, user_id);

-- Emails queued in the transaction of the change that causes them, delivered afterwards
-- by a worker. No foreign key: a message outlives what it is about (like the audit log),
-- and platform mail has no organization. params (the template's fields, links and
-- passwords among them) is NULL once erased after delivery.
CREATE TABLE outbox_messages (
    id              uuid PRIMARY KEY,
    org_id          uuid,
    recipient       text NOT NULL,
    template        text NOT NULL,
    params          jsonb,
    status          text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    -- Attempts started; also the fencing token of a worker's claim.
    attempts        integer NOT NULL CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    -- The lease of the worker that claimed it, if any.
    locked_until    timestamptz,
    last_error      text,
    delivered_via   text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
-- The worker's claim: due pending messages, oldest due first. Sent and failed messages
-- pile up outside it.
CREATE INDEX outbox_messages_due_idx ON outbox_messages (next_attempt_at, id) WHERE status = 'pending';
