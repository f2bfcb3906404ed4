//! The messages the contexts (tabs, workers) of one origin exchange over a database's
//! `BroadcastChannel`, their bounds, and which calls may be sent again.
//!
//! Every message from another context is untrusted: it is read with serde into these types
//! (an unknown `type` or `op`, a missing or mistyped field, is refused), then [`check`]ed
//! against the bounds below. A refused call is answered with `bad_tab_message`; any other
//! refused message is dropped with a console warning.
//!
//! [`check`]: TabMessage::check

use serde::{Deserialize, Serialize};
use sync_core::client::ClientStatus;
use sync_core::model::Applied;

use crate::error::{Error, Result};

/// Longest context id (ours are 16 hex digits).
const MAX_ID: usize = 64;
/// Longest document URL (`automerge:` and a base58 id: under 64).
const MAX_URL: usize = 128;
/// Longest page title, as `create` accepts it.
pub(crate) const MAX_TITLE: usize = 64 * 1024;
/// Largest edit, as JSON, as `page.apply` accepts it.
pub(crate) const MAX_EDIT_BYTES: usize = 8 * 1024 * 1024;
/// Largest page JSON a leader pushes (a page far beyond any real one).
const MAX_PAGE_JSON: usize = 64 * 1024 * 1024;
/// Most rows in a `list` answer.
const MAX_ROWS: usize = 100_000;
/// Longest error code and message in a failed call's answer, and storage id.
const MAX_CODE: usize = 64;
const MAX_MESSAGE: usize = 16 * 1024;
const MAX_STORAGE_ID: usize = 256;

/// One message on a database's channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub(crate) url: String,
    pub(crate) title: String,
}

/// A page event a leader relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    fn check(&self) -> Result<()> {
        match self {
            Self::Create { title } => bound("title", title, MAX_TITLE),
            Self::Find { url } | Self::Synced { url } | Self::Online { url, .. } => {
                bound("url", url, MAX_URL)
            }
            Self::List => Ok(()),
            Self::Apply { url, edit } => {
                bound("url", url, MAX_URL)?;
                bound("edit", edit, MAX_EDIT_BYTES)
            }
            Self::SetToken { token } => bound("token", token, crate::options::MAX_TOKEN),
        }
    }
}

impl Outcome {
    fn check(&self) -> Result<()> {
        match self {
            Self::Page { url, json, .. } => {
                bound("url", url, MAX_URL)?;
                bound("json", json, MAX_PAGE_JSON)
            }
            Self::Rows { rows } => {
                if rows.len() > MAX_ROWS {
                    return Err(refused(format!("more than {MAX_ROWS} rows")));
                }
                rows.iter().try_for_each(|r| {
                    bound("url", &r.url, MAX_URL)?;
                    bound("title", &r.title, MAX_TITLE)
                })
            }
            Self::Failed { code, message } => {
                bound("code", code, MAX_CODE)?;
                bound("message", message, MAX_MESSAGE)
            }
            Self::Applied { .. } | Self::Done | Self::Retry => Ok(()),
        }
    }
}

impl TabMessage {
    /// The sender's context id.
    pub(crate) fn from(&self) -> &str {
        match self {
            Self::Hello { from }
            | Self::Leader { from, .. }
            | Self::Resigned { from }
            | Self::Call { from, .. }
            | Self::Accepted { from, .. }
            | Self::Reply { from, .. }
            | Self::Page { from, .. } => from,
        }
    }

    /// Checks every bound; serde already checked the shape.
    pub(crate) fn check(&self) -> Result<()> {
        bound("from", self.from(), MAX_ID)?;
        match self {
            Self::Hello { .. } | Self::Resigned { .. } => Ok(()),
            Self::Leader { storage_id, .. } => bound("storageId", storage_id, MAX_STORAGE_ID),
            Self::Call { to, seq, call, .. } => {
                bound("to", to, MAX_ID)?;
                check_seq(*seq)?;
                call.check()
            }
            Self::Accepted { to, seq, .. } => {
                bound("to", to, MAX_ID)?;
                check_seq(*seq)
            }
            Self::Reply {
                to, seq, outcome, ..
            } => {
                bound("to", to, MAX_ID)?;
                check_seq(*seq)?;
                outcome.check()
            }
            Self::Page { url, json, .. } => {
                bound("url", url, MAX_URL)?;
                bound("json", json, MAX_PAGE_JSON)
            }
        }
    }
}

