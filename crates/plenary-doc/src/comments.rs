//! Comment-scope documents (SPEC §2 "Comments"): `<doc>/comments/public`,
//! `…/group/<GROUP>`, `…/delegation/<CODE>`. One root, `comments`: a Y.Map
//! comment id → Y.Map {id, paragraphId, anchor?, text, author, authorName,
//! delegation, createdAt, resolved, resolvedBy, replies: Y.Array of Y.Map
//! {id, text, author, authorName, delegation, createdAt}}.
//!
//! [`CommentsDoc::effect`] reuses the ancestry engine of the resolution
//! effect with this schema, so the server can enforce "a delegate edits only
//! its own comments; the chair or secretariat may resolve any" before
//! applying an update.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, Doc, Map, MapPrelim, MapRef, OffsetKind, Options, Out, ReadTxn,
    StateVector, Transact, TransactionMut, Update,
};

use crate::ancestry::{Content, IdIndex, TYPE_MAP, Touch, UpdateView, fmt_id};
use crate::document::EditError;
use crate::effect::{EffectError, FieldChange, Footprint};
use crate::schema::{num_of, str_of};

pub const COMMENTS: &str = "comments";
/// Root of a scope's policy: a Y.Map of settings (`observersMayComment`:
/// bool), which the chair or secretariat set.
pub const POLICY: &str = "policy";

/// A reply to a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    pub id: String,
    pub text: String,
    pub author: String,
    pub author_name: String,
    pub delegation: String,
    pub created_at: i64,
}

/// A comment, as read from a comment-scope document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: String,
    pub paragraph_id: String,
    /// Opaque anchor (encoded Yjs relative positions), when the client set one.
    pub anchor: Option<String>,
    pub text: String,
    /// The author's subject (token `sub`).
    pub author: String,
    pub author_name: String,
    pub delegation: String,
    pub created_at: i64,
    pub resolved: bool,
    pub resolved_by: Option<String>,
    pub replies: Vec<Reply>,
}

/// What a new comment says and who writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    pub paragraph_id: String,
    pub anchor: Option<String>,
    pub text: String,
    pub author: String,
    pub author_name: String,
    pub delegation: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReply {
    pub text: String,
    pub author: String,
    pub author_name: String,
    pub delegation: String,
    pub created_at: i64,
}

/// What an update does to one comment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentEffect {
    /// Initial fields of a new comment (`author`, `delegation` …).
    pub created: Option<serde_json::Map<String, Value>>,
    pub deleted: bool,
    /// Field writes on an existing comment (`text`, `resolved`, …).
    pub fields: BTreeMap<String, FieldChange>,
    /// Initial fields of each reply added.
    pub replies_added: Vec<serde_json::Map<String, Value>>,
    /// Replies (by id) whose fields were written, with the keys written.
    pub replies_edited: BTreeMap<String, Vec<String>>,
    /// Replies (by id, when known) deleted.
    pub replies_deleted: Vec<Option<String>>,
}

/// What an update would change in a comment-scope document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentsEffect {
    pub comments: BTreeMap<String, CommentEffect>,
    /// Policy keys written (the `policy` root).
    pub policy: BTreeMap<String, FieldChange>,
    /// Writes outside the schema: the server refuses them.
    pub unknown: Vec<String>,
    pub discarded: u32,
    /// Structs naming ids neither the document nor the update holds: the
    /// server refuses such an update whole (see [`crate::Effect::unplaceable`]).
    pub unplaceable: u32,
    /// The ids of each part, to revert the parts the server refuses.
    #[serde(skip)]
    pub footprints: BTreeMap<CommentTarget, Footprint>,
}

/// The unit of a judgement in a comment scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CommentTarget {
    /// A comment with its fields and replies.
    Comment(String),
    /// One key of the scope's policy.
    Policy(String),
    /// Writes outside the comments schema.
    Unknown,
}

impl CommentsEffect {
    pub fn is_empty(&self) -> bool {
        self.comments.is_empty() && self.policy.is_empty() && self.unknown.is_empty()
    }
}

struct Shared {
    index: IdIndex,
    last: Option<Vec<u8>>,
}

fn lock(s: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// One comment-scope document.
pub struct CommentsDoc {
    doc: Doc,
    comments: MapRef,
    shared: Arc<Mutex<Shared>>,
}

impl std::fmt::Debug for CommentsDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommentsDoc").finish_non_exhaustive()
    }
}

impl Default for CommentsDoc {
    fn default() -> Self {
        Self::new()
    }
}

