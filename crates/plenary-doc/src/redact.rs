//! Rewriting a v1 update so that chosen id ranges carry no content.
//!
//! When the server refuses part of a client's update it integrates the whole
//! update (so the client's clocks stay continuous), reverts the refused part
//! with its own change, and then has to tell everyone else what happened
//! without showing them the refused content. Other peers must still receive
//! the refused structs — later structs of the same client name them as
//! origins, and a missing clock is a gap a Yjs 13 client can never fill —
//! but as *deleted* structs: same id, same origins, same parent, content
//! replaced by its length (what Yjs's own garbage collector leaves). This is
//! that rewrite, at a cost proportional to the update.
//!
//! Architecture invariant: the rewritten update integrates exactly like the
//! original one into any document (same ids, same positions); only the
//! content of the redacted ranges is gone. A struct that straddles a
//! redacted range is split at its edges the way Yjs splits items.

use std::ops::Range;

use yrs::block::{
    BLOCK_GC_REF_NUMBER, BLOCK_ITEM_DELETED_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN,
    HAS_PARENT_SUB, HAS_RIGHT_ORIGIN, ItemContent,
};
use yrs::encoding::write::Write;
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::{ClientID, ID, IdSet};

use crate::ancestry::{DecodeError, ParentRef, RawBody, RawStruct, read_v1};

/// Rewrites `update` so that every id in `redact` is a deleted struct (no
/// content), splitting structs at the edges of `redact`. The delete set is
/// kept as it is.
pub fn redact_v1(update: &[u8], redact: &IdSet) -> Result<Vec<u8>, DecodeError> {
    let raw = read_v1(update)?;
    let mut e = EncoderV1::new();
    e.write_var(raw.groups.len() as u32);
    for (client, start, structs) in &raw.groups {
        let redacted = ranges_of(redact, client);
        let mut pieces: Vec<Piece<'_>> = Vec::with_capacity(structs.len());
        for st in structs {
            split(st, &redacted, &mut pieces);
        }
        e.write_var(pieces.len() as u32);
        e.write_client(*client);
        e.write_var(*start);
        for p in pieces {
            write_piece(&mut e, *client, p);
        }
    }
    raw.deletes.encode(&mut e);
    Ok(e.to_vec())
}

/// The ranges of `client` in `set`, sorted and merged.
fn ranges_of(set: &IdSet, client: &ClientID) -> Vec<Range<u32>> {
    let mut v: Vec<Range<u32>> = set
        .get(client)
        .map(|r| r.iter().map(|(r, _)| r.clone()).collect())
        .unwrap_or_default();
    v.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<Range<u32>> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// A struct, or part of one, and whether its content goes.
struct Piece<'a> {
    raw: &'a RawStruct,
    /// Offsets within the struct.
    from: u32,
    to: u32,
    redacted: bool,
}

fn split<'a>(raw: &'a RawStruct, redacted: &[Range<u32>], out: &mut Vec<Piece<'a>>) {
    let (start, end) = (raw.id.clock, raw.id.clock + raw.len);
    let splittable = matches!(raw.body, RawBody::Item(..));
    let mut pos = start;
    // The redacted ranges are sorted and disjoint (an IdSet squashes them).
    let first = redacted.partition_point(|r| r.end <= start);
    for r in &redacted[first..] {
        if r.start >= end {
            break;
        }
        let (a, b) = (r.start.max(start), r.end.min(end));
        if !splittable {
            break; // GC and Skip carry no content already
        }
        if a > pos {
            out.push(Piece {
                raw,
                from: pos - start,
                to: a - start,
                redacted: false,
            });
        }
        out.push(Piece {
            raw,
            from: a - start,
            to: b - start,
            redacted: true,
        });
        pos = b;
    }
    if pos < end {
        out.push(Piece {
            raw,
            from: pos - start,
            to: end - start,
            redacted: false,
        });
    }
}

fn write_piece(e: &mut EncoderV1, client: ClientID, p: Piece<'_>) {
    let len = p.to - p.from;
    let (h, content) = match &p.raw.body {
        RawBody::Item(h, content) => (h, content),
        RawBody::Skip => {
            e.write_info(BLOCK_SKIP_REF_NUMBER);
            e.write_var(len);
            return;
        }
        RawBody::Gc => {
            e.write_info(BLOCK_GC_REF_NUMBER);
            e.write_len(len);
            return;
        }
    };
    let (origin, right_origin, parent, key) = (&h.origin, &h.right_origin, &h.parent, &h.key);
    // A piece after the first starts right after its left neighbour, as Yjs
    // splits items.
    let origin = if p.from == 0 {
        *origin
    } else {
        Some(ID::new(client, p.raw.id.clock + p.from - 1))
    };
    let explicit = origin.is_none() && right_origin.is_none();
    let content_ref = if p.redacted {
        BLOCK_ITEM_DELETED_REF_NUMBER
    } else {
        content.get_ref_number()
    };
    let mut info = content_ref;
    if origin.is_some() {
        info |= HAS_ORIGIN;
    }
    if right_origin.is_some() {
        info |= HAS_RIGHT_ORIGIN;
    }
    if explicit && key.is_some() {
        info |= HAS_PARENT_SUB;
    }
    e.write_info(info);
    if let Some(o) = &origin {
        e.write_left_id(o);
    }
    if let Some(r) = right_origin {
        e.write_right_id(r);
    }
    if explicit {
        match parent {
            Some(ParentRef::Root(name)) => {
                e.write_parent_info(true);
                e.write_string(name);
            }
            Some(ParentRef::Item(id)) => {
                e.write_parent_info(false);
                e.write_left_id(id);
            }
            None => {
                // A struct with no origin always carries its parent; keep
                // the shape valid anyway.
                e.write_parent_info(true);
                e.write_string("");
            }
        }
        if let Some(k) = key {
            e.write_string(k);
        }
    }
    if p.redacted {
        e.write_len(len);
        return;
    }
    if p.from == 0 && p.to == p.raw.len {
        content.encode(e);
        return;
    }
    match content {
        ItemContent::String(s) => e.write_string(utf16_slice(s.as_str(), p.from, p.to)),
        ItemContent::Any(v) => {
            e.write_len(len);
            for a in &v[p.from as usize..p.to as usize] {
                e.write_any(a);
            }
        }
        ItemContent::JSON(v) => {
            e.write_len(len);
            for s in &v[p.from as usize..p.to as usize] {
                e.write_string(s);
            }
        }
        ItemContent::Deleted(_) => e.write_len(len),
        // Only the kinds above are longer than one clock.
        other => other.encode(e),
    }
}

/// The part of `s` between two UTF-16 offsets.
fn utf16_slice(s: &str, from: u32, to: u32) -> &str {
    let mut units = 0u32;
    let (mut a, mut b) = (s.len(), s.len());
    for (i, c) in s.char_indices() {
        if units >= from && a == s.len() {
            a = i;
        }
        if units >= to {
            b = i;
            break;
        }
        units += c.len_utf16() as u32;
    }
    &s[a.min(b)..b]
}
