//! The `tessera` binary as scripts use it: real processes on a real SQLite file.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn tessera(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("TESSERA_DATA")
        .output()
        .expect("run tessera")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = tessera(data, args);
    assert!(
        out.status.success(),
        "tessera {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

fn fail(data: &Path, args: &[&str]) -> String {
    let out = tessera(data, args);
    assert!(!out.status.success(), "tessera {args:?} should fail");
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn edits_round_trip_through_show() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = ok(d, &["new", "--title", "Plan"]);
    assert!(url.starts_with("automerge:"));
    let h = ok(
        d,
        &[
            "add", &url, "--kind", "heading", "--level", "2", "--text", "Goals",
        ],
    );
    let t = ok(
        d,
        &[
            "add", &url, "--kind", "todo", "--text", "ship", "--parent", &h,
        ],
    );
    let p = ok(
        d,
        &[
            "add",
            &url,
            "--kind",
            "paragraph",
            "--text",
            "intro",
            "--after",
            &h,
        ],
    );
    ok(d, &["edit", &url, &t, "--insert", "4", " it"]);
    ok(d, &["edit", &url, &p, "--delete", "0", "2"]);
    ok(d, &["mark", &url, &t, "0", "4", "bold"]);
    ok(d, &["mark", &url, &t, "0", "4", "color=red"]);
    ok(d, &["mark", &url, &t, "0", "4", "color", "--remove"]);
    ok(d, &["move", &url, &p, "--first"]);
    let json = ok(d, &["show", &url, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["title"], "Plan");
    assert_eq!(v["blocks"][0]["text"], "tro");
    assert_eq!(v["blocks"][1]["props"]["level"], 2);
    let todo = &v["blocks"][1]["children"][0];
    assert_eq!(todo["text"], "ship it");
    assert_eq!(todo["marks"].as_array().unwrap().len(), 1);
    // Printing twice gives the same bytes, and so does the listing's URL.
    assert_eq!(ok(d, &["show", &url, "--json"]), json);
    let id = url.trim_start_matches("automerge:");
    assert_eq!(ok(d, &["show", id, "--json"]), json);
    ok(d, &["delete", &url, &h]);
    let v: serde_json::Value = serde_json::from_str(&ok(d, &["show", &url, "--json"])).unwrap();
    assert_eq!(v["blocks"].as_array().unwrap().len(), 1);
    let list: serde_json::Value = serde_json::from_str(&ok(d, &["list", "--json"])).unwrap();
    assert_eq!(list[0]["url"], url.as_str());
}

#[test]
fn bad_input_fails_clearly_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = ok(d, &["new"]);
    let b = ok(d, &["add", &url, "--kind", "paragraph", "--text", "abc"]);
    let before = ok(d, &["show", &url, "--json"]);
    assert!(fail(d, &["edit", &url, &b, "--delete", "1", "10"]).contains("outside the text"));
    assert!(fail(d, &["edit", &url, &b, "--insert", "x", "y"]).contains("must be a number"));
    assert!(fail(d, &["add", &url, "--kind", "table"]).contains("unknown block kind"));
    assert!(fail(d, &["mark", &url, &b, "0", "1", "link"]).contains("needs a value"));
    assert!(fail(d, &["move", &url, &b, "--parent", &b]).contains("under itself"));
    assert!(fail(d, &["edit", &url, "ffffffffffffffff", "--set", "x"]).contains("no block"));
    assert!(fail(d, &["show", "automerge:nope"]).contains("not a document URL"));
    let unknown = "automerge:2j9PSBNzhHFgV1Dw4BMzL1gEPKCn";
    let msg = fail(d, &["show", unknown]);
    assert!(
        msg.contains("not in this database") || msg.contains("not a document"),
        "{msg}"
    );
    ok(d, &["delete", &url, &b]);
    assert!(fail(d, &["edit", &url, &b, "--set", "x"]).contains("deleted"));
    let after: serde_json::Value = serde_json::from_str(&ok(d, &["show", &url, "--json"])).unwrap();
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(after["title"], before["title"]);
}

#[test]
fn a_newer_database_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["new"]);
    let conn = rusqlite::Connection::open(d.join("tessera.db")).unwrap();
    conn.execute(
        "UPDATE meta SET value = '7' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(conn);
    assert!(fail(d, &["list"]).contains("upgrade tessera"));
}

#[test]
fn token_mints_a_verifiable_hs256_jwt() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = ok(
        dir.path(),
        &[
            "token", "--secret", "s3cret", "--sub", "ann", "--scope", "admin",
        ],
    );
    let verifier = sync_core::auth::Verifier::new(sync_core::auth::VerifierConfig {
        hs256_secret: Some(b"s3cret".to_vec()),
        ..Default::default()
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = verifier.verify(&jwt, now).unwrap();
    assert_eq!(claims.sub, "ann");
    assert!(claims.scope.is_admin());
}

/// `kill -9` in the middle of a burst of edits: every edit whose command returned is on disk.
#[test]
fn kill_9_during_a_burst_keeps_every_returned_edit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = ok(d, &["new"]);
    let b = ok(d, &["add", &url, "--kind", "paragraph"]);
    let mut returned = 0;
    for i in 0..40 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("--data")
            .arg(d)
            .args(["edit", &url, &b, "--insert", "0", "x"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if i % 4 == 3 {
            // Kill at a varying point of the process's life.
            std::thread::sleep(std::time::Duration::from_millis(i as u64 % 7));
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        } else {
            assert!(child.wait().unwrap().success());
            returned += 1;
        }
    }
    let v: serde_json::Value = serde_json::from_str(&ok(d, &["show", &url, "--json"])).unwrap();
    let len = v["blocks"][0]["text"].as_str().unwrap().chars().count();
    assert!(
        len >= returned && len <= 40,
        "{len} chars, {returned} returned"
    );
}

/// A plain-text relay URL off this machine would carry the token in clear text: refused at
/// once with the way out, unless `--insecure-transport` says the user means it.
#[test]
fn plain_http_to_another_host_is_refused_unless_opted_in() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = ok(d, &["new"]);
    let started = std::time::Instant::now();
    let sync = |extra: &[&str]| {
        let mut args = vec![
            "sync",
            url.as_str(),
            "--relay",
            "http://relay.invalid:8787",
            "--token",
            "t",
            "--timeout",
            "2",
        ];
        args.extend_from_slice(extra);
        tessera(d, &args)
    };
    let out = sync(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("clear text")
            && err.contains("https://")
            && err.contains("--insecure-transport"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // Opted in: the transport tries (and, with no such host, times out saying so).
    let out = sync(&["--insecure-transport"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(!err.contains("clear text"), "{err}");
    // Loopback needs no opt-in.
    let out = tessera(
        d,
        &[
            "sync",
            &url,
            "--relay",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "--timeout",
            "1",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("unreachable"), "{err}");
}

#[test]
fn a_bad_ca_file_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = ok(d, &["new"]);
    let missing = d.join("no-such-ca.pem");
    let out = tessera(
        d,
        &[
            "sync",
            &url,
            "--relay",
            "https://127.0.0.1:9",
            "--token",
            "t",
            "--ca-file",
            missing.to_str().unwrap(),
            "--timeout",
            "1",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no-such-ca.pem"), "{err}");
}
