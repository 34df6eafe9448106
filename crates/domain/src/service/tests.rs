//! Unit tests of the use cases: every rule [`super::Roster`] enforces, against mocked
//! ports ([`crate::mocks`]). `.times(0)` expectations prove where storage or hashing must
//! not be touched; any call nobody expected fails the test as well.

mod api_keys;
mod authentication;
mod create_user;
mod delete_users;
mod listing;
mod organizations;
mod support;
mod tenancy;
mod update_user;
