//! The storage contract suite on PostgreSQL: each test on a new, migrated database,
//! dropped when the test passes (kept for inspection when it fails).

use roster_postgres::testing;
use roster_storage_contract::TestStore;

async fn fresh_store() -> TestStore {
    let (storage, url) = testing::fresh_database_with_url().await;
    TestStore::new(storage).teardown(async move { testing::drop_database(&url).await })
}

roster_storage_contract::contract_tests!(fresh_store());
