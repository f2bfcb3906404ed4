//! `Device`: one document session with a synchronous store, and the one generic loop that
//! carries out its outputs. Tests, benches and examples drive sessions through it instead of
//! each writing its own loop; only the transport differs, behind [`Link`].

use std::collections::VecDeque;

use super::ClientStore;
use super::memory_store::MemoryStore;
use crate::client::{
    ApplyError, ClientEvent, ClientInput, ClientOutput, ClientStatus, DocSync, StorageReply,
};
use crate::io::Millis;
use crate::model::{Applied, PageEdit};
use crate::protocol::ErrorCode;

/// Where a device's connection outputs go: a socket, an in-memory relay, a simulated network.
pub trait Link {
    /// `Connect`: start opening a transport. Return the answer when it is known at once (an
    /// in-memory relay: `TransportOpened`), or None when it comes later through
    /// [`Device::handle`].
    fn connect(&mut self, now: Millis, token: Option<&str>) -> Option<ClientInput>;
    /// `Send`: a frame for the relay.
    fn send(&mut self, now: Millis, frame: Vec<u8>);
    /// `Disconnect`: close the transport (the session already knows).
    fn disconnect(&mut self, now: Millis);
}

/// A connection output a [`Device`] asked for, recorded by `Vec<LinkAction>` (itself a
/// [`Link`]) for a shell that carries it out afterwards: an async socket, a simulated network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAction {
    /// Open a transport with this token; answer with `TransportOpened` or a close.
    Connect {
        /// The token.
        token: Option<String>,
    },
    /// Send this frame.
    Send(Vec<u8>),
    /// Close the transport.
    Disconnect,
}

impl Link for Vec<LinkAction> {
    fn connect(&mut self, _now: Millis, token: Option<&str>) -> Option<ClientInput> {
        self.push(LinkAction::Connect {
            token: token.map(str::to_owned),
        });
        None
    }

    fn send(&mut self, _now: Millis, frame: Vec<u8>) {
        self.push(LinkAction::Send(frame));
    }

    fn disconnect(&mut self, _now: Millis) {
        self.push(LinkAction::Disconnect);
    }
}

/// Why [`Device::apply`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The session refused the edit; nothing was written.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The edit is in memory but its save failed (the session retries it).
    #[error("the save failed: {0}")]
    SaveFailed(String),
}

/// A session plus its store, timer, status and what it reported.
#[derive(Debug)]
pub struct Device<S = MemoryStore> {
    /// The session.
    pub sync: DocSync,
    /// Its store.
    pub store: S,
    /// The pending timer.
    pub timer: Option<Millis>,
    /// The last status the session reported.
    pub status: Option<ClientStatus>,
    /// Every event, in order.
    pub events: Vec<ClientEvent>,
    /// Every `TokenNeeded` the session asked.
    pub tokens_asked: Vec<ErrorCode>,
    /// What the device's token provider answers when asked (None: it does not answer).
    pub token_provider: Option<String>,
}

impl<S: ClientStore> Device<S> {
    /// A device over a session just built (its first outputs: `Load`, or a new page's save),
    /// carried out at once.
    pub fn new(
        now: Millis,
        (sync, outputs): (DocSync, Vec<ClientOutput>),
        store: S,
        link: &mut impl Link,
    ) -> Self {
        let mut device = Self {
            sync,
            store,
            timer: None,
            status: None,
            events: Vec::new(),
            tokens_asked: Vec::new(),
            token_provider: None,
        };
        device.carry_out(now, outputs, link);
        device
    }

    /// Feeds one input and carries out what follows.
    pub fn handle(&mut self, now: Millis, input: ClientInput, link: &mut impl Link) {
        let outputs = self.sync.handle(now, input);
        self.carry_out(now, outputs, link);
    }

    /// Applies an edit; returns once its save ran, as every shell does.
    pub fn apply(
        &mut self,
        now: Millis,
        edit: &PageEdit,
        link: &mut impl Link,
    ) -> Result<Applied, DeviceError> {
        let (applied, outputs) = self.sync.apply(now, edit)?;
        match self.carry_out(now, outputs, link) {
            Some(error) => Err(DeviceError::SaveFailed(error)),
            None => Ok(applied),
        }
    }

    /// Fires the timer if it is due at `now`; returns whether it fired.
    pub fn tick(&mut self, now: Millis, link: &mut impl Link) -> bool {
        if self.timer.is_some_and(|at| at <= now) {
            self.timer = None;
            self.handle(now, ClientInput::Timer, link);
            true
        } else {
            false
        }
    }

    /// Whether the session reported being in sync and nothing is unsaved.
    pub fn in_sync(&self) -> bool {
        self.status.as_ref().is_some_and(ClientStatus::is_in_sync)
    }

    /// The loop: carries out outputs in order. Storage runs now and its answer goes straight
    /// back in, its reaction queued after what the session emitted before it. Returns the
    /// first storage error, if any.
    pub fn carry_out(
        &mut self,
        now: Millis,
        outputs: Vec<ClientOutput>,
        link: &mut impl Link,
    ) -> Option<String> {
        let mut queue: VecDeque<ClientOutput> = outputs.into();
        let mut first_error = None;
        let feed = |device: &mut Self, queue: &mut VecDeque<ClientOutput>, input| {
            queue.extend(device.sync.handle(now, input));
        };
        while let Some(output) = queue.pop_front() {
            match output {
                ClientOutput::Connect { token } => {
                    if let Some(answer) = link.connect(now, token.as_deref()) {
                        feed(self, &mut queue, answer);
                    }
                }
                ClientOutput::Disconnect => link.disconnect(now),
                ClientOutput::Send(frame) => link.send(now, frame),
                ClientOutput::Storage { task, op } => {
                    let outcome: Result<StorageReply, String> = self.store.run(&op);
                    if let Err(e) = &outcome {
                        first_error.get_or_insert_with(|| e.clone());
                    }
                    feed(self, &mut queue, ClientInput::StorageDone { task, outcome });
                }
                ClientOutput::SetTimer { at_ms } => self.timer = Some(at_ms),
                ClientOutput::TokenNeeded { code } => {
                    self.tokens_asked.push(code);
                    let answer = match self.token_provider.clone() {
                        Some(token) => ClientInput::Token(token),
                        None => ClientInput::TokenUnavailable,
                    };
                    feed(self, &mut queue, answer);
                }
                ClientOutput::Status(status) => self.status = Some(status),
                ClientOutput::Event(event) => self.events.push(event),
            }
        }
        first_error
    }
}
