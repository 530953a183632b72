//! The command line as an operator uses it.

use std::process::Command;

use docent_core::*;
use docent_store::prelude::*;
use docent_store_sqlite::SqliteStore;

const BIN: &str = env!("CARGO_BIN_EXE_docent");

#[tokio::test]
async fn ingest_adds_files_and_directories_to_a_chat_space() {
    let dir = std::env::temp_dir().join(format!("docent-cli-{}", uuid::Uuid::now_v7()));
    let data = dir.join("data");
    let store = SqliteStore::open_dir(&data, 2).await.expect("store");
    store.migrate().await.expect("migrate");
    let (_, org) = store
        .signup(
            NewUser::new("ops@example.com", "ops"),
            NewOrganization::new("Ops", "ops", Plan::Free),
        )
        .await
        .expect("signup");
    let space = store
        .create_chat_space(org.id, NewChatSpace::new("Help", "help-cli"))
        .await
        .expect("space");
    let docs = dir.join("docs");
    std::fs::create_dir_all(docs.join("nested")).expect("dirs");
    std::fs::write(
        docs.join("returns.md"),
        "# Returns\n\nRefunds within five days.\n",
    )
    .expect("write");
    std::fs::write(docs.join("nested/hours.txt"), "Open nine to five.").expect("write");
    std::fs::write(docs.join("photo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").expect("write");

    let out = Command::new(BIN)
        .args(["ingest", "--data-dir"])
        .arg(&data)
        .args(["--chat-space", "help-cli"])
        .arg(&docs)
        .env_remove("DOCENT_DATABASE_URL")
        .output()
        .expect("run docent ingest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("2 document(s) ready"),
        "the summary goes with the progress, to standard error: {stderr}"
    );
    assert!(
        stderr.contains("photo.png"),
        "unsupported files are named: {stderr}"
    );
    assert_eq!(
        store
            .count_documents(org.id, space.id, Some(DocumentStatus::Completed))
            .await
            .expect("count"),
        2
    );

    let missing = Command::new(BIN)
        .args(["ingest", "--data-dir"])
        .arg(&data)
        .args(["--chat-space", "no-such-space", "/nonexistent"])
        .output()
        .expect("run");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no chat space"));
    std::fs::remove_dir_all(dir).ok();
}