impl CommentsDoc {
    pub fn new() -> Self {
        Self::build(Options::default())
    }

    /// An empty document that keeps deleted content until its owner
    /// collects it (`TransactionMut::gc`): what a server needs to revert a
    /// refused deletion after integrating it (yrs would otherwise collect
    /// the deleted text when the transaction commits).
    pub fn with_manual_gc() -> Self {
        Self::build(Options {
            skip_gc: true,
            ..Options::default()
        })
    }

    pub fn with_client_id(client_id: u64) -> Self {
        Self::build(Options::with_client_id(yrs::ClientID::new(client_id)))
    }

    fn build(mut options: Options) -> Self {
        options.offset_kind = OffsetKind::Utf16;
        let doc = Doc::with_options(options);
        let shared = Arc::new(Mutex::new(Shared {
            index: IdIndex::new(&["id"]),
            last: None,
        }));
        let sink = shared.clone();
        if let Err(e) = doc.observe_update_v1("plenary-comments-index", move |_, e| {
            let mut s = lock(&sink);
            if !s.index.is_shed() {
                s.index.ingest(&e.update);
            }
            s.last = Some(e.update.clone());
        }) {
            lock(&shared).index.broken = Some(format!("could not observe the document: {e}"));
        }
        let comments = doc.get_or_insert_map(COMMENTS);
        CommentsDoc {
            doc,
            comments,
            shared,
        }
    }

