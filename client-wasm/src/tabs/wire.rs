//! The messages the contexts (tabs, workers) of one origin exchange over a database's
//! `BroadcastChannel`, their bounds, and which calls may be sent again.
//!
//! Every message from another context is untrusted: it is read by [`read`](super::read), which
//! refuses an unknown `type`, `op` or `kind`, a missing or mistyped field, and anything over
//! the bounds below. A refused call is answered with `bad_tab_message`; any other refused
//! message is dropped with a console warning. Messages are sent as serde writes them.

use serde::Serialize;
use sync_core::client::ClientStatus;
use sync_core::model::Applied;

/// Longest context id (ours are 16 hex digits).
pub(super) const MAX_ID: usize = 64;
/// Longest document URL (`automerge:` and a base58 id: under 64).
pub(super) const MAX_URL: usize = 128;
/// Longest page title, as `create` accepts it.
pub(crate) const MAX_TITLE: usize = 64 * 1024;
/// Largest edit, as JSON, as `page.apply` accepts it.
pub(crate) const MAX_EDIT_BYTES: usize = 8 * 1024 * 1024;
/// Largest page JSON a leader pushes (a page far beyond any real one).
pub(super) const MAX_PAGE_JSON: usize = 64 * 1024 * 1024;
/// Most rows in a `list` answer.
pub(super) const MAX_ROWS: usize = 100_000;
/// Longest error code and message in a failed call's answer, and storage id.
pub(super) const MAX_CODE: usize = 64;
pub(super) const MAX_MESSAGE: usize = 16 * 1024;
pub(super) const MAX_STORAGE_ID: usize = 256;

/// One message on a database's channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub(crate) enum TabMessage {
    /// A context that opened as a follower asks who leads.
    Hello { from: String },
    /// The context holding the database's lock leads: on taking the lock, and in answer to
    /// `hello`. Followers send their calls to it from now on.
    Leader { from: String, storage_id: String },
    /// The leader closed: it answered every call it received and will answer no more. Calls
    /// still waiting go to the next leader.
    Resigned { from: String },
    /// A follower's call to the leader; answered with a `reply` of the same `seq`.
    Call {
        from: String,
        to: String,
        seq: u64,
        call: Call,
    },
    /// The leader received a call and starts it, in the same task: a call never accepted was
    /// never started, so it can go to the next leader whatever it is.
    Accepted { from: String, to: String, seq: u64 },
    /// The leader's answer to a call.
    Reply {
        from: String,
        to: String,
        seq: u64,
        outcome: Outcome,
    },
    /// The leader's copy of a page a follower opened, on every change and status change.
    Page {
        from: String,
        url: String,
        json: String,
        status: ClientStatus,
        /// What happened: `local` or `remote` for a change, `status` for a status change.
        event: PageEvent,
    },
}

/// What a follower asks the leader to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub(crate) enum Call {
    Create {
        title: String,
    },
    Find {
        url: String,
    },
    List,
    /// `edit` is the `PageEdit` as JSON.
    Apply {
        url: String,
        edit: String,
    },
    Synced {
        url: String,
    },
    Online {
        url: String,
        online: bool,
    },
    SetToken {
        token: String,
    },
}

/// How the leader answered a call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub(crate) enum Outcome {
    /// `create` and `find`: the page as the leader has it.
    Page {
        url: String,
        json: String,
        status: ClientStatus,
    },
    Rows {
        rows: Vec<Row>,
    },
    /// An edit is stored.
    Applied {
        applied: Applied,
    },
    Done,
    /// The call failed there as it would have here: the same code and message.
    Failed {
        code: String,
        message: String,
    },
    /// The leader is closing and did not carry the call out: send it to the next leader.
    Retry,
}

/// One row of `list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Row {
    pub(crate) url: String,
    pub(crate) title: String,
}

/// A page event a leader relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum PageEvent {
    Local,
    Remote,
    Status,
}