/// The addressing of a call that did not read as a whole: enough to refuse it with a reply.
#[derive(Debug, Deserialize)]
pub(crate) struct CallHeader {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) seq: u64,
}

impl CallHeader {
    /// Whether this is a call to `me` that can be answered.
    pub(crate) fn answerable_by(&self, me: &str) -> bool {
        self.kind == "call"
            && self.to == me
            && self.from.len() <= MAX_ID
            && check_seq(self.seq).is_ok()
    }
}

/// Sequence numbers stay exact in a JavaScript number.
fn check_seq(seq: u64) -> Result<()> {
    if seq > (1 << 53) {
        return Err(refused(format!("seq {seq} is not a safe integer")));
    }
    Ok(())
}

fn bound(field: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(refused(format!("{field} is longer than {max} bytes")));
    }
    Ok(())
}

fn refused(why: String) -> Error {
    Error::BadTabMessage(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::client::SyncStatus;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn status() -> ClientStatus {
        ClientStatus {
            sync: SyncStatus::Offline,
            unsaved: false,
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

    #[wasm_bindgen_test]
    fn messages_round_trip_through_javascript_values() {
        let ser = serde_wasm_bindgen::Serializer::json_compatible();
        for m in [
            TabMessage::Hello { from: "a".into() },
            call(Call::Apply {
                url: "automerge:x".into(),
                edit: "{}".into(),
            }),
            TabMessage::Reply {
                from: "b".into(),
                to: "a".into(),
                seq: 7,
                outcome: Outcome::Page {
                    url: "automerge:x".into(),
                    json: "{}".into(),
                    status: status(),
                },
            },
        ] {
            let js = m.serialize(&ser).unwrap();
            let back: TabMessage = serde_wasm_bindgen::from_value(js).unwrap();
            assert_eq!(back, m);
            back.check().unwrap();
        }
    }

    #[wasm_bindgen_test]
    fn bounds_refuse_oversized_fields_with_a_typed_error() {
        let big = "x".repeat(MAX_TITLE + 1);
        let err = call(Call::Create { title: big }).check().unwrap_err();
        assert_eq!(err.code(), "bad_tab_message");
        let err = TabMessage::Hello {
            from: "x".repeat(MAX_ID + 1),
        }
        .check()
        .unwrap_err();
        assert_eq!(err.code(), "bad_tab_message");
        let rows = vec![
            Row {
                url: String::new(),
                title: String::new()
            };
            MAX_ROWS + 1
        ];
        assert!(Outcome::Rows { rows }.check().is_err());
        let huge_seq = TabMessage::Call {
            from: "a".into(),
            to: "b".into(),
            seq: u64::MAX,
            call: Call::List,
        };
        assert!(huge_seq.check().is_err());
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
    fn unknown_types_and_ops_do_not_read() {
        let js = js_sys::JSON::parse(
            r#"{"type":"call","from":"a","to":"b","seq":1,"call":{"op":"dropTables"}}"#,
        )
        .unwrap();
        assert!(serde_wasm_bindgen::from_value::<TabMessage>(js.clone()).is_err());
        let header: CallHeader = serde_wasm_bindgen::from_value(js).unwrap();
        assert!(header.answerable_by("b"));
        assert!(!header.answerable_by("c"));
        let js = js_sys::JSON::parse(r#"{"type":"shutdown","from":"a"}"#).unwrap();
        assert!(serde_wasm_bindgen::from_value::<TabMessage>(js).is_err());
    }
}
