//! The storage contract suite on SQLite: each test on a new database file in a temporary
//! directory of its own.

use roster_sqlite::SqliteStorage;
use roster_storage_contract::TestStore;

async fn fresh_store() -> TestStore {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let storage = SqliteStorage::open(&dir.path().join("roster.db")).await.expect("open the database");
    storage.migrate().await.expect("migrate");
    TestStore::new(storage).keep(dir)
}

roster_storage_contract::contract_tests!(fresh_store());
