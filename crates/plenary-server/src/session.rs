//! Who is on the other end of a connection, established once at the handshake.

use plenary_auth::Principal;

/// One authenticated connection to one document.
#[derive(Debug)]
pub(crate) struct Session {
    pub principal: Principal,
    /// The document (or comment scope) this connection opened.
    pub doc: String,
}