    pub fn from_update(update: &[u8]) -> Result<Self, EffectError> {
        let d = Self::new();
        crate::ancestry::decode_v1(update)?;
        let u = Update::decode_v1(update).map_err(|e| EffectError::Apply(e.to_string()))?;
        d.doc
            .transact_mut()
            .apply_update(u)
            .map_err(|e| EffectError::Apply(e.to_string()))?;
        Ok(d)
    }

    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    pub fn encode_state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// All comments, ordered by creation time then id.
    pub fn comments(&self) -> Vec<Comment> {
        let txn = self.doc.transact();
        let mut out: Vec<Comment> = self
            .comments
            .iter(&txn)
            .filter_map(|(_, v)| match v {
                Out::YMap(m) => read_comment(&txn, &m),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        out
    }

    pub fn comment(&self, id: &str) -> Option<Comment> {
        let txn = self.doc.transact();
        match self.comments.get(&txn, id) {
            Some(Out::YMap(m)) => read_comment(&txn, &m),
            _ => None,
        }
    }

    /// Whether this scope's policy lets observers write comments.
    pub fn observers_may_comment(&self) -> bool {
        let policy = self.doc.get_or_insert_map(POLICY);
        let txn = self.doc.transact();
        matches!(
            policy.get(&txn, "observersMayComment"),
            Some(Out::Any(Any::Bool(true)))
        )
    }

    /// Sets whether observers may write comments in this scope.
    pub fn set_observers_may_comment(&mut self, allowed: bool) -> Result<Vec<u8>, EditError> {
        let policy = self.doc.get_or_insert_map(POLICY);
        self.edit(|txn, _| {
            policy.insert(txn, "observersMayComment", allowed);
            Ok(())
        })
        .map(|(_, u)| u)
    }

    /// What `update` would change, without applying it.
    /// See [`crate::ResolutionDoc::deleted_beneath`].
    pub fn deleted_beneath(&self, deleted: &yrs::IdSet, containers: &yrs::IdSet) -> yrs::IdSet {
        let mut shared = lock(&self.shared);
        shared.index.restore(&self.doc);
        shared.index.beneath(deleted, containers)
    }

    /// See [`crate::ResolutionDoc::shed_index`].
    pub fn shed_index(&self) {
        lock(&self.shared).index.shed();
    }

    pub fn effect(&self, update: &[u8]) -> Result<CommentsEffect, EffectError> {
        let decoded = crate::ancestry::decode_v1(update)?;
        let mut shared = lock(&self.shared);
        shared.index.restore(&self.doc);
        if let Some(b) = &shared.index.broken {
            return Err(EffectError::IndexBroken(b.clone()));
        }
        let view = UpdateView::new(&shared.index, &decoded);
        Ok(comments_effect(&view))
    }

    pub fn apply(&mut self, update: &[u8]) -> Result<CommentsEffect, EffectError> {
        let effect = self.effect(update)?;
        let u = Update::decode_v1(update).map_err(|e| EffectError::Apply(e.to_string()))?;
        self.doc
            .transact_mut()
            .apply_update(u)
            .map_err(|e| EffectError::Apply(e.to_string()))?;
        Ok(effect)
    }

    fn edit<R>(
        &self,
        f: impl FnOnce(&mut TransactionMut, &MapRef) -> Result<R, EditError>,
    ) -> Result<(R, Vec<u8>), EditError> {
        lock(&self.shared).last = None;
        let r = {
            let mut txn = self.doc.transact_mut();
            f(&mut txn, &self.comments)?
        };
        let update = lock(&self.shared).last.take().unwrap_or_default();
        Ok((r, update))
    }

    fn new_id(&self, txn: &TransactionMut, prefix: &str) -> String {
        let client = self.doc.client_id();
        format!(
            "{prefix}{:x}-{}",
            client.get(),
            txn.state_vector().get(&client)
        )
    }

    /// Adds a comment; returns its id and the update.
    pub fn add_comment(&mut self, c: &NewComment) -> Result<(String, Vec<u8>), EditError> {
        self.edit(|txn, root| {
            let id = self.new_id(txn, "c");
            let m = root.insert(txn, id.as_str(), MapPrelim::default());
            m.insert(txn, "id", id.as_str());
            m.insert(txn, "paragraphId", c.paragraph_id.as_str());
            if let Some(a) = &c.anchor {
                m.insert(txn, "anchor", a.as_str());
            }
            m.insert(txn, "text", c.text.as_str());
            m.insert(txn, "author", c.author.as_str());
            m.insert(txn, "authorName", c.author_name.as_str());
            m.insert(txn, "delegation", c.delegation.as_str());
            m.insert(txn, "createdAt", Any::from(c.created_at));
            m.insert(txn, "resolved", false);
            m.insert(txn, "replies", ArrayPrelim::default());
            Ok(id)
        })
    }

    /// Adds a reply to comment `comment_id`; returns the reply id.
    pub fn add_reply(
        &mut self,
        comment_id: &str,
        r: &NewReply,
    ) -> Result<(String, Vec<u8>), EditError> {
        self.edit(|txn, root| {
            let Some(Out::YMap(c)) = root.get(txn, comment_id) else {
                return Err(EditError::NoComment(comment_id.to_owned()));
            };
            let replies = match c.get(txn, "replies") {
                Some(Out::YArray(a)) => a,
                _ => c.insert(txn, "replies", ArrayPrelim::default()),
            };
            let id = self.new_id(txn, "r");
            let len = replies.len(txn);
            let m = replies.insert(txn, len, MapPrelim::default());
            m.insert(txn, "id", id.as_str());
            m.insert(txn, "text", r.text.as_str());
            m.insert(txn, "author", r.author.as_str());
            m.insert(txn, "authorName", r.author_name.as_str());
            m.insert(txn, "delegation", r.delegation.as_str());
            m.insert(txn, "createdAt", Any::from(r.created_at));
            Ok(id)
        })
    }

    /// Marks a comment resolved (or reopens it) by `by`.
    pub fn resolve(
        &mut self,
        comment_id: &str,
        resolved: bool,
        by: &str,
    ) -> Result<Vec<u8>, EditError> {
        self.edit(|txn, root| {
            let Some(Out::YMap(c)) = root.get(txn, comment_id) else {
                return Err(EditError::NoComment(comment_id.to_owned()));
            };
            c.insert(txn, "resolved", resolved);
            c.insert(txn, "resolvedBy", by);
            Ok(())
        })
        .map(|(_, u)| u)
    }
}

fn read_comment<T: ReadTxn>(txn: &T, m: &MapRef) -> Option<Comment> {
    Some(Comment {
        id: str_of(txn, m, "id")?,
        paragraph_id: str_of(txn, m, "paragraphId").unwrap_or_default(),
        anchor: str_of(txn, m, "anchor"),
        text: str_of(txn, m, "text").unwrap_or_default(),
        author: str_of(txn, m, "author").unwrap_or_default(),
        author_name: str_of(txn, m, "authorName").unwrap_or_default(),
        delegation: str_of(txn, m, "delegation").unwrap_or_default(),
        created_at: num_of(txn, m, "createdAt").unwrap_or(0.0) as i64,
        resolved: matches!(m.get(txn, "resolved"), Some(Out::Any(Any::Bool(true)))),
        resolved_by: str_of(txn, m, "resolvedBy"),
        replies: match m.get(txn, "replies") {
            Some(Out::YArray(a)) => a
                .iter(txn)
                .filter_map(|v| match v {
                    Out::YMap(r) => Some(Reply {
                        id: str_of(txn, &r, "id")?,
                        text: str_of(txn, &r, "text").unwrap_or_default(),
                        author: str_of(txn, &r, "author").unwrap_or_default(),
                        author_name: str_of(txn, &r, "authorName").unwrap_or_default(),
                        delegation: str_of(txn, &r, "delegation").unwrap_or_default(),
                        created_at: num_of(txn, &r, "createdAt").unwrap_or(0.0) as i64,
                    }),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
    })
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// Reads touches through the comments schema.
fn comments_effect(view: &UpdateView<'_>) -> CommentsEffect {
    let touches = view.touches();
    let mut e = CommentsEffect {
        discarded: touches.discarded,
        unplaceable: (touches.unplaceable.kept.len() + touches.unplaceable.more) as u32,
        ..CommentsEffect::default()
    };
    let mut unknowns = touches.unplaceable;
    for t in &touches.touches {
        let (at, insert, item) = match t {
            Touch::Insert { st, at, .. } => (at, Some(*st), st.id),
            Touch::Delete { at, item, .. } => (at, None, *item),
        };
        let target = match (at.root.as_ref(), at.chain.first(), at.key.as_deref()) {
            (COMMENTS, None, Some(cid)) => CommentTarget::Comment(cid.to_owned()),
            (COMMENTS, Some((_, Some(cid))), _) => CommentTarget::Comment(cid.to_string()),
            (POLICY, None, Some(k)) => CommentTarget::Policy(k.to_owned()),
            _ => CommentTarget::Unknown,
        };
        t.add_to(e.footprints.entry(target).or_default());
        let chain: Vec<(&yrs::ID, Option<&str>)> =
            at.chain.iter().map(|(i, k)| (i, k.as_deref())).collect();
        let key = at.key.as_deref();
        match (at.root.as_ref(), chain.as_slice(), key) {
            (COMMENTS, [], Some(cid)) => {
                let ce = e.comments.entry(cid.to_owned()).or_default();
                match insert {
                    Some(st) if matches!(st.content, Some(Content::Type(TYPE_MAP))) => {
                        ce.created = Some(object(view.value_of(st)))
                    }
                    Some(_) => {
                        unknowns.push(|| format!("comment {cid} is not a map"));
                        t.add_to(e.footprints.entry(CommentTarget::Unknown).or_default());
                    }
                    None => ce.deleted = true,
                }
            }
            (COMMENTS, [(c, Some(cid))], Some(k)) => {
                if view.is_new(c) || view.deletes_item(c) {
                    continue;
                }
                let fc = e
                    .comments
                    .entry((*cid).to_owned())
                    .or_default()
                    .fields
                    .entry(k.to_owned())
                    .or_default();
                fc.record(view, t)
            }
            (COMMENTS, [(c, Some(cid)), (arr, Some("replies"))], None) => {
                if view.is_new(c) || view.deletes_item(c) || view.deletes_item(arr) {
                    continue;
                }
                let ce = e.comments.entry((*cid).to_owned()).or_default();
                match insert {
                    Some(st) if matches!(st.content, Some(Content::Type(TYPE_MAP))) => {
                        ce.replies_added.push(object(view.value_of(st)))
                    }
                    Some(_) => {
                        unknowns.push(|| format!("a reply of {cid} is not a map"));
                        t.add_to(e.footprints.entry(CommentTarget::Unknown).or_default());
                    }
                    None => ce.replies_deleted.push(view.label(&item, "id")),
                }
            }
            (COMMENTS, [(c, Some(cid)), (arr, Some("replies")), (r, None)], Some(k)) => {
                if view.is_new(c)
                    || view.is_new(r)
                    || view.deletes_item(c)
                    || view.deletes_item(arr)
                    || view.deletes_item(r)
                {
                    continue;
                }
                let rid = view.label(r, "id").unwrap_or_else(|| fmt_id(r));
                let keys = e
                    .comments
                    .entry((*cid).to_owned())
                    .or_default()
                    .replies_edited
                    .entry(rid)
                    .or_default();
                if !keys.iter().any(|x| x == k) {
                    keys.push(k.to_owned());
                }
            }
            (POLICY, [], Some(k)) => e.policy.entry(k.to_owned()).or_default().record(view, t),
            _ => {
                unknowns.push(|| {
                    format!(
                        "{} {} in `{}`: not part of the comments schema",
                        if insert.is_some() { "insert" } else { "delete" },
                        fmt_id(&item),
                        at.root
                    )
                });
                t.add_to(e.footprints.entry(CommentTarget::Unknown).or_default());
            }
        }
    }
    e.unknown = unknowns.into_vec();
    e
}
