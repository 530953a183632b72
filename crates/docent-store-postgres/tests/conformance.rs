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
