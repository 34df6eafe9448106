//! Black-box API tests: the real REST router and the real gRPC server (port 0), built
//! exactly as `roster serve` builds them, on real SQLite and PostgreSQL storage. One test
//! binary, one module per area; every scenario runs on both backends.

mod audit;
mod auth;
mod binary;
mod browser;
mod delivery;
mod grpc;
mod harness;
mod invitations;
mod matrix;
mod organizations;
mod roles;
mod users;

/// Runs each listed scenario `async fn name(app: TestApp)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::TestApp::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::TestApp::postgres().await).await;
                }
            )*
        }
    };
}
