//! What the room reports for logs and metrics: its events, and its metrics points (what they
//! count, and when one is handed out).

use super::*;

fn points_of(outs: &[RoomOutput]) -> Vec<MetricsPoint> {
    outs.iter()
        .filter_map(|o| match o {
            RoomOutput::Event(RoomEvent::Metrics(p)) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_period_of_traffic_changes_and_refusals_becomes_one_point() {
    let mut room = room();
    let mut outs = join(&mut room, ConnId(1), true);
    outs.extend(join(&mut room, ConnId(2), true));
    let (_doc, pushed) = push_change(&mut room, ConnId(1));
    outs.extend(pushed.clone());
    outs.extend(grant_quota(&mut room, &pushed));
    let (task, _) = storage_tasks(&outs).pop().expect("a log append");
    outs.extend(room.handle(
        NOW,
        RoomInput::StorageDone {
            task,
            outcome: Ok(()),
        },
    ));
    outs.extend(room.handle(
        NOW,
        RoomInput::Frame {
            conn: ConnId(2),
            bytes: vec![0xff, 0x00, 0x13],
        },
    ));
    assert!(
        points_of(&outs).is_empty(),
        "no point before the period ends"
    );
    let events: Vec<&RoomEvent> = outs
        .iter()
        .filter_map(|o| match o {
            RoomOutput::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    let connected = events
        .iter()
        .filter(|e| matches!(e, RoomEvent::Connected { subject, .. } if subject == "u"))
        .count();
    assert_eq!(
        connected, 2,
        "each accepted connection is an event: {events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RoomEvent::QuotaAnswered { answer: Ok(n) } if *n > 0)),
        "the quota's answer is an event: {events:?}"
    );
    let timers: Vec<u64> = outs
        .iter()
        .filter_map(|o| match o {
            RoomOutput::SetTimer { at_ms } => Some(*at_ms),
            _ => None,
        })
        .collect();
    assert!(
        timers.contains(&(NOW + METRICS_PERIOD_MS)),
        "the room asks to be woken at the end of the period, before it could hibernate: {timers:?}"
    );
    let outs = room.handle(NOW + METRICS_PERIOD_MS, RoomInput::Timer);
    let points = points_of(&outs);
    assert_eq!(points.len(), 1, "{outs:?}");
    let p = &points[0];
    assert_eq!(p.connects, 2);
    assert_eq!(p.peers, 1, "one peer left after the refusal");
    assert!(p.frames_in >= 5 && p.bytes_in > 0, "{p:?}");
    assert!(p.frames_out >= 3 && p.bytes_out > 0, "{p:?}");
    assert_eq!(p.changes, 1);
    assert!(p.change_bytes > 0);
    assert_eq!(p.refusals.get(&ErrorCode::BadMessage), Some(&1));
    assert_eq!(p.period_ms, METRICS_PERIOD_MS);

    let quiet = room.handle(NOW + 5 * METRICS_PERIOD_MS, RoomInput::Timer);
    assert!(
        points_of(&quiet).is_empty(),
        "a quiet period hands out nothing"
    );
}
