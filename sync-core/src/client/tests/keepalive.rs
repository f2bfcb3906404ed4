//! The keepalive: a `keepalive` frame once a connected session was quiet for the configured
//! interval, and never otherwise.

use super::*;

const EVERY: u64 = 20_000;

/// A session with a keepalive, whose stall watchdog is out of the way (it would reconnect a
/// session the relay never acks first).
fn keepalive_config(keepalive_ms: Option<u64>) -> ClientConfig {
    ClientConfig {
        keepalive_ms,
        stall_timeout_ms: 3_600_000,
        ..config()
    }
}

/// Online and past the handshake at `NOW` (its last frame went out at `NOW`).
fn connected_with(config: ClientConfig) -> (DocSync, Vec<ClientOutput>) {
    let mut page = Page::create([3; 16], "t");
    let stored = StoredDoc {
        bytes: page.doc_mut().save(),
        chunks: 1,
        sync_states: Default::default(),
    };
    let mut s = DocSync::loaded(config, doc_id(), stored, [9; 16]).0;
    assert!(connects(&s.handle(NOW, ClientInput::GoOnline)));
    s.handle(NOW, ClientInput::TransportOpened);
    let outs = s.handle(NOW, ClientInput::Frame(peer_frame()));
    assert!(outs.contains(&ClientOutput::Event(ClientEvent::Connected)));
    (s, outs)
}

fn keepalives(outs: &[ClientOutput]) -> usize {
    outs.iter()
        .filter(
            |o| matches!(o, ClientOutput::Send(b) if Message::decode(b) == Ok(Message::Keepalive)),
        )
        .count()
}

#[test]
fn a_quiet_connection_sends_a_keepalive_every_interval() {
    let (mut s, outs) = connected_with(keepalive_config(Some(EVERY)));
    assert_eq!(
        timer(&outs),
        Some(NOW + EVERY),
        "the keepalive is the next deadline"
    );
    let outs = s.handle(NOW + EVERY, ClientInput::Timer);
    assert_eq!(keepalives(&outs), 1);
    assert_eq!(
        timer(&outs),
        Some(NOW + 2 * EVERY),
        "and the next one is scheduled"
    );
    let outs = s.handle(NOW + 2 * EVERY, ClientInput::Timer);
    assert_eq!(keepalives(&outs), 1);
    assert!(status(&outs).is_none(), "a keepalive changes no status");
    assert!(first_storage(&outs).is_none(), "and writes nothing");
}

#[test]
fn traffic_either_way_postpones_the_keepalive() {
    let (mut s, _) = connected_with(keepalive_config(Some(EVERY)));
    // A frame from the relay at +15 s: the connection is not quiet at +20 s.
    let leave_alone = Message::Unknown {
        type_name: "x-news".into(),
    };
    let outs = s.handle(NOW + 15_000, ClientInput::Frame(leave_alone.encode()));
    assert_eq!(timer(&outs), Some(NOW + 15_000 + EVERY));
    let outs = s.handle(NOW + EVERY, ClientInput::Timer);
    assert_eq!(keepalives(&outs), 0);
    // A local edit at +30 s sends a sync message: quiet again only from then.
    let outs = add_block_at(&mut s, NOW + 30_000);
    assert!(outs.iter().any(|o| matches!(o, ClientOutput::Send(_))));
    let outs = s.handle(NOW + 15_000 + EVERY, ClientInput::Timer);
    assert_eq!(keepalives(&outs), 0);
    let outs = s.handle(NOW + 30_000 + EVERY, ClientInput::Timer);
    assert_eq!(keepalives(&outs), 1);
}

fn add_block_at(s: &mut DocSync, now: u64) -> Vec<ClientOutput> {
    let edit = PageEdit::AddBlock {
        kind: BlockKind::Paragraph,
        text: "x".into(),
        target: Target::End { parent: None },
    };
    s.apply(now, &edit).unwrap().1
}

#[test]
fn without_the_setting_or_a_connection_there_is_no_keepalive() {
    let (mut s, outs) = connected_with(keepalive_config(None));
    assert_eq!(
        timer(&outs),
        Some(NOW + 3_600_000),
        "the stall watchdog's deadline only"
    );
    assert_eq!(
        keepalives(&s.handle(NOW + 10 * EVERY, ClientInput::Timer)),
        0
    );

    let (mut s, _) = connected_with(keepalive_config(Some(EVERY)));
    let outs = s.handle(NOW + 1, ClientInput::GoOffline);
    assert_eq!(timer(&outs), None, "offline: no keepalive deadline");
    assert_eq!(keepalives(&s.handle(NOW + EVERY, ClientInput::Timer)), 0);

    // Dropped: the deadlines are the reconnect's, and the keepalive waits for a handshake.
    let (mut s, _) = connected_with(keepalive_config(Some(EVERY)));
    let outs = s.handle(NOW + 1, closed(None));
    let retry = timer(&outs).expect("a reconnect");
    assert!(retry < NOW + EVERY, "back-off starts small");
    let outs = s.handle(retry, ClientInput::Timer);
    assert!(connects(&outs));
    assert_eq!(keepalives(&outs), 0);
    let outs = s.handle(retry, ClientInput::TransportOpened);
    assert_eq!(keepalives(&outs), 0);
    assert_ne!(timer(&outs), Some(NOW + 1 + EVERY));
}

#[test]
fn a_tiny_interval_is_raised_to_the_floor() {
    let (mut s, outs) = connected_with(keepalive_config(Some(0)));
    assert_eq!(timer(&outs), Some(NOW + MIN_KEEPALIVE_MS));
    assert_eq!(keepalives(&s.handle(NOW, ClientInput::Timer)), 0);
    assert_eq!(
        keepalives(&s.handle(NOW + MIN_KEEPALIVE_MS, ClientInput::Timer)),
        1
    );
}
