//! What an FFI host relies on: storage never parks the executor, events and status reach plain
//! callbacks, and a subscription stops for good when cancelled or dropped.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_native::{BlockKind, Client, ClientStatus, DocEvent, Target};

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Another connection holds SQLite's write lock, so the edit's commit waits for it. On a
/// one-thread runtime, the executor must stay free meanwhile: a timer fires on time, and the
/// edit returns (durable) only after the lock is released.
#[test]
fn a_waiting_commit_does_not_block_the_executor() {
    let dir = tempfile::tempdir().unwrap();
    current_thread().block_on(async {
        let client = Client::open(dir.path()).unwrap();
        let doc = client.create("t").await.unwrap();
        let blk = doc
            .add_block(
                BlockKind::Paragraph,
                String::new(),
                Target::End { parent: None },
            )
            .await
            .unwrap();
        let locker = rusqlite::Connection::open(client.path()).unwrap();
        locker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let edit = tokio::spawn({
            let doc = doc.clone();
            let blk = blk.clone();
            async move { doc.insert_text(blk, 0, "x".into()).await }
        });
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the executor was blocked for {:?}",
            started.elapsed()
        );
        assert!(!edit.is_finished(), "the edit cannot be durable yet");
        locker.execute_batch("COMMIT").unwrap();
        edit.await.unwrap().unwrap();
        let view = doc.view().await.unwrap();
        assert_eq!(view.blocks[0].text, "x");
    });
}

#[test]
fn callbacks_get_events_and_status_until_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = Client::open(dir.path()).unwrap();
        let doc = client.create("t").await.unwrap();
        let seen: Arc<Mutex<Vec<DocEvent>>> = Arc::default();
        let statuses: Arc<Mutex<Vec<ClientStatus>>> = Arc::default();
        let events = doc.subscribe(Box::new({
            let seen = seen.clone();
            move |e| seen.lock().unwrap().push(e)
        }));
        let status = doc.subscribe_status(Box::new({
            let statuses = statuses.clone();
            move |s| statuses.lock().unwrap().push(s)
        }));
        assert!(events.is_active() && status.is_active());
        doc.add_block(
            BlockKind::Paragraph,
            "a".into(),
            Target::End { parent: None },
        )
        .await
        .unwrap();
        wait_for(|| seen.lock().unwrap().contains(&DocEvent::LocalChange)).await;
        // The status callback got the status at once, then each change up to the current one.
        let now = doc.current_status();
        wait_for(|| statuses.lock().unwrap().last() == Some(&now)).await;
        assert_eq!(
            statuses.lock().unwrap()[0].sync,
            client_native::SyncStatus::Offline
        );

        events.cancel();
        assert!(!events.is_active());
        let before = seen.lock().unwrap().len();
        doc.add_block(
            BlockKind::Paragraph,
            "b".into(),
            Target::End { parent: None },
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(seen.lock().unwrap().len(), before, "no call after cancel");
        drop(status);
    });
}

/// A host may cancel from inside its own callback (uniffi callbacks often do): no deadlock,
/// and no further calls.
#[test]
fn cancelling_inside_the_callback_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = Client::open(dir.path()).unwrap();
        let doc = client.create("t").await.unwrap();
        let calls = Arc::new(Mutex::new(0));
        let slot: Arc<Mutex<Option<client_native::Subscription>>> = Arc::default();
        let sub = doc.subscribe(Box::new({
            let calls = calls.clone();
            let slot = slot.clone();
            move |_| {
                *calls.lock().unwrap() += 1;
                if let Some(sub) = slot.lock().unwrap().as_ref() {
                    sub.cancel();
                }
            }
        }));
        *slot.lock().unwrap() = Some(sub);
        for text in ["a", "b", "c"] {
            doc.add_block(
                BlockKind::Paragraph,
                text.into(),
                Target::End { parent: None },
            )
            .await
            .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(*calls.lock().unwrap(), 1);
        assert!(!slot.lock().unwrap().as_ref().unwrap().is_active());
    });
}

async fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
