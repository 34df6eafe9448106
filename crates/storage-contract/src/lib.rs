//! # roster-storage-contract
//!
//! The one contract test suite for Roster's storage ports
//! ([`roster_domain::ports`]). Every adapter runs all of it, each test on a fresh,
//! migrated database, so an adapter that passes behaves like every other one: same
//! uniqueness errors, same visibility of deleted rows, same list orders and cursors,
//! same transaction semantics, and the concurrency rules of the use cases hold on it.
//!
//! Each test is a `pub async fn(`[`Store`]`)` in one of the modules below; the
//! [`contract_tests!`] macro turns them all into `#[tokio::test]`s for an adapter:
//!
//! ```text
//! // crates/<adapter>/tests/contract.rs
//! async fn fresh_store() -> roster_storage_contract::TestStore {
//!     let storage = MyStorage::connect_to_a_new_database().await.unwrap();
//!     storage.migrate().await.unwrap();
//!     roster_storage_contract::TestStore::new(storage)
//! }
//!
//! roster_storage_contract::contract_tests!(fresh_store());
//! ```
//!
//! The factory expression is awaited once per test; it may evaluate to a [`TestStore`]
//! (to keep a guard such as a temporary directory alive for the test with
//! [`TestStore::keep`], or to drop a per-test database after a passing test with
//! [`TestStore::teardown`]) or to any value that is both [`Storage`] and [`Outbox`] (the
//! mail worker's port, which every adapter implements on its storage).
//!
//! ## The contract beyond the port docs
//!
//! Where the port documentation leaves a choice open, the suite pins the behaviour the
//! use cases and front ends rely on:
//!
//! - list orders are total: the sort key in byte order (emails by their normalised
//!   form, names as stored), ties broken by id; descending orders are the exact reverse;
//!   creation order is id order (ids are UUIDv7);
//! - `q` is a case-insensitive (Unicode) substring of the name, the email or the
//!   username, with `%`, `_` and `\` literal, and never matches across two fields;
//! - a user's `role_ids` come back in ascending id order;
//! - timestamps keep microseconds;
//! - built-in roles read back granting what the code says (`PermissionSet::of_builtin`),
//!   whatever is stored for them; custom roles' permission sets round-trip exactly, the
//!   empty set and `*` included;
//! - expiries are exclusive: a grant or session expiring at `now` no longer counts, and
//!   `user_access` lists each permission once;
//! - a login failure exactly `window` after the previous one still counts on; one later
//!   starts the count afresh;
//! - `delete_role` succeeds while deleted users still hold the role;
//! - audit `since` is inclusive, `until` exclusive;
//! - invitations are read whatever their user's state, a deleted user's included, and
//!   `delete_users` revokes every stored-pending invitation of the users it deletes, the
//!   expired ones too;
//! - an outbox message is due at its `next_attempt_at` (inclusive) and its lease is over
//!   at `locked_until` (exclusive, like every expiry); a failed attempt with a retry time
//!   ends the lease, so the message is due again at that time even within the old lease;
//!   a claim changes nothing but `attempts` (and the lease).
#![warn(missing_docs)]

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use roster_domain::ports::{Outbox, Storage};

pub mod access;
pub mod api_keys;
pub mod audit;
pub mod concurrency;
pub mod escalation;
mod fixtures;
pub mod grants;
pub mod invitations;
pub mod listing;
pub mod new_users;
pub mod organizations;
pub mod outbox;
pub mod owners;
pub mod partners;
pub mod personal_keys;
pub mod roles;
pub mod sessions;
pub mod throttle;
pub mod transactions;
pub mod users;

/// What the suite tests: the storage ports and the outbox, which every adapter implements
/// on one value.
pub trait ContractStorage: Storage + Outbox {}

impl<T: Storage + Outbox + ?Sized> ContractStorage for T {}

/// What every test body takes: a fresh, migrated store of its own.
pub type Store = Arc<dyn ContractStorage>;

