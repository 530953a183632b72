//! The shared conformance stories on a fresh PostgreSQL database each.
//!
//! `DOCENT_TEST_DATABASE_URL` names a server where the test user may create databases (the
//! test command starts one); without it these tests skip, unless `DOCENT_REQUIRE_POSTGRES=1`
//! (set in CI) makes that a failure.

use docent_store_postgres::fresh_test_store as fresh;

docent_store::conformance_tests!(fresh());

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let Some(store) = fresh().await else { return };
    assert_eq!(store.migrate().await.expect("again"), 0);
}

#[test]
fn migrations_match_the_sqlite_backend() {
    let pg: Vec<_> = docent_store_postgres::MIGRATIONS
        .iter()
        .map(|(v, n, _)| (*v, *n))
        .collect();
    let sqlite: Vec<_> = docent_store_sqlite::MIGRATIONS
        .iter()
        .map(|(v, n, _)| (*v, *n))
        .collect();
    assert_eq!(
        pg, sqlite,
        "every migration needs a twin of the same version and name"
    );
    let files = |dir: &str| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        files(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")),
        files(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docent-store-sqlite/migrations"
        ))
    );
}

/// Two replicas on one database: an event published by one reaches the other's subscribers
/// through LISTEN/NOTIFY, in order and by topic, well within a second each.
#[tokio::test]
async fn the_hub_carries_events_between_replicas() {
    let Ok(url) = std::env::var("DOCENT_TEST_DATABASE_URL") else {
        assert!(std::env::var("DOCENT_REQUIRE_POSTGRES").is_err());
        return;
    };
    let one = docent_store_postgres::PostgresStore::connect(&url, 2)
        .await
        .expect("one");
    let two = docent_store_postgres::PostgresStore::connect(&url, 2)
        .await
        .expect("two");
    use docent_store::Store;
    let prefix = format!("test:{}", uuid::Uuid::now_v7());
    let started = std::time::Instant::now();
    docent_store::hub::hub_story(&*one.hub(), &*two.hub(), &prefix).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // And within one replica, its own events come back through the database.
    docent_store::hub::hub_story(&*one.hub(), &*one.hub(), &format!("{prefix}:self")).await;
}
