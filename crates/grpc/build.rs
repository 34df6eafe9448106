//! Compiles the `roster.v1` protobuf contract (`<workspace>/proto`) into Rust.
//!
//! Parsing is done by `protox` (pure Rust, bundles the `google/protobuf` well-known
//! types), so neither a system `protoc` nor any download is needed. The resulting
//! descriptor set is both fed to `tonic-prost-build` and written to
//! `$OUT_DIR/roster_descriptor.bin` for gRPC server reflection.

use std::env;
use std::error::Error;
use std::fs;
use std::path::PathBuf;

use prost::Message as _;

/// The contract's files, relative to the proto root.
const PROTOS: [&str; 10] = [
    "roster/v1/organizations.proto",
    "roster/v1/users.proto",
    "roster/v1/auth.proto",
    "roster/v1/authorization.proto",
    "roster/v1/roles.proto",
    "roster/v1/permission_grants.proto",
    "roster/v1/api_keys.proto",
    "roster/v1/sessions.proto",
    "roster/v1/audit.proto",
    "roster/v1/invitations.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?);
    let proto_root = manifest_dir.join("../../proto");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);

    println!("cargo:rerun-if-changed={}", proto_root.display());
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", proto_root.join(proto).display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let fds = protox::compile(PROTOS, [&proto_root])?;
    fs::write(out_dir.join("roster_descriptor.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Maps become `BTreeMap`s: deterministic order, and what the domain uses.
        .btree_map(".")
        .compile_fds(fds)?;
    Ok(())
}
