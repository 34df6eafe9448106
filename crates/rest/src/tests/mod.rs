//! Edge behaviour of the router, driven with `tower::ServiceExt::oneshot` over a real
//! SQLite database (or mocked storage where a failure must be forced). The black-box API
//! suite lives in the app crate; these cover what this crate adds: problems, extractors,
//! headers, middleware and the OpenAPI document.

mod access;
mod conventions;
mod extractors;
mod invitations;
mod invite_page;
mod ops;
mod resources;
mod support;
