//! `tessera sync` against sync-core's real relay room served on loopback by a minimal in-test
//! shell (see client-native's loopback tests); `tests/client-e2e` covers the real relay.

use sync_core::protocol::DocumentId;
use tokio::net::TcpListener;

#[path = "../../tests/support/loopback_relay.rs"]
mod loopback_relay;
use loopback_relay::{Shared, serve};

fn cli(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("TESSERA_DATA")
        .output()
        .unwrap()
}

/// `tessera sync` on two devices, one of which has never seen the document, then offline edits
/// on both: identical `show --json`, and exit codes that scripts can rely on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sync_converges_two_data_dirs() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, Shared::default()));
    tokio::task::spawn_blocking(move || {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, b) = (a.path(), b.path());
        let out = |o: std::process::Output| {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8(o.stdout).unwrap().trim().to_owned()
        };
        let doc = out(cli(a, &["new", "--title", "cli"]));
        let sync = |d| {
            out(cli(
                d,
                &[
                    "sync",
                    &doc,
                    "--relay",
                    &relay,
                    "--token",
                    "tok",
                    "--timeout",
                    "20",
                ],
            ))
        };
        let blk = out(cli(
            a,
            &["add", &doc, "--kind", "paragraph", "--text", "abc"],
        ));
        sync(a);
        sync(b);
        out(cli(a, &["edit", &doc, &blk, "--insert", "0", "A"]));
        out(cli(b, &["edit", &doc, &blk, "--insert", "3", "B"]));
        sync(a);
        sync(b);
        sync(a);
        let (ja, jb) = (
            out(cli(a, &["show", &doc, "--json"])),
            out(cli(b, &["show", &doc, "--json"])),
        );
        assert_eq!(ja, jb);
        assert!(ja.contains("\"text\":\"AabcB\""), "{ja}");
        // A document the relay has never seen, on a device that lacks it: a clear failure.
        let unknown = DocumentId::from_random_bytes([5; 16]).to_url();
        let o = cli(
            b,
            &[
                "sync",
                &unknown,
                "--relay",
                &relay,
                "--token",
                "tok",
                "--timeout",
                "10",
            ],
        );
        assert!(!o.status.success());
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("does not have"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    })
    .await
    .unwrap();
}