/// A fresh, migrated store for one test, with whatever must live as long as it (a
/// temporary directory, a database handle to drop afterwards).
pub struct TestStore {
    // Fields drop in declaration order: the store before the guards it may depend on.
    storage: Store,
    guards: Vec<Box<dyn Any + Send>>,
    teardown: Option<Pin<Box<dyn Future<Output = ()>>>>,
}

impl TestStore {
    /// Wraps a store.
    pub fn new(storage: impl Storage + Outbox + 'static) -> Self {
        Self::from_arc(Arc::new(storage))
    }

    /// Wraps a store that is already shared.
    pub fn from_arc(storage: Store) -> Self {
        Self { storage, guards: Vec::new(), teardown: None }
    }

    /// Keeps `guard` alive until the test ends; it is dropped after the store.
    #[must_use]
    pub fn keep(mut self, guard: impl Any + Send) -> Self {
        self.guards.push(Box::new(guard));
        self
    }

    /// Runs `teardown` after a test that passed, once the store is dropped (e.g. to drop
    /// a per-test database). A failing test skips it, leaving its data for inspection.
    #[must_use]
    pub fn teardown(mut self, teardown: impl Future<Output = ()> + 'static) -> Self {
        self.teardown = Some(Box::pin(teardown));
        self
    }

    /// Ends a test that passed: drops the store, runs the teardown, drops the guards.
    pub async fn finish(self) {
        let Self { storage, guards, teardown } = self;
        drop(storage);
        if let Some(teardown) = teardown {
            teardown.await;
        }
        drop(guards);
    }

    /// The store, as the test bodies take it.
    pub fn storage(&self) -> Store {
        Arc::clone(&self.storage)
    }
}

impl<S: Storage + Outbox + 'static> From<S> for TestStore {
    fn from(storage: S) -> Self {
        Self::new(storage)
    }
}

