//! Failed IO steps against workerd: each injected fault is reported to the room, which retries
//! or closes the one peer concerned, and the quota stays exact.
