//! Single-use tickets for the WebSocket URL (issue 12, sessions).
//!
//! A browser cannot set `Authorization` on a WebSocket, so a token would travel in the URL, where
//! proxies and browsers log and keep URLs. Instead the page asks `POST /api/tickets` (token as
//! Bearer) for a ticket and connects to `/sync/<doc>?ticket=<t>`. A ticket is 256 random bits
//! (base64url), lives [`TICKET_TTL`] (a client may ask for less), opens one connection, and is
//! then gone. It stands for the [`Principal`] of the token that asked for it, `exp` included, so
//! the connection still ends when that token expires.
//!
//! The store is local to the node that issued the ticket, so with several nodes behind one
//! address the load balancer must send a client's requests to one node (README, "Sessions and
//! tickets"). Its size is bounded: at most `max_outstanding` unredeemed tickets in all (over it,
//! 503) and [`MAX_PER_SUBJECT`] per user (over it, 429), so one token cannot starve everyone
//! else. Expired tickets are purged as new ones are issued (issue order is expiry order, so that
//! costs O(1) amortised).
//!
//! Tickets are secrets: nothing here logs one, and the error messages never quote one.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use plenary_auth::Principal;

/// How long a ticket is valid: long enough to open a WebSocket, short enough that a ticket
/// found in a log later is worthless.
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(30);

/// Unredeemed tickets one user (`sub`) may hold at once. The web editor needs one per document
/// and comment scope it opens, a handful.
pub(crate) const MAX_PER_SUBJECT: usize = 32;

/// Random bytes per ticket (256 bits).
const TICKET_BYTES: usize = 32;
/// Length of a ticket in base64url without padding.
const TICKET_LEN: usize = (TICKET_BYTES * 4).div_ceil(3);

/// A ticket just issued.
#[derive(Debug)]
pub(crate) struct Issued {
    pub ticket: String,
    pub expires_in: Duration,
}

/// Why no ticket was issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IssueError {
    #[error("too many connection tickets are outstanding on this server; try again shortly")]
    Full,
    #[error(
        "you already hold {MAX_PER_SUBJECT} unused connection tickets; use one or wait {}s",
        TICKET_TTL.as_secs()
    )]
    TooManyForSubject,
}

/// Why a ticket opened nothing. One message for every case: an unknown ticket, a used one and an
/// expired one look the same to the client (and a guess learns nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this connection ticket was already used or has expired; ask POST /api/tickets for a new one"
)]
pub(crate) struct Refused;

struct Pending {
    principal: Principal,
    expires: Instant,
}

#[derive(Default)]
struct Inner {
    pending: HashMap<String, Pending>,
    /// Unredeemed tickets per `sub`.
    per_subject: HashMap<String, usize>,
    /// Every ticket issued and not yet purged, oldest first, with its expiry (redeemed ones too:
    /// they are skipped when their turn comes).
    order: VecDeque<(Instant, String)>,
}

impl Inner {
    fn forget(&mut self, ticket: &str) -> Option<Pending> {
        let pending = self.pending.remove(ticket)?;
        if let Some(n) = self.per_subject.get_mut(&pending.principal.sub) {
            *n -= 1;
            if *n == 0 {
                self.per_subject.remove(&pending.principal.sub);
            }
        }
        Some(pending)
    }

    fn purge(&mut self, now: Instant) {
        while let Some((expires, _)) = self.order.front() {
            if *expires > now {
                break;
            }
            if let Some((_, ticket)) = self.order.pop_front() {
                self.forget(&ticket);
            }
        }
        // Redeemed tickets wait in `order` until their expiry; keep that list proportional to
        // what is outstanding.
        if self.order.len() > 2 * self.pending.len() + 64 {
            let pending = &self.pending;
            self.order.retain(|(_, t)| pending.contains_key(t));
        }
    }
}

/// The node-local ticket store.
pub(crate) struct Tickets {
    max_outstanding: usize,
    inner: Mutex<Inner>,
}

impl Tickets {
    /// A store holding at most `max_outstanding` unredeemed tickets.
    pub(crate) fn new(max_outstanding: usize) -> Tickets {
        Tickets {
            max_outstanding: max_outstanding.max(1),
            inner: Mutex::default(),
        }
    }

    /// Issues a ticket for `principal`, valid for `ttl` (at most [`TICKET_TTL`]).
    pub(crate) fn issue(
        &self,
        principal: Principal,
        ttl: Duration,
        now: Instant,
    ) -> Result<Issued, IssueError> {
        let ttl = ttl.clamp(Duration::from_secs(1), TICKET_TTL);
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.purge(now);
        if inner.pending.len() >= self.max_outstanding {
            return Err(IssueError::Full);
        }
        let held = inner.per_subject.get(&principal.sub).copied().unwrap_or(0);
        if held >= MAX_PER_SUBJECT {
            return Err(IssueError::TooManyForSubject);
        }
        let ticket = base64url(&rand::random::<[u8; TICKET_BYTES]>());
        let expires = now + ttl;
        *inner.per_subject.entry(principal.sub.clone()).or_default() += 1;
        inner.order.push_back((expires, ticket.clone()));
        inner
            .pending
            .insert(ticket.clone(), Pending { principal, expires });
        Ok(Issued {
            ticket,
            expires_in: ttl,
        })
    }

