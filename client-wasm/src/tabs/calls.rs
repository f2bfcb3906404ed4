//! The calls of `Tessera` routed by role: carried out on this context's own client, or sent
//! to the leader (and, when this context took over meanwhile, carried out here after all).

use std::rc::Rc;

use sync_core::client::DocSummary;
use sync_core::protocol::DocumentId;
use wasm_bindgen_futures::spawn_local;

use super::follower::{Follower, Settled};
use super::wire::{Call, Outcome};
use super::{Current, Hub, Role, adopt};
use crate::error::{Error, Result};
use crate::handle::{Backend, PageHandle};

impl Hub {
    /// A follower's call: `Ok(None)` means "look at the role again" (this context took over
    /// before the call was carried out, or it is harmless to repeat).
    pub(crate) async fn call(&self, follower: &Follower, call: Call) -> Result<Option<Outcome>> {
        match follower.call(call).await {
            Settled::Answered(Outcome::Failed { code, message }) => {
                Err(Error::from_code(&code, message))
            }
            Settled::Answered(outcome) => Ok(Some(outcome)),
            Settled::Lost => Err(Error::LeaderLost(
                "re-read the page before repeating the call".into(),
            )),
            Settled::Again => Ok(None),
            Settled::Refused(e) => Err(e),
        }
    }

    /// The backend of a page once no take-over is running; a page still served remotely in a
    /// context that now owns the store moves to its own session first.
    pub(crate) async fn backend(
        &self,
        handle: &PageHandle,
    ) -> Result<(Backend, Option<Rc<Follower>>)> {
        let current = self.current().await;
        let backend = handle.backend();
        match (backend, current) {
            (Backend::Remote(_), Ok(Current::Local(client))) => {
                adopt(&client, handle).await;
                Ok((handle.backend(), None))
            }
            (Backend::Remote(r), Ok(Current::Follower(f))) => Ok((Backend::Remote(r), Some(f))),
            (Backend::Remote(_), Err(e)) => Err(e),
            (other, _) => Ok((other, None)),
        }
    }

    pub(crate) async fn create(&self, title: String) -> Result<Rc<PageHandle>> {
        loop {
            match self.current().await? {
                Current::Local(client) => {
                    let session = client.create(&title).await?;
                    return Ok(self.handle(session.doc_id(), Backend::Local(session)));
                }
                Current::Follower(f) => {
                    let call = Call::Create {
                        title: title.clone(),
                    };
                    if let Some(outcome) = self.call(&f, call).await? {
                        return self.remote_handle(&f, outcome);
                    }
                }
            }
        }
    }

    pub(crate) async fn find(&self, id: DocumentId) -> Result<Rc<PageHandle>> {
        loop {
            match self.current().await? {
                Current::Local(client) => {
                    let session = client.find(id).await?;
                    return Ok(self.handle(id, Backend::Local(session)));
                }
                Current::Follower(f) => {
                    let call = Call::Find { url: id.to_url() };
                    if let Some(outcome) = self.call(&f, call).await? {
                        return self.remote_handle(&f, outcome);
                    }
                }
            }
        }
    }

    pub(crate) async fn list(&self) -> Result<Vec<DocSummary>> {
        loop {
            match self.current().await? {
                Current::Local(client) => return client.list().await,
                Current::Follower(f) => match self.call(&f, Call::List).await? {
                    Some(Outcome::Rows { rows }) => {
                        return Ok(rows
                            .into_iter()
                            .map(|r| DocSummary {
                                url: r.url,
                                title: r.title,
                            })
                            .collect());
                    }
                    Some(other) => return Err(unexpected(&other)),
                    None => {}
                },
            }
        }
    }

    /// A new token here, and for the leader's pages when following (kept for a take-over).
    pub(crate) fn set_token(&self, token: String) {
        self.options.borrow_mut().token = Some(token.clone());
        let role = match &*self.role.borrow() {
            Role::Local { client, .. } => Some(Current::Local(client.clone())),
            Role::Follower(f) => Some(Current::Follower(f.clone())),
            _ => None,
        };
        match role {
            Some(Current::Local(client)) => client.set_token(token),
            Some(Current::Follower(_)) => {
                let me = self.me.upgrade().expect("a hub in use is alive");
                spawn_local(async move {
                    loop {
                        let Ok(Current::Follower(f)) = me.current().await else {
                            // Took over meanwhile: the token is in the options it opened with.
                            return;
                        };
                        match me
                            .call(
                                &f,
                                Call::SetToken {
                                    token: token.clone(),
                                },
                            )
                            .await
                        {
                            Ok(Some(_)) => return,
                            Ok(None) => {}
                            Err(e) => {
                                web_sys::console::warn_1(
                                    &format!("tessera: the leader tab refused the token: {e}")
                                        .into(),
                                );
                                return;
                            }
                        }
                    }
                });
            }
            // Opening: the options have it.
            None => {}
        }
    }

    pub(crate) fn storage_id(&self) -> String {
        self.storage_id.borrow().clone()
    }

    fn remote_handle(&self, f: &Follower, outcome: Outcome) -> Result<Rc<PageHandle>> {
        let Outcome::Page { url, json, status } = outcome else {
            return Err(unexpected(&outcome));
        };
        let doc = DocumentId::parse_url_or_id(&url)
            .map_err(|e| Error::BadTabMessage(format!("the leader answered a bad URL: {e}")))?;
        let page = f.page(doc, json, status);
        Ok(self.handle(doc, Backend::Remote(page)))
    }
}

fn unexpected(outcome: &Outcome) -> Error {
    Error::BadTabMessage(format!("the leader answered {outcome:?}"))
}
