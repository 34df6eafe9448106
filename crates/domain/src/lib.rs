//! # roster-domain
//!
//! The pure core of Roster, a multi-tenant user-management service: organizations, their
//! users, roles and API keys, the rules that govern them, the ports storage and other
//! infrastructure must implement, and the use cases ([`service::Roster`]) that REST, gRPC
//! and embedders all call. It does no I/O of its own: no async runtime, no SQL, no HTTP.
//!
//! ## Embedding
//!
//! Bring an implementation of [`ports::Storage`] (Roster ships SQLite and PostgreSQL
//! adapters, or write your own), a [`hashing::PasswordHasher`], and build the service:
//!
//! ```no_run
//! # async fn demo(storage: std::sync::Arc<dyn roster_domain::ports::Storage>,
//! #               hasher: std::sync::Arc<dyn roster_domain::hashing::PasswordHasher>)
//! #               -> Result<(), roster_domain::Error> {
//! use roster_domain::service::{Roster, Settings};
//! use roster_domain::organization_input::CreateOrganizationInput;
//!
//! let roster = Roster::new(storage, hasher, Settings::default());
//! let (platform, secret) = roster.create_platform_key("bootstrap").await?;
//! // Every request authenticates its bearer token; the request id ends up in the audit
//! // events of the changes it makes.
//! let principal = roster.authenticate(secret.expose()).await?.with_request_id("req-1");
//! let org = roster
//!     .create_organization(&principal, CreateOrganizationInput {
//!         slug: Some("acme".into()),
//!         name: Some("Acme".into()),
//!         ..Default::default()
//!     })
//!     .await?;
//! # let _ = (platform, org); Ok(()) }
//! ```
//!
//! `crates/domain/examples/` holds a complete program.

#![warn(missing_docs)]

pub mod api_key;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod error;
pub mod grant;
pub mod hashing;
pub mod ids;
pub mod invitation;
#[cfg(any(test, feature = "mocks"))]
pub mod mocks;
pub mod organization;
pub mod organization_input;
pub mod outbox;
pub mod page;
pub mod permission;
pub mod ports;
pub mod role;
pub mod service;
pub mod session;
pub mod user;
pub mod user_input;
pub mod validation;
pub mod values;

pub use error::{Error, StoreError};

#[cfg(test)]
mod tidy {
    /// Architecture invariant: the domain depends on no I/O crate.
    #[test]
    fn the_domain_depends_on_no_io_crate() {
        let manifest = include_str!("../Cargo.toml");
        let dependencies = manifest
            .split("[dependencies]")
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .expect("a [dependencies] table");
        for io in ["tokio", "sqlx", "axum", "tonic", "hyper", "serde_json", "lettre", "reqwest", "tower"] {
            let declared = dependencies.lines().any(|line| {
                line.trim_start().starts_with(&format!("{io} ")) || line.trim_start().starts_with(&format!("{io}."))
            });
            assert!(!declared, "roster-domain must not depend on {io}");
        }
    }
}
