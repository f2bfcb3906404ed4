//! The room's WebSockets: accepting them (hibernatable), what each carries through
//! hibernation, sending to them, and giving them back to a rebuilt room.

use serde::{Deserialize, Serialize};
use sync_core::io::ConnId;
use sync_core::relay::{PeerAccess, RelayRoom, RoomInput, RoomOutput};
use worker::{Request, Response, WebSocket, WebSocketPair};

use super::identity::Identity;
use super::{DocRoom, now_ms};
use crate::dev_faults::Fault;
use crate::error::Result;

const CONN_TAG: &str = "conn:";

fn conn_tag(conn: u64) -> String {
    format!("{CONN_TAG}{conn}")
}

/// What a socket carries through hibernation.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Attachment {
    pub(super) conn: u64,
    access: PeerAccess,
    /// The room's own attachment, once it gave one (JSON text: a string is cloned far more
    /// cheaply than a byte array, which serde-wasm-bindgen makes an array of numbers).
    room: Option<String>,
    /// The room's identity, so a room woken by a message knows itself without storage.
    #[serde(default)]
    pub(super) identity: Option<Identity>,
    /// Filler from the dev-only oversized-attachment fault; never set otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pad: Option<String>,
}

impl DocRoom {
    /// Accepts the socket whatever the room will say: a refusal (deleted, damaged, expired)
    /// comes in-band, the only form a browser can read.
    pub(super) async fn open_socket(&self, req: &Request) -> Result<Response> {
        let access = Identity::access(req)?;
        self.ensure_room().await?;
        let pair = WebSocketPair::new()?;
        let conn = {
            let mut inner = self.inner.borrow_mut();
            let conn = inner.next_conn;
            inner.next_conn += 1;
            inner.sockets.insert(conn, pair.server.clone());
            conn
        };
        self.state
            .accept_websocket_with_tags(&pair.server, &[&conn_tag(conn)]);
        let identity = self.inner.borrow().identity.clone();
        pair.server.serialize_attachment(Attachment {
            conn,
            access: access.clone(),
            room: None,
            identity,
            pad: None,
        })?;
        self.input(RoomInput::Connected {
            conn: ConnId(conn),
            access,
        })
        .await?;
        Ok(Response::from_websocket(pair.client)?)
    }

    pub(super) async fn socket_gone(&self, ws: &WebSocket) -> worker::Result<()> {
        if let Some(att) = ws.deserialize_attachment::<Attachment>()? {
            self.inner.borrow_mut().sockets.remove(&att.conn);
            self.input(RoomInput::Disconnected {
                conn: ConnId(att.conn),
            })
            .await
            .map_err(super::worker_error)?;
        }
        Ok(())
    }

    /// Hands the sockets that survived hibernation to a new room.
    pub(super) fn reattach_sockets(&self, room: &mut RelayRoom) -> Vec<RoomOutput> {
        let now = now_ms();
        let mut outs = Vec::new();
        let mut inner = self.inner.borrow_mut();
        for ws in self.state.get_websockets() {
            let Ok(Some(att)) = ws.deserialize_attachment::<Attachment>() else {
                continue;
            };
            inner.next_conn = inner.next_conn.max(att.conn + 1);
            inner.sockets.insert(att.conn, ws);
            let conn = ConnId(att.conn);
            let input = match att.room {
                Some(attachment) => RoomInput::Reattached {
                    conn,
                    attachment: attachment.into_bytes(),
                },
                None => RoomInput::Connected {
                    conn,
                    access: att.access,
                },
            };
            outs.extend(room.handle(now, input));
        }
        outs
    }

    /// The identity any live socket carries.
    pub(super) fn socket_identity(&self) -> Option<Identity> {
        self.state.get_websockets().iter().find_map(|ws| {
            ws.deserialize_attachment::<Attachment>()
                .ok()
                .flatten()
                .and_then(|a| a.identity)
        })
    }

    /// The connection of a socket of the live room, from its tag; `None` when the room is
    /// not built (then the attachment says) or the socket has no tag.
    pub(super) fn live_conn(&self, ws: &WebSocket) -> Option<u64> {
        let inner = self.inner.borrow();
        inner.room.as_ref()?;
        let conn = self
            .state
            .get_tags(ws)
            .iter()
            .find_map(|t| t.strip_prefix(CONN_TAG)?.parse().ok())?;
        inner.sockets.contains_key(&conn).then_some(conn)
    }

    fn socket(&self, conn: ConnId) -> Option<WebSocket> {
        self.inner.borrow().sockets.get(&conn.0).cloned()
    }

    pub(super) fn send(&self, conn: ConnId, bytes: Vec<u8>) -> Option<RoomInput> {
        // A socket already gone reports its close separately.
        let ws = self.socket(conn)?;
        ws.send_with_bytes(bytes)
            .err()
            .map(|e| RoomInput::SendFailed {
                conn,
                error: e.to_string(),
            })
    }

    /// Saves the room's attachment with the socket; a failure (over the runtime's 16 KiB
    /// limit, say) goes back to the room, which closes that connection.
    pub(super) fn attach(&self, conn: ConnId, attachment: Vec<u8>) -> Option<RoomInput> {
        let ws = self.socket(conn)?;
        let saved = ws.deserialize_attachment::<Attachment>().and_then(|att| {
            let Some(mut att) = att else {
                return Err(worker::Error::RustError("socket without attachment".into()));
            };
            // The dev fault hits a connection's first attachment: later ones are written on
            // the room's own schedule, so "the next one" would be anyone's.
            let first = att.room.is_none();
            att.room = Some(String::from_utf8(attachment).map_err(|_| {
                worker::Error::RustError("the room's attachment is not UTF-8".into())
            })?);
            if first && self.fault(Fault::OversizedAttachment) {
                att.pad = Some("x".repeat(20 * 1024));
            }
            ws.serialize_attachment(att)
        });
        saved.err().map(|e| RoomInput::AttachFailed {
            conn,
            error: e.to_string(),
        })
    }
}
