//! `effect`: `plenary_doc::ResolutionDoc::effect` (what an update would change, target by target,
//! without applying it) of the fuzzer's bytes as a v1 update, against the seeded resolution
//! (the committed fixture, loaded once per process), then `redact_v1` of every target's
//! insertions (what `Integration::begin_refusing` does when a target is refused).
//!
//! Only bytes the server would pass on to a room are judged (`admissible_update`: the
//! connection's budget walk of every count and length prefix). Raw bytes straight into
//! `effect` can make yrs reserve from an unchecked count (see README.md, Findings); set
//! `FUZZ_RAW_EFFECT=1` to fuzz that unguarded path.
//!
//! Invariants: never panics; `effect` never mutates the document (its state vector and its
//! encoded size are unchanged); a redacted update that `redact_v1` returns is still a
//! well-formed v1 update (does not hold today: README.md, Finding 4; `FUZZ_KNOWN_FINDINGS=skip`
//! skips it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use plenary_doc::{Footprint, ResolutionDoc, redact_v1};
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, Transact, Update};

thread_local! {
    /// `FUZZ_KNOWN_FINDINGS=skip`: skip the check that a known finding breaks (README.md).
    static CHECK_KNOWN: bool =
        std::env::var_os("FUZZ_KNOWN_FINDINGS").is_none_or(|v| v != "skip");
    static RAW: bool = std::env::var_os("FUZZ_RAW_EFFECT").is_some_and(|v| v == "1");
    static DOC: ResolutionDoc =
        ResolutionDoc::from_update(&plenary_fuzz::seed_state()).expect("the seed loads");
}

fuzz_target!(|data: &[u8]| {
    if !RAW.with(|raw| *raw) && !plenary_server::fuzzing::admissible_update(data) {
        return;
    }
    DOC.with(|doc| {
        let before = doc.doc().transact().state_vector();
        let effect = doc.effect(data);
        assert_eq!(
            doc.doc().transact().state_vector(),
            before,
            "effect() changed the document"
        );
        let Ok(effect) = effect else {
            return;
        };
        let mut all = Footprint::default();
        for fp in effect.footprints.values() {
            all.merge(fp);
            if fp.inserted.is_empty() {
                continue;
            }
            if let Ok(redacted) = redact_v1(data, &fp.inserted)
                && CHECK_KNOWN.with(|c| *c)
            {
                assert!(
                    Update::decode_v1(&redacted).is_ok(),
                    "redact_v1 returned an undecodable update"
                );
            }
        }
        if !all.inserted.is_empty()
            && let Ok(redacted) = redact_v1(data, &all.inserted)
            && CHECK_KNOWN.with(|c| *c)
        {
            assert!(
                Update::decode_v1(&redacted).is_ok(),
                "redact_v1 (all targets) returned an undecodable update"
            );
        }
    });
});
