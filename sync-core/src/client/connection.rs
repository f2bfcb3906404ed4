//! The connection's life cycle: going online and offline, the handshake deadline, refusals,
//! back-off, the stall watchdog and the token.

use super::config::MIN_KEEPALIVE_MS;
use super::doc_sync::{Conn, DocSync, Load, Problem, Stopped};
use super::io::{ClientEvent, ClientOutput};
use crate::io::Millis;
use crate::protocol::{ErrorCode, HttpRefusal, Message, PeerMetadata};

impl DocSync {
    pub(super) fn go_online(&mut self, now: Millis) {
        match &mut self.load {
            Load::Loading { then_online, .. } | Load::Failed { then_online, .. } => {
                *then_online = true;
            }
            Load::Ready => {
                if matches!(self.conn, Conn::Stopped(Stopped::Offline)) {
                    self.connect(now);
                }
            }
        }
    }

    pub(super) fn go_offline(&mut self) {
        if let Load::Loading { then_online, .. } | Load::Failed { then_online, .. } = &mut self.load
        {
            *then_online = false;
        }
        if !matches!(self.conn, Conn::Stopped(_)) {
            self.persist_sync_state();
            self.out.push(ClientOutput::Disconnect);
        }
        self.conn = Conn::Stopped(Stopped::Offline);
        self.problem = None;
    }

    /// A token from the application or its provider. A session that stopped for want of one
    /// reconnects at once; otherwise the next connection uses it.
    pub(super) fn on_token(&mut self, now: Millis, token: String) {
        self.token = Some(token);
        self.awaiting_token = false;
        if matches!(self.conn, Conn::Stopped(Stopped::NeedsToken(_))) {
            self.backoff.reset();
            self.problem = None;
            self.connect(now);
        }
    }

    /// Asks the shell for a transport, with a deadline for the whole handshake's first step.
    pub(super) fn connect(&mut self, now: Millis) {
        self.conn = Conn::Opening {
            deadline: now + self.config.connect_timeout_ms,
        };
        self.unavailable = false;
        self.out.push(ClientOutput::Connect {
            token: self.token.clone(),
        });
    }

    pub(super) fn on_opened(&mut self, now: Millis) {
        if !matches!(self.conn, Conn::Opening { .. }) {
            return;
        }
        self.progress_at = now;
        self.conn = Conn::Joining {
            deadline: now + self.config.connect_timeout_ms,
        };
        self.reassembler.clear();
        let join = Message::Join {
            sender_id: self.config.peer_id.clone(),
            supported_protocol_versions: vec!["1".into()],
            metadata: Some(PeerMetadata {
                storage_id: Some(self.config.storage_id.clone()),
                is_ephemeral: false,
                // This session reads acks: they are how it knows it is in sync.
                reads_acks: true,
            }),
        };
        self.send(now, join);
    }

    /// The handshake completed: the token is good.
    pub(super) fn on_handshake_done(&mut self) {
        self.token_asked = false;
        self.problem = None;
    }

    pub(super) fn on_closed(&mut self, now: Millis, code: Option<u16>, reason: String) {
        if matches!(self.conn, Conn::Stopped(_) | Conn::Waiting { .. }) {
            return; // already handled (an error frame before the close, or went offline)
        }
        self.persist_sync_state();
        match code.and_then(ErrorCode::from_close_code) {
            Some(code) => self.on_refused(now, code, reason, None),
            None => {
                let message = if reason.is_empty() {
                    "the connection closed".to_owned()
                } else {
                    reason
                };
                self.wait_and_retry(
                    now,
                    None,
                    Problem {
                        code: None,
                        message,
                    },
                );
            }
        }
    }

    pub(super) fn on_connect_refused(&mut self, now: Millis, refusal: HttpRefusal) {
        // A refusal of an attempt we are no longer making (went offline meanwhile) is stale.
        if matches!(self.conn, Conn::Opening { .. }) {
            self.on_refused(now, refusal.code, refusal.message, refusal.retry_after_ms);
        }
    }

    pub(super) fn wait_and_retry(&mut self, now: Millis, at_least_ms: Option<u64>, why: Problem) {
        let delay = self.backoff.next_delay().max(at_least_ms.unwrap_or(0));
        let retry_at = now + delay;
        self.conn = Conn::Waiting {
            retry_at: Some(retry_at),
        };
        self.problem = Some(why);
        self.out
            .push(ClientOutput::Event(ClientEvent::Disconnected {
                retry_at_ms: Some(retry_at),
            }));
    }