impl Call {
    /// Whether carrying the call out twice is harmless (the core's `Repeatable`). An edit or
    /// a create would be duplicated.
    pub(crate) fn may_resend(&self) -> bool {
        !matches!(self, Self::Create { .. } | Self::Apply { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::super::read;
    use super::*;
    use sync_core::client::SyncStatus;
    use wasm_bindgen::JsValue;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn status() -> ClientStatus {
        ClientStatus {
            sync: SyncStatus::Retrying {
                at_ms: 5,
                code: None,
                message: "down".into(),
            },
            unsaved: true,
            save_error: None,
        }
    }

    fn call(call: Call) -> TabMessage {
        TabMessage::Call {
            from: "a".into(),
            to: "b".into(),
            seq: 1,
            call,
        }
    }

    fn js(m: &TabMessage) -> JsValue {
        m.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .unwrap()
    }

    fn parse(json: &str) -> JsValue {
        js_sys::JSON::parse(json).unwrap()
    }

    #[wasm_bindgen_test]
    fn every_message_reads_back_as_sent() {
        let page = Outcome::Page {
            url: "automerge:x".into(),
            json: "{}".into(),
            status: status(),
        };
        let mut messages = vec![
            TabMessage::Hello { from: "a".into() },
            TabMessage::Leader {
                from: "a".into(),
                storage_id: "s".into(),
            },
            TabMessage::Resigned { from: "a".into() },
            TabMessage::Accepted {
                from: "b".into(),
                to: "a".into(),
                seq: 3,
            },
            TabMessage::Page {
                from: "b".into(),
                url: "automerge:x".into(),
                json: "{}".into(),
                status: status(),
                event: PageEvent::Remote,
            },
        ];
        for c in [
            Call::Create { title: "t".into() },
            Call::Find { url: "u".into() },
            Call::List,
            Call::Apply {
                url: "u".into(),
                edit: "{}".into(),
            },
            Call::Synced { url: "u".into() },
            Call::Online {
                url: "u".into(),
                online: false,
            },
            Call::SetToken { token: "t".into() },
        ] {
            messages.push(call(c));
        }
        for outcome in [
            page,
            Outcome::Rows {
                rows: vec![Row {
                    url: "u".into(),
                    title: "t".into(),
                }],
            },
            Outcome::Applied {
                applied: Applied {
                    created: Some("7f3a9c2e1b4d5a6c".parse().unwrap()),
                },
            },
            Outcome::Applied {
                applied: Applied { created: None },
            },
            Outcome::Done,
            Outcome::Failed {
                code: "edit_refused".into(),
                message: "no".into(),
            },
            Outcome::Retry,
        ] {
            messages.push(TabMessage::Reply {
                from: "b".into(),
                to: "a".into(),
                seq: 7,
                outcome,
            });
        }
        for m in messages {
            assert_eq!(read::message(&js(&m)).unwrap(), m);
        }
    }

    #[wasm_bindgen_test]
    fn bounds_refuse_oversized_fields_with_a_typed_error() {
        let big = "x".repeat(MAX_TITLE + 1);
        let err = read::message(&js(&call(Call::Create { title: big }))).unwrap_err();
        assert_eq!(err.code(), "bad_tab_message");
        let err = read::message(&js(&TabMessage::Hello {
            from: "x".repeat(MAX_ID + 1),
        }))
        .unwrap_err();
        assert_eq!(err.code(), "bad_tab_message");
        let rows = vec![
            Row {
                url: String::new(),
                title: String::new()
            };
            MAX_ROWS + 1
        ];
        let reply = TabMessage::Reply {
            from: "b".into(),
            to: "a".into(),
            seq: 1,
            outcome: Outcome::Rows { rows },
        };
        assert!(read::message(&js(&reply)).is_err());
        for seq in ["-1", "1.5", "9007199254740993", "\"1\""] {
            let m = parse(&format!(
                r#"{{"type":"call","from":"a","to":"b","seq":{seq},"call":{{"op":"list"}}}}"#
            ));
            assert!(read::message(&m).is_err(), "seq {seq}");
        }
        let bad_status = parse(
            r#"{"type":"page","from":"a","url":"u","json":"{}","event":"local","status":{"sync":{"state":"refused","code":"nope","message":""},"unsaved":false,"saveError":null}}"#,
        );
        assert!(read::message(&bad_status).is_err());
    }

    #[wasm_bindgen_test]
    fn only_calls_harmless_to_repeat_are_resent() {
        assert!(!Call::Create { title: "t".into() }.may_resend());
        assert!(
            !Call::Apply {
                url: String::new(),
                edit: String::new()
            }
            .may_resend()
        );
        assert!(Call::Find { url: String::new() }.may_resend());
        assert!(Call::List.may_resend());
        assert!(Call::Synced { url: String::new() }.may_resend());
    }

    #[wasm_bindgen_test]
    fn unknown_types_and_ops_do_not_read_but_a_call_can_still_be_refused() {
        let m = parse(r#"{"type":"call","from":"a","to":"b","seq":1,"call":{"op":"dropTables"}}"#);
        assert!(read::message(&m).is_err());
        let header = read::header(&m, "b").expect("addressed to b");
        assert_eq!((header.from.as_str(), header.seq), ("a", 1));
        assert!(read::header(&m, "c").is_none(), "not addressed to c");
        assert!(read::message(&parse(r#"{"type":"shutdown","from":"a"}"#)).is_err());
        assert!(read::message(&parse(r#""hello""#)).is_err());
        assert!(read::message(&parse(r#"{"type":"hello","from":7}"#)).is_err());
    }
}
