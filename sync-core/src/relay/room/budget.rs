//! The room's side of the tenant's quota across incarnations: the ledger (unused budget, debt,
//! whether the document is counted) is stored with every log row, and unused budget goes back
//! to the tenant when the room goes idle or a new incarnation finds some left over. Budget is
//! released only after the ledger saying it is gone is durable, so a restart can never give the
//! same bytes back twice (the tenant may be over-counted after a failure, never under).

use super::*;

impl RelayRoom {
    /// Adopts the ledger a previous incarnation stored, and gives back what it left unused.
    pub(super) fn adopt_ledger(&mut self, stored: &StoredRoom, holds_data: bool) {
        self.counted = stored.ledger.counted || holds_data;
        self.budget = stored.ledger.budget;
        self.release_unused_budget();
    }

    /// Gives unused budget back if the room is idle: nothing queued, written or reserved.
    pub(super) fn release_if_idle(&mut self) {
        if self.pending.is_empty() && self.writing.is_none() && !self.reserving {
            self.release_unused_budget();
        }
    }

    fn release_unused_budget(&mut self) {
        if self.budget == 0 || self.releasing.is_some() || self.phase != Phase::Ready {
            return;
        }
        let bytes = std::mem::take(&mut self.budget);
        let task = self.storage(StorageOp::PutLedger(self.ledger()));
        self.releasing = Some((task, bytes));
    }

    /// The end of a `PutLedger`; `false` if `task` is not one.
    pub(super) fn on_ledger_stored(&mut self, now: Millis, task: TaskId, ok: bool) -> bool {
        let Some((releasing, bytes)) = self.releasing else {
            return false;
        };
        if releasing != task {
            return false;
        }
        self.releasing = None;
        if ok {
            self.out.push(RoomOutput::Event(RoomEvent::QuotaReleased {
                bytes,
                document: false,
            }));
        } else {
            // The stored ledger still holds the budget: keep using it, release it later.
            self.budget += bytes;
            self.retry_later(now);
        }
        true
    }
}