    /// What each refusal means for the session; see [`ErrorCode`] for the contract.
    pub(super) fn on_refused(
        &mut self,
        now: Millis,
        code: ErrorCode,
        message: String,
        retry_after: Option<u64>,
    ) {
        if matches!(self.conn, Conn::Stopped(_) | Conn::Waiting { .. }) {
            return; // the error frame already handled it; this is its close
        }
        let problem = Problem {
            code: Some(code),
            message: message.clone(),
        };
        let retry_at_ms = match code {
            ErrorCode::AuthFailed | ErrorCode::TokenExpired => {
                self.conn = Conn::Stopped(Stopped::NeedsToken(code));
                self.problem = Some(problem);
                // Ask the provider once per streak: a provider that hands back a token the
                // relay refuses again must not turn into a reconnect loop.
                if !self.token_asked {
                    self.token_asked = true;
                    self.awaiting_token = true;
                    self.out.push(ClientOutput::TokenNeeded { code });
                }
                None
            }
            ErrorCode::RateLimited | ErrorCode::QuotaExceeded => {
                let floor = retry_after.unwrap_or(if code == ErrorCode::QuotaExceeded {
                    60_000
                } else {
                    1_000
                });
                self.wait_and_retry(now, Some(floor), problem);
                match self.conn {
                    Conn::Waiting { retry_at } => retry_at,
                    _ => None,
                }
            }
            ErrorCode::DocDeleted
            | ErrorCode::PermissionDenied
            | ErrorCode::PayloadTooLarge
            | ErrorCode::BadMessage => {
                self.conn = Conn::Stopped(Stopped::Refused(code));
                self.problem = Some(problem);
                None
            }
        };
        self.out.push(ClientOutput::Event(ClientEvent::Refused {
            code,
            message,
            retry_at_ms,
        }));
        self.out.push(ClientOutput::Disconnect);
    }

    /// A connection that misbehaved (garbage, a protocol break): drop it and retry.
    pub(super) fn drop_connection(&mut self, now: Millis, why: &str) {
        self.out.push(ClientOutput::Disconnect);
        self.persist_sync_state();
        self.wait_and_retry(
            now,
            None,
            Problem {
                code: None,
                message: why.to_owned(),
            },
        );
    }

    pub(super) fn on_connection_timer(&mut self, now: Millis) {
        match self.conn {
            Conn::Waiting { retry_at: Some(at) } if at <= now => self.connect(now),
            Conn::Opening { deadline } | Conn::Joining { deadline } if deadline <= now => {
                let what = if matches!(self.conn, Conn::Opening { .. }) {
                    "the relay did not answer within"
                } else {
                    "the relay did not complete the handshake within"
                };
                let why = format!("{what} {} ms", self.config.connect_timeout_ms);
                self.drop_connection(now, &why);
            }
            _ => {}
        }
        if self.stall_deadline().is_some_and(|t| t <= now) && !self.is_in_sync() {
            // Start the next session from scratch rather than from the state that stalled.
            if let Some(relay) = &self.relay_storage {
                self.saved_sync.remove(relay);
            }
            self.drop_connection(now, "the sync stalled; reconnecting");
        }
        if self.keepalive_deadline().is_some_and(|t| t <= now) {
            self.send(now, Message::Keepalive);
        }
    }

    /// The next connection deadline: a reconnect, or the end of the connect attempt.
    pub(super) fn connection_deadline(&self) -> Option<Millis> {
        match self.conn {
            Conn::Waiting { retry_at } => retry_at,
            Conn::Opening { deadline } | Conn::Joining { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// When a connected session sends a keepalive: once the connection was quiet (no frame
    /// either way) for the configured interval. Only after the handshake: before it, the
    /// connect deadline is shorter than any useful interval.
    pub(super) fn keepalive_deadline(&self) -> Option<Millis> {
        let every = self.config.keepalive_ms?.max(MIN_KEEPALIVE_MS);
        match self.conn {
            Conn::Ready { .. } => Some(self.traffic_at + every),
            _ => None,
        }
    }

    /// When a connected, out-of-sync session counts as stalled.
    pub(super) fn stall_deadline(&self) -> Option<Millis> {
        match self.conn {
            Conn::Ready { .. } if !self.in_sync_reported => {
                Some(self.progress_at + self.config.stall_timeout_ms)
            }
            _ => None,
        }
    }
}
