//! Black-box tests of the gRPC front end: the real server from `roster_grpc::serve` on
//! port 0, over SQLite storage, driven by the generated tonic clients.

mod errors;
mod organizations;
mod platform;
mod support;
mod users;