impl fmt::Debug for TestStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestStore")
            .field("guards", &self.guards.len())
            .field("teardown", &self.teardown.is_some())
            .finish_non_exhaustive()
    }
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per
/// contract test, each awaiting `$factory` for a fresh store (a [`TestStore`] or any
/// [`Storage`] + [`Outbox`] value) and running the test body on it. Tests are named
/// `<module>::<test>`, e.g. `users::deleting_a_user_frees_email_and_username`.
///
/// The invoking crate needs `roster-storage-contract` as a (dev-)dependency; tokio is
/// re-exported from here, so it needs nothing else.
#[macro_export]
macro_rules! contract_tests {
    ($factory:expr $(,)?) => {
        /// A fresh store for one contract test.
        async fn __roster_contract_store() -> $crate::TestStore {
            ::core::convert::Into::into($factory.await)
        }

        $crate::__contract_tests! {
            organizations: [
                organization_round_trips_every_field,
                organization_round_trips_empty_optional_fields,
                unknown_organization_reads_as_none,
                duplicate_slug_on_insert_is_organization_slug_duplicate,
                duplicate_slug_on_update_is_organization_slug_duplicate,
                updated_organization_reads_back_changed,
                deleted_organization_frees_slug_and_disappears,
                organizations_list_in_id_order_with_keyset_pages,
                roles_are_listed_per_organization_builtins_first,
                organization_status_and_version_round_trip,
                default_login_url_round_trips_through_insert_and_update,
            ],
            users: [
                user_round_trips_every_field,
                user_round_trips_empty_optional_fields,
                user_role_ids_come_back_sorted,
                get_user_reflects_the_current_organization_summary,
                duplicate_email_differing_in_case_is_user_email_duplicate,
                duplicate_username_is_user_username_duplicate,
                update_to_a_taken_email_or_username_is_a_duplicate,
                deleting_a_user_frees_email_and_username,
                deleted_users_are_invisible_to_reads,
                count_seats_counts_invited_active_suspended_not_deleted,
                update_user_replaces_roles_and_fields,
                delete_users_reports_only_the_ids_it_changed,
                delete_users_reports_a_repeated_id_once,
                every_access_with_another_org_id_finds_nothing,
                users_of_a_deleted_organization_are_not_found,
                unknown_user_reads_as_none,
            ],
            listing: [
                list_users_returns_live_users_in_creation_order,
                list_users_respects_the_limit,
                email_filter_is_exact_and_case_insensitive,
                q_matches_name_email_or_username_ignoring_case,
                q_treats_percent_underscore_and_backslash_literally,
                q_does_not_match_across_fields,
                status_filter_lists_only_that_status,
                role_filter_lists_holders_of_the_role,
                tag_filter_lists_users_with_the_tag,
                filters_combine,
                every_sort_orders_by_key_then_id,
                keyset_pages_concatenate_to_the_full_list_for_every_sort,
                keyset_pages_respect_filters,
                keyset_continues_after_the_cursor_row_is_deleted,
                keyset_cursor_positions_between_rows_with_equal_keys,
            ],
            api_keys: [
                org_key_is_found_by_digest_with_org_status,
                platform_key_is_found_without_org_status,
                unknown_digest_finds_nothing,
                key_of_a_deleted_org_reports_deleted_status,
                revoke_succeeds_once_then_reports_false,
                revoke_of_another_orgs_or_platform_or_unknown_key_is_false,
                list_api_keys_pages_one_orgs_keys_by_id,
                count_platform_keys_counts_unrevoked_platform_keys,
            ],
            transactions: [
                ping_answers,
                dropped_transaction_leaves_nothing_behind,
                dropped_transaction_undoes_updates_deletes_and_revocations,
                uncommitted_writes_are_invisible_until_commit,
                committed_transaction_cannot_commit_again,
            ],
            concurrency: [
                concurrent_creates_with_one_email_admit_exactly_one,
                concurrent_creates_never_exceed_the_seat_limit,
                concurrent_updates_with_one_expected_version_admit_exactly_one,
                concurrent_creates_with_one_username_admit_exactly_one,
                concurrent_revocations_of_one_key_succeed_once,
                concurrent_deletes_of_one_user_report_it_once,
            ],
            partners: [
                partner_flag_round_trips_through_insert_and_update,
                organization_is_found_by_slug_unless_deleted,
                listing_within_an_organization_shows_it_and_its_children_only,
            ],
            roles: [
                custom_roles_round_trip_and_list_builtins_first_then_by_key,
                duplicate_role_key_is_role_key_duplicate,
                update_role_overwrites_the_role_and_nothing_else,
                count_role_holders_counts_non_deleted_holders,
                reassign_then_delete_moves_holders_once,
                role_access_with_another_org_id_finds_nothing,
            ],
            owners: [
                count_active_owners_counts_active_holders_of_the_owner_role,
                concurrent_demotions_of_the_last_two_owners_keep_one,
                concurrent_deletions_of_the_last_two_owners_keep_one,
                concurrent_suspensions_of_the_last_two_owners_keep_one,
            ],
            escalation: [
                a_demoted_admin_cannot_grant_through_another_instances_cache,
            ],
            grants: [
                grants_round_trip_and_list_by_permission,
                duplicate_grant_is_grant_permission_duplicate,
                grants_are_updated_and_deleted,
            ],
            access: [
                user_access_unites_custom_role_permissions_and_unexpired_grants,
                user_access_skips_deleted_unknown_and_other_org_users,
                user_by_email_ignores_case_and_deleted_users,
            ],
            personal_keys: [
                personal_keys_and_scopes_round_trip,
                list_api_keys_lists_one_owners_keys,
                revoke_api_key_respects_the_owner_filter,
                touch_api_key_sets_last_used_at,
                keys_of_a_partner_report_it,
            ],
            sessions: [
                session_is_found_by_digest_with_org_state,
                list_sessions_lists_live_sessions_of_one_user,
                revoke_session_only_for_its_user,
                touch_session_sets_last_used_at,
                suspension_and_new_passwords_end_sessions_for_good,
            ],
            throttle: [
                login_failures_count_up_per_key,
                login_failures_restart_after_the_window,
                locks_are_read_back_and_cleared,
                concurrent_login_failures_count_each_once,
                concurrent_wrong_logins_check_at_most_the_limit,
            ],
            audit: [
                audit_events_round_trip_newest_first_per_organization,
                audit_filters_select_matching_events,
                audit_time_range_and_cursor,
            ],
            invitations: [
                invitation_round_trips_with_its_users_email_and_roles,
                invitation_reads_its_users_current_email_and_roles,
                invitation_access_with_another_org_id_finds_nothing,
                status_filter_judges_expiry_at_the_querys_instant,
                invitations_list_in_id_order_with_keyset_pages,
                update_invitation_persists_its_changes_and_retires_the_old_digest,
                delete_users_revokes_the_pending_invitations_of_deleted_users,
                concurrent_acceptances_of_one_invitation_admit_exactly_one,
                concurrent_updates_of_one_invitation_are_serialised_by_its_lock,
            ],
            new_users: [
                a_new_user_is_written_at_once_while_its_organization_is_unchanged,
                a_new_user_is_not_written_once_its_organization_changed,
                a_new_user_with_a_taken_email_or_username_writes_nothing,
                racing_new_users_with_one_email_write_exactly_one,
                racing_new_users_land_by_their_own_organizations_version,
            ],
            outbox: [
                queued_messages_round_trip,
                only_committed_messages_are_delivered,
                claims_lease_due_messages_until_the_lease_ends,
                mark_sent_is_fenced_by_the_attempt_count,
                mark_failed_retries_at_the_given_time_or_gives_up,
                messages_list_in_id_order_with_keyset_pages,
                concurrent_claims_never_share_a_message,
            ],
        }
    };
}

