//! Entry points for the fuzz targets in `fuzz/`: thin wrappers that expose the server's private
//! decoding and judging to `cargo fuzz` without making them part of the crate's API.
//!
//! Nothing here does I/O: [`decode_frame`] is the connection's decoding of one binary frame,
//! [`Room::judge`] is the room's judgement of one update, and [`Room::admit`] is
//! `Room::admit` (room.rs) without the connection around it: the same checks, the same
//! integration and revert, the same settle, in the same order.

use plenary_auth::{Principal, Role};
use plenary_doc::{Integration, Resolution, ValuesBefore};
use yrs::updates::decoder::Decode;
use yrs::{ClientID, ReadTxn, StateVector, Transact, Update};

use crate::document::LiveDoc;
use crate::enforcement::{self, Followup, Verdict};
use crate::protocol::{self, Incoming};
use crate::room::{clock_gap, is_known};
use crate::session::Session;

/// The server's default cap on the structs of one update (`ServerConfig::max_update_structs`).
pub const MAX_UPDATE_STRUCTS: usize = 20_000;

/// Decodes one binary frame as a connection does (budget walk, then yrs's reader), and decodes
/// each update it carries as the room does first. `Ok(messages)` or the refusal's text.
pub fn decode_frame(frame: &[u8]) -> Result<usize, String> {
    let messages = protocol::decode_frame(frame, MAX_UPDATE_STRUCTS).map_err(|e| e.to_string())?;
    for m in &messages {
        if let Incoming::Update { bytes, .. } = m {
            // The room's first step; an error here closes the connection (1007).
            let _ = Update::decode_v1(bytes);
        }
    }
    Ok(messages.len())
}

/// Whether the server would pass `update` on to a room: a frame carrying it passes the
/// connection's decoding (the budget walk of every count and length prefix, the struct cap).
/// The room never sees bytes that fail this.
pub fn admissible_update(update: &[u8]) -> bool {
    let frame = protocol::update(update.to_vec());
    matches!(
        protocol::decode_frame(&frame, MAX_UPDATE_STRUCTS).as_deref(),
        Ok([Incoming::Update { .. }])
    )
}

/// The delegations a fuzzed delegate may speak for: `DELEGATIONS[0]` owns the seed document's
/// proposal and sponsor entry, `DELEGATIONS[1]` owns nothing.
pub const DELEGATIONS: [&str; 2] = ["Japan", "Brazil"];

/// A principal of the role picked by `role % 4` (chair, secretariat, delegate, observer); a
/// delegate speaks for `DELEGATIONS[(role / 4) % 2]`.
pub fn principal(role: u8) -> Principal {
    let r = Role::ALL[usize::from(role % 4)];
    let delegation = match r {
        Role::Delegate => Some(DELEGATIONS[usize::from((role / 4) % 2)].to_owned()),
        _ => None,
    };
    Principal {
        sub: format!("{}-1", r.as_str()),
        name: format!("Fuzzed {}", r.as_str()),
        role: r,
        delegation,
        groups: vec!["G77".to_owned()],
        docs: vec!["*".to_owned()],
        expires_at: u64::MAX,
    }
}

/// What the room would do with an update, short of integrating it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Not a Yjs update (close 1007).
    Malformed,
    /// Nothing the document lacks: nothing to do.
    Known,
    /// A clock gap, ids the document lacks, or a write under the server's client id: refused
    /// whole, never integrated.
    Unintegrable,
    /// Judged target by target.
    Judged {
        /// Targets of the update (each judged once).
        targets: usize,
        /// Refused targets.
        refused: usize,
        /// Paragraphs the allowed part touches.
        touched: usize,
        /// The permission-denied messages (at most 8, as sent).
        reasons: Vec<String>,
        /// The targets allowed (`Debug` of each).
        allowed: Vec<String>,
    },
}

/// What [`Room::admit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// Refused before integration, or nothing to do (see [`Judged`]).
    NotIntegrated(Judged),
    /// Integrated; nothing changed.
    Unchanged,
    /// yrs refused to integrate or revert it (close 1007).
    Failed(String),
    /// Integrated: the net change (with the server's follow-up merged in) and how many targets
    /// were refused.
    Integrated { net: Vec<u8>, refused: usize },
}

/// A room's document, without the room.
pub struct Room {
    doc: LiveDoc,
    doc_name: String,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("doc", &self.doc_name)
            .finish_non_exhaustive()
    }
}

impl Room {
    /// The room of document `name` (`<doc>/comments/<scope>` for a comment scope), loaded from
    /// an encoded state as the room loads its snapshot.
    pub fn load(name: &str, state: &[u8]) -> Result<Self, String> {
        let mut doc = LiveDoc::new(name);
        doc.apply(state).map_err(|e| e.to_string())?;
        Ok(Room {
            doc,
            doc_name: name.to_owned(),
        })
    }

    /// The resolution as it stands (`None` for a comment scope).
    pub fn resolution(&self) -> Option<Resolution> {
        match &self.doc {
            LiveDoc::Resolution(d) => Some(d.resolution()),
            LiveDoc::Comments { .. } => None,
        }
    }

