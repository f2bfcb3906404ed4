//! Which document of which tenant a `DocRoom` serves, and the tenant's plan. It comes with
//! every request (headers the Worker sets after verifying the token) and every socket (its
//! attachment); it is stored only with the room's first counted write, so that an alarm can
//! wake a room nobody is connected to. Nothing is written for a room that stored nothing.

use serde::{Deserialize, Serialize};
use sync_core::protocol::DocumentId;
use sync_core::relay::PeerAccess;
use worker::Request;

use super::DocRoom;
use crate::access::{ACCESS_HEADER, DOC_HEADER, PLAN_HEADER};
use crate::error::{Error, Result};

/// A room's document, tenant and plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Identity {
    pub(super) doc: String,
    pub(super) tenant: String,
    pub(super) plan: String,
}

impl Identity {
    /// From the headers of a request the Worker forwarded.
    pub(super) fn from_request(req: &Request) -> Result<Self> {
        let missing = |what: &str| Error::Runtime(format!("forwarded request without {what}"));
        let doc = req
            .headers()
            .get(DOC_HEADER)?
            .ok_or_else(|| missing("a document"))?;
        let access = Self::access(req)?;
        let plan = req
            .headers()
            .get(PLAN_HEADER)?
            .unwrap_or_else(|| "free".into());
        Ok(Self {
            doc,
            tenant: access.tenant,
            plan,
        })
    }

    /// The verified peer's access, from the headers of a forwarded request.
    pub(super) fn access(req: &Request) -> Result<PeerAccess> {
        req.headers()
            .get(ACCESS_HEADER)?
            .and_then(|a| serde_json::from_str(&a).ok())
            .ok_or_else(|| Error::Runtime("forwarded request without access".into()))
    }

    pub(super) fn doc_id(&self) -> Result<DocumentId> {
        self.doc
            .parse()
            .map_err(|e| Error::Runtime(format!("document id {}: {e}", self.doc)))
    }
}

impl DocRoom {
    /// Takes the identity a request or socket brought. The plan follows the newest token.
    ///
    /// Rooms are named by tenant and document (`sync_core::relay::room_name`), so a request
    /// for another tenant or document cannot reach this object; if one does, routing is broken,
    /// and the room answers with an internal error rather than serve the wrong document.
    pub(super) fn adopt_identity(&self, identity: Identity) -> Result<()> {
        let known = self.known_identity()?;
        if let Some(known) = known
            && (known.tenant != identity.tenant || known.doc != identity.doc)
        {
            return Err(Error::Runtime(format!(
                "room of {}/{} reached with a request for {}/{}",
                known.tenant, known.doc, identity.tenant, identity.doc
            )));
        }
        self.inner.borrow_mut().identity = Some(identity);
        Ok(())
    }

    /// The identity in memory, or else the one stored with the first write, or else one a
    /// hibernated socket carries.
    pub(super) fn known_identity(&self) -> Result<Option<Identity>> {
        if let Some(identity) = self.inner.borrow().identity.clone() {
            return Ok(Some(identity));
        }
        let found = match self.stored_identity()? {
            Some(identity) => Some(identity),
            None => self.socket_identity(),
        };
        if let Some(identity) = &found {
            self.inner.borrow_mut().identity = Some(identity.clone());
        }
        Ok(found)
    }

    fn stored_identity(&self) -> Result<Option<Identity>> {
        Ok(self
            .meta("identity")?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }
}
