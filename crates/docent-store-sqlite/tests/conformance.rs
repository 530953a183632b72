//! The shared conformance stories on a fresh SQLite file each.

use docent_store_sqlite::fresh_test_store;

docent_store::conformance_tests!(async { Some(fresh_test_store().await) });

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let store = fresh_test_store().await;
    assert_eq!(store.migrate().await.expect("again"), 0);
}
