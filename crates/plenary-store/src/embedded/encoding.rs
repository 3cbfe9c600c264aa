//! The byte layout of a [`LogEntry`] in the embedded store: a format byte, then length-prefixed
//! fields. Binary rather than JSON because updates are bytes and may be large.

use crate::LogEntry;

/// Format 1 had no `name`; format 2 appends it (a flag, then the string).
const FORMAT: u8 = 2;
const FORMAT_WITHOUT_NAME: u8 = 1;

pub(super) fn encode(entry: &LogEntry) -> Vec<u8> {
    let strings: usize = entry.paragraphs.iter().map(|p| p.len() + 4).sum();
    let mut out = Vec::with_capacity(
        1 + 4 * 5 + 1 + 8 + entry.update.len() + entry.user.len() + entry.node.len() + strings,
    );
    out.push(FORMAT);
    put_bytes(&mut out, &entry.update);
    put_bytes(&mut out, entry.user.as_bytes());
    match &entry.delegation {
        Some(delegation) => {
            out.push(1);
            put_bytes(&mut out, delegation.as_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&entry.at_ms.to_le_bytes());
    put_len(&mut out, entry.paragraphs.len());
    for paragraph in &entry.paragraphs {
        put_bytes(&mut out, paragraph.as_bytes());
    }
    put_bytes(&mut out, entry.node.as_bytes());
    match &entry.name {
        Some(name) => {
            out.push(1);
            put_bytes(&mut out, name.as_bytes());
        }
        None => out.push(0),
    }
    out
}

/// `None` if the bytes are not an entry this module wrote.
pub(super) fn decode(bytes: &[u8]) -> Option<LogEntry> {
    let mut reader = Reader { rest: bytes };
    let format = reader.take(1)?;
    if format != [FORMAT] && format != [FORMAT_WITHOUT_NAME] {
        return None;
    }
    let has_name = format == [FORMAT];
    let update = reader.bytes()?.to_vec();
    let user = reader.string()?;
    let delegation = match reader.take(1)? {
        [0] => None,
        [1] => Some(reader.string()?),
        _ => return None,
    };
    let at_ms = i64::from_le_bytes(reader.take(8)?.try_into().ok()?);
    let count = reader.len()?;
    // Every paragraph takes at least its 4-byte length: a count beyond that is damage, and must
    // not make us reserve absurd amounts of memory.
    if count > reader.rest.len() / 4 {
        return None;
    }
    let mut paragraphs = Vec::with_capacity(count);
    for _ in 0..count {
        paragraphs.push(reader.string()?);
    }
    let node = reader.string()?;
    let name = if has_name {
        match reader.take(1)? {
            [0] => None,
            [1] => Some(reader.string()?),
            _ => return None,
        }
    } else {
        None
    };
    if !reader.rest.is_empty() {
        return None;
    }
    Some(LogEntry {
        update,
        user,
        name,
        delegation,
        at_ms,
        paragraphs,
        node,
    })
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Entries are bounded far below 4 GiB by the server's message size limit.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn len(&mut self) -> Option<usize> {
        let raw = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        usize::try_from(raw).ok()
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.len()?;
        self.take(len)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LogEntry {
        LogEntry {
            update: vec![0, 1, 2, 255],
            user: "ana".to_owned(),
            name: Some("Delegate of Chile".to_owned()),
            delegation: Some("Chile".to_owned()),
            at_ms: -5,
            paragraphs: vec!["p1".to_owned(), "p2".to_owned()],
            node: "node-a".to_owned(),
        }
    }

    #[test]
    fn round_trips() {
        let entry = sample();
        assert_eq!(decode(&encode(&entry)), Some(entry));
        let bare = LogEntry {
            delegation: None,
            name: None,
            paragraphs: vec![],
            ..sample()
        };
        assert_eq!(decode(&encode(&bare)), Some(bare));
    }

    #[test]
    fn reads_entries_written_before_names_were_kept() {
        let entry = LogEntry {
            name: None,
            ..sample()
        };
        let mut old = encode(&entry);
        old[0] = FORMAT_WITHOUT_NAME;
        old.pop(); // format 1 ends after `node`
        assert_eq!(decode(&old), Some(entry));
    }

    #[test]
    fn rejects_truncated_or_padded_bytes() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert_eq!(decode(&padded), None);
    }
}
