//! Cost of `ResolutionDoc::effect` on a 200-paragraph document against the
//! fallback (apply the update to a copy of the document and diff the views).
//!
//! Run: `cargo bench -p plenary-doc --bench effect`
#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use common::*;
use plenary_doc::{Resolution, ResolutionDoc};

fn time<R>(iters: u32, mut f: impl FnMut() -> R) -> Duration {
    // warm up
    for _ in 0..(iters / 10).max(1) {
        black_box(f());
    }
    let t = Instant::now();
    for _ in 0..iters {
        black_box(f());
    }
    t.elapsed() / iters
}

/// Paragraph ids whose content differs between two views.
fn diff(a: &Resolution, b: &Resolution) -> Vec<String> {
    let before: HashMap<&str, _> = a.paragraphs.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut out = Vec::new();
    for p in &b.paragraphs {
        match before.get(p.id.as_str()) {
            Some(q) if q.text == p.text && q.status == p.status => {}
            _ => out.push(p.id.clone()),
        }
    }
    out
}

fn fallback(server: &ResolutionDoc, before: &Resolution, update: &[u8]) -> Vec<String> {
    let mut copy = ResolutionDoc::from_update(&server.encode_state()).expect("state");
    copy.apply(update).expect("update");
    diff(before, &copy.resolution())
}

fn main() {
    let server = ResolutionDoc::from_resolution_with_client_id(1, &sample(50, 150)).expect("doc");
    let before = server.resolution();
    assert_eq!(before.paragraphs.len(), 200);
    let state_len = server.encode_state().len();
    let mut client = replica(&server, 2);
    let one = client.insert_text("op75", 12, "x", false).expect("edit");
    let paste = client
        .insert_text(
            "op140",
            20,
            &"fifty characters of pasted text, give or take it. ".to_owned()[..50],
            false,
        )
        .expect("edit");
    println!("document: 200 paragraphs, encoded state {state_len} bytes");
    for (name, u) in [("single-char edit", &one), ("50-char paste", &paste)] {
        let e = server.effect(u).expect("effect");
        assert_eq!(e.paragraphs.len(), 1);
        assert_eq!(fallback(&server, &before, u).len(), 1);
        let t_effect = time(20_000, || server.effect(u));
        let t_fallback = time(200, || fallback(&server, &before, u));
        let t_clone = time(200, || ResolutionDoc::from_update(&server.encode_state()));
        println!(
            "{name:17} ({:3} B update): effect {:>9.2?}  fallback {:>9.2?} (of which clone {:>9.2?})  ratio {:.0}x",
            u.len(),
            t_effect,
            t_fallback,
            t_clone,
            t_fallback.as_secs_f64() / t_effect.as_secs_f64()
        );
    }
    // the copy alone, in bare yrs (no index): a lower bound for any fallback
    let state = server.encode_state();
    let t = time(200, || {
        use yrs::updates::decoder::Decode;
        let d = yrs::Doc::new();
        let u = yrs::Update::decode_v1(&state).expect("state");
        yrs::Transact::transact_mut(&d)
            .apply_update(u)
            .expect("apply");
        d
    });
    println!("bare yrs copy of the document: {t:?}");
    // a full-state resend (sync step 2 of a replica): proportional to the update
    let full = full_state(client.doc());
    let t = time(200, || server.effect(&full));
    println!("full-state resend ({} B): effect {:?}", full.len(), t);
}
