//! Unit tests of the use cases: every rule [`super::Roster`] enforces, against mocked
//! ports ([`crate::mocks`]). Expectations are loose (`returning` without `times`) unless
//! the count is the point, so the tests check behaviour rather than call choreography;
//! any call nobody expected fails the test.
//!
//! mockall matches expectations first-in first-out and skips saturated ones, so an
//! expectation added after a catch-all for the same method never matches, and `.times(0)`
//! only bites when it is the method's sole expectation. [`support::Tenant::tx`] installs
//! catch-alls (roles, share lock, audit events); tests needing tighter control of those
//! methods start from a bare `MockTransaction`.

mod access;
mod api_keys;
mod audit;
mod authentication;
mod authorization;
mod create_user;
mod delete_users;
mod escalation;
mod invitations;
mod last_owner;
mod listing;
mod login;
mod organizations;
mod roles;
mod support;
mod tenancy;
mod update_user;
mod user_credentials;
