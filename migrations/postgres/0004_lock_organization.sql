-- Locks an organization and reads it in ONE statement (one round trip instead of two).
--
-- Writers that depend on an organization hold a transaction-scoped advisory lock on it:
-- shared for user creations (many at once), exclusive for changes to the organization
-- itself (which then also take the row lock). The read must come after the lock is
-- granted, so that it sees what an exclusive holder committed meanwhile: a VOLATILE
-- function takes a fresh snapshot for each statement it runs (at READ COMMITTED), so the
-- SELECT below starts after PERFORM has waited for the lock.
--
-- lock_key is the organization's id folded to 64 bits, computed by the application.
CREATE FUNCTION roster_lock_organization(org uuid, lock_key bigint, exclusive boolean)
RETURNS SETOF organizations
LANGUAGE plpgsql VOLATILE STRICT
AS $$
BEGIN
    IF exclusive THEN
        PERFORM pg_advisory_xact_lock(lock_key);
        RETURN QUERY SELECT * FROM organizations WHERE id = org AND status <> 'deleted' FOR UPDATE;
    ELSE
        PERFORM pg_advisory_xact_lock_shared(lock_key);
        RETURN QUERY SELECT * FROM organizations WHERE id = org AND status <> 'deleted';
    END IF;
END
$$;
