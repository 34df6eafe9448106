-- Onboarding for SQLite: invitations, the email outbox and organizations' default login
-- URL. Conventions as in 0001 and 0002: ids hyphenated UUID text, times RFC 3339 text in
-- UTC, digests 32-byte blobs.

-- Where new users sign in, linked from invitation and credentials emails.
ALTER TABLE organizations ADD COLUMN default_login_url TEXT;

-- `expired` is never stored: a pending invitation past `expires_at` is reported as expired.
-- The invitee's email and roles are their user's, read by joining `users`.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked')),
    digest      BLOB NOT NULL,
    invited_by  TEXT NOT NULL,
    login_url   TEXT,
    expires_at  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    accepted_at TEXT,
    revoked_at  TEXT,
    version     INTEGER NOT NULL,
    CONSTRAINT invitations_digest_key UNIQUE (digest)
) STRICT;
-- Listing an organization's invitations by id.
CREATE INDEX invitations_org_idx ON invitations (org_id, id);
-- Revoking the pending invitations of deleted users.
CREATE INDEX invitations_org_user_idx ON invitations (org_id, user_id);

-- The transactional outbox. `params` (a JSON object of strings) is NULL once a delivered
-- message's links and passwords were erased. `locked_until` is the lease of the worker
-- that claimed it; `attempts` is the claim's fencing token. No foreign key on `org_id`:
-- a message outlives whatever it was about.
CREATE TABLE outbox_messages (
    id              TEXT PRIMARY KEY NOT NULL,
    org_id          TEXT,
    recipient       TEXT NOT NULL,
    template        TEXT NOT NULL,
    params          TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL,
    locked_until    TEXT,
    last_error      TEXT,
    delivered_via   TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
) STRICT;
-- The claim reads due pending messages only, oldest due first; delivered ones leave the index.
CREATE INDEX outbox_messages_due_idx ON outbox_messages (next_attempt_at, id) WHERE status = 'pending';
