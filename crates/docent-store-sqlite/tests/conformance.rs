//! The shared conformance stories on a fresh SQLite file each.

use docent_store_sqlite::SqliteStore;

async fn fresh() -> Option<SqliteStore> {
    let dir = std::env::temp_dir().join(format!("docent-conformance-{}", uuid::Uuid::now_v7()));
    let store = SqliteStore::open_dir(&dir, 4).await.expect("open sqlite");
    store.migrate().await.expect("migrate");
    Some(store)
}

docent_store::conformance_tests!(fresh());

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let store = fresh().await.expect("store");
    assert_eq!(store.migrate().await.expect("again"), 0);
}