    /// Redeems `ticket` once: the principal it was issued to, and the ticket is gone.
    pub(crate) fn redeem(&self, ticket: &str, now: Instant) -> Result<Principal, Refused> {
        if ticket.len() != TICKET_LEN {
            return Err(Refused);
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let pending = inner.forget(ticket).ok_or(Refused)?;
        if pending.expires <= now {
            return Err(Refused);
        }
        Ok(pending.principal)
    }

    /// Unredeemed tickets (expired ones not yet purged included).
    #[cfg(test)]
    fn outstanding(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pending
            .len()
    }
}

/// RFC 4648 §5 base64url without padding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use plenary_auth::Role;

    fn who(sub: &str) -> Principal {
        Principal {
            sub: sub.into(),
            name: sub.into(),
            role: Role::Chair,
            delegation: None,
            groups: vec![],
            docs: vec!["*".into()],
            expires_at: 4_000_000_000,
        }
    }

    #[test]
    fn base64url_follows_rfc_4648() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(b"fooba"), "Zm9vYmE");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff, 0xfe]), "-__-");
        assert_eq!(base64url(&[0u8; TICKET_BYTES]).len(), TICKET_LEN);
    }

    #[test]
    fn a_ticket_opens_once_and_then_never_again() {
        let t = Tickets::new(10);
        let now = Instant::now();
        let issued = t.issue(who("a"), TICKET_TTL, now).unwrap();
        assert_eq!(issued.ticket.len(), TICKET_LEN);
        assert_eq!(issued.expires_in, TICKET_TTL);
        assert_eq!(t.redeem(&issued.ticket, now).unwrap().sub, "a");
        assert_eq!(t.redeem(&issued.ticket, now), Err(Refused));
        assert_eq!(t.redeem("nonsense", now), Err(Refused));
        assert_eq!(t.outstanding(), 0);
    }

    #[test]
    fn an_expired_ticket_opens_nothing_and_is_purged_by_later_issues() {
        let t = Tickets::new(10);
        let now = Instant::now();
        let old = t.issue(who("a"), Duration::from_secs(2), now).unwrap();
        assert_eq!(old.expires_in, Duration::from_secs(2));
        // A TTL longer than the maximum is cut to it.
        let long = t.issue(who("a"), Duration::from_secs(3600), now).unwrap();
        assert_eq!(long.expires_in, TICKET_TTL);
        let later = now + Duration::from_secs(2);
        assert_eq!(t.redeem(&old.ticket, later), Err(Refused));
        let other = t.issue(who("a"), TICKET_TTL, now).unwrap();
        assert_eq!(t.outstanding(), 2);
        t.issue(who("b"), TICKET_TTL, now + TICKET_TTL).unwrap();
        // `long` and `other` expired and were purged when this one was issued.
        assert_eq!(t.outstanding(), 1);
        assert_eq!(t.redeem(&other.ticket, now + TICKET_TTL), Err(Refused));
    }

    #[test]
    fn outstanding_tickets_are_bounded_in_all_and_per_user() {
        let t = Tickets::new(MAX_PER_SUBJECT + 3);
        let now = Instant::now();
        let mine: Vec<_> = (0..MAX_PER_SUBJECT)
            .map(|_| t.issue(who("a"), TICKET_TTL, now).unwrap())
            .collect();
        assert_eq!(
            t.issue(who("a"), TICKET_TTL, now).unwrap_err(),
            IssueError::TooManyForSubject
        );
        // Using one frees a place.
        t.redeem(&mine[0].ticket, now).unwrap();
        t.issue(who("a"), TICKET_TTL, now).unwrap();
        for _ in 0..3 {
            t.issue(who("b"), TICKET_TTL, now).unwrap();
        }
        assert_eq!(
            t.issue(who("c"), TICKET_TTL, now).unwrap_err(),
            IssueError::Full
        );
        // Once they expire, there is room again.
        assert!(t.issue(who("c"), TICKET_TTL, now + TICKET_TTL).is_ok());
        assert_eq!(t.outstanding(), 1);
    }

    #[test]
    fn redeemed_tickets_do_not_pile_up_in_the_expiry_queue() {
        let t = Tickets::new(10);
        let now = Instant::now();
        for _ in 0..10_000 {
            let i = t.issue(who("a"), TICKET_TTL, now).unwrap();
            t.redeem(&i.ticket, now).unwrap();
        }
        let inner = t.inner.lock().unwrap();
        assert!(inner.order.len() <= 64 + 1, "{}", inner.order.len());
        assert!(inner.per_subject.is_empty());
    }
}