    /// The comments as they stand, as JSON (`None` for a resolution).
    pub fn comments_json(&self) -> Option<String> {
        match &self.doc {
            LiveDoc::Comments { doc, .. } => serde_json::to_string(&doc.comments()).ok(),
            LiveDoc::Resolution(_) => None,
        }
    }

    /// The whole state, v1.
    pub fn encode_state(&self) -> Vec<u8> {
        self.doc.encode_state()
    }

    fn session(&self, role: u8) -> Session {
        Session {
            principal: principal(role),
            doc: self.doc_name.clone(),
        }
    }

    /// The room's checks before integration (room.rs `admit`): decode, already known, clock
    /// gap, the server's own client id.
    fn precheck(&self, update: &[u8]) -> Result<(Update, StateVector), Judged> {
        let u = Update::decode_v1(update).map_err(|_| Judged::Malformed)?;
        let sv = self.doc.doc().transact().state_vector();
        if is_known(&sv, &u) {
            return Err(Judged::Known);
        }
        if clock_gap(&sv, &u).is_some() || writes_as(&sv, &u, self.doc.doc().client_id()) {
            return Err(Judged::Unintegrable);
        }
        Ok((u, sv))
    }

    /// The room's checks and `enforcement::judge`, for a principal of `role` (see
    /// [`principal`]). Never mutates the document.
    pub fn judge(&self, role: u8, update: &[u8]) -> Judged {
        if let Err(j) = self.precheck(update) {
            return j;
        }
        match enforcement::judge(&self.doc, &self.session(role), update) {
            Verdict::Malformed(_) => Judged::Malformed,
            Verdict::Unintegrable(_) => Judged::Unintegrable,
            Verdict::Judged(j) => Judged::Judged {
                targets: match &j.followup {
                    Followup::Resolution(e, _) => e.footprints.len(),
                    Followup::Comments(e, _) => e.footprints.len(),
                    Followup::Nothing => 0,
                },
                refused: j.refused.len(),
                touched: j.touched.len(),
                reasons: j
                    .refused
                    .iter()
                    .filter(|(r, _)| !r.is_empty())
                    .map(|(r, _)| r.clone())
                    .collect(),
                allowed: match &j.followup {
                    Followup::Resolution(e, refused) => e
                        .footprints
                        .keys()
                        .filter(|t| !refused.contains(*t))
                        .map(|t| format!("{t:?}"))
                        .collect(),
                    Followup::Comments(e, refused) => e
                        .footprints
                        .keys()
                        .filter(|t| !refused.contains(*t))
                        .map(|t| format!("{t:?}"))
                        .collect(),
                    Followup::Nothing => Vec::new(),
                },
            },
        }
    }

    /// `Room::admit` without the connection: check, judge, integrate whole, revert the refused
    /// targets, settle. Panics are not caught (the room catches them and closes the one
    /// connection; a fuzzer wants to see them).
    pub fn admit(&mut self, role: u8, update: &[u8]) -> Admitted {
        let parsed = match self.precheck(update) {
            Ok((u, _)) => u,
            Err(j) => return Admitted::NotIntegrated(j),
        };
        let judgement = match enforcement::judge(&self.doc, &self.session(role), update) {
            Verdict::Judged(j) => j,
            Verdict::Malformed(_) => return Admitted::NotIntegrated(Judged::Malformed),
            Verdict::Unintegrable(_) => return Admitted::NotIntegrated(Judged::Unintegrable),
        };
        let refused = judgement.refused.len();
        let before = if refused > 0 {
            self.doc.values_before(&judgement.followup)
        } else {
            ValuesBefore::default()
        };
        let integrated = (|| {
            let refused_ids = judgement.refused_ids();
            let doc = self.doc.doc();
            let it = if refused > 0 {
                Integration::begin_refusing(doc, update, &refused_ids)?
            } else {
                Integration::begin(doc, parsed)?
            };
            if !it.changed() {
                return Ok(None);
            }
            if refused > 0 {
                self.doc.revert(it, refused_ids).map(Some)
            } else {
                Ok(Some(it.accept()))
            }
        })();
        match integrated {
            Ok(Some(net)) => {
                let net = match self.doc.settle(&judgement.followup, &before) {
                    Some(extra) => {
                        yrs::merge_updates_v1([net.as_slice(), extra.as_slice()]).unwrap_or(net)
                    }
                    None => net,
                };
                Admitted::Integrated { net, refused }
            }
            Ok(None) => Admitted::Unchanged,
            Err(e) => Admitted::Failed(e.to_string()),
        }
    }
}

/// Whether `update` holds structs of `client` that the document lacks (room.rs `writes_as`).
fn writes_as(doc_sv: &StateVector, update: &Update, client: ClientID) -> bool {
    let have = doc_sv.get(&client);
    update
        .insertions(true)
        .iter()
        .any(|(c, ranges)| *c == client && ranges.iter().any(|r| r.end > have))
}
