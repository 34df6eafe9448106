//! Black-box tests of the gRPC front end: the real server from `roster_grpc::serve` on
//! port 0, over SQLite storage, driven by the generated tonic clients.

mod authentication;
mod authorization;
mod errors;
mod grants;
mod invitations;
mod organizations;
mod platform;
mod roles;
mod sessions;
mod support;
mod users;
