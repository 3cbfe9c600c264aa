//! `frame`: the connection's decoding of one binary WebSocket frame (`protocol::decode_frame`:
//! the budget walk of every count and length prefix, then yrs's `MessageReader`), then the
//! room's `Update::decode_v1` of every update it carries.
//!
//! Invariants: never panics; returns the messages or a typed refusal; the bytes allocated at
//! any one time while decoding stay within `BYTES_PER_INPUT_BYTE` times the frame's size plus
//! `SLACK` (a counting global allocator measures the peak).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use libfuzzer_sys::fuzz_target;

/// A frame may cost at most this many bytes of live allocation per byte of frame…
const BYTES_PER_INPUT_BYTE: usize = 64;
/// …plus this much.
const SLACK: usize = 64 * 1024;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let outcome = plenary_server::fuzzing::decode_frame(data);
    let used = PEAK.load(Relaxed).saturating_sub(base);
    let bound = data.len() * BYTES_PER_INPUT_BYTE + SLACK;
    assert!(
        used <= bound,
        "decoding a {}-byte frame held {used} bytes at its peak (bound {bound}); outcome {:?}",
        data.len(),
        outcome.map_err(|e| e.len())
    );
    if let Err(e) = outcome {
        assert!(!e.is_empty(), "a refusal says why");
    }
});