/// Implementation detail of [`contract_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ($($module:ident: [$($test:ident),* $(,)?]),* $(,)?) => {
        $(
            mod $module {
                $(
                    #[$crate::__private::tokio::test(
                        flavor = "multi_thread",
                        worker_threads = 4,
                        crate = "::roster_storage_contract::__private::tokio"
                    )]
                    async fn $test() {
                        let store = super::__roster_contract_store().await;
                        $crate::$module::$test(store.storage()).await;
                        store.finish().await;
                    }
                )*
            }
        )*
    };
}

/// Re-exports for [`contract_tests!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use tokio;
}

#[cfg(test)]
mod tests {
    /// Every `pub async fn` of the test modules is listed in [`contract_tests!`], so no
    /// test is written and then silently never run.
    #[test]
    fn every_test_body_is_listed_in_the_macro() {
        let lib = include_str!("lib.rs");
        let listed = &lib[lib.find("macro_rules! contract_tests").expect("the macro")..];
        let modules = [
            ("organizations", include_str!("organizations.rs")),
            ("users", include_str!("users.rs")),
            ("listing", include_str!("listing.rs")),
            ("api_keys", include_str!("api_keys.rs")),
            ("transactions", include_str!("transactions.rs")),
            ("concurrency", include_str!("concurrency.rs")),
            ("partners", include_str!("partners.rs")),
            ("roles", include_str!("roles.rs")),
            ("owners", include_str!("owners.rs")),
            ("escalation", include_str!("escalation.rs")),
            ("grants", include_str!("grants.rs")),
            ("access", include_str!("access.rs")),
            ("personal_keys", include_str!("personal_keys.rs")),
            ("sessions", include_str!("sessions.rs")),
            ("throttle", include_str!("throttle.rs")),
            ("audit", include_str!("audit.rs")),
            ("invitations", include_str!("invitations.rs")),
            ("outbox", include_str!("outbox.rs")),
            ("new_users", include_str!("new_users.rs")),
        ];
        let mut count = 0;
        for (module, source) in modules {
            for line in source.lines() {
                let Some(rest) = line.strip_prefix("pub async fn ") else { continue };
                let name = &rest[..rest.find('(').expect("a parameter list")];
                assert!(listed.contains(&format!("{name},")), "{module}::{name} is not listed in contract_tests!");
                count += 1;
            }
        }
        assert!(count >= 90, "only {count} test bodies found");
    }
}
