//! Replays one input of the `policy` target and shows what happened:
//! `cargo run --example replay -- FILE` (from fuzz/).

use plenary_server::fuzzing::{Room, admissible_update};

fn main() {
    let path = std::env::args().nth(1).expect("usage: replay FILE");
    let data = std::fs::read(path).expect("input");
    let (role, update) = data.split_first().expect("a role byte");
    let state = plenary_fuzz::seed_state();
    let mut room = Room::load(plenary_fuzz::DOC_NAME, &state).expect("seed");
    println!(
        "role {role} ({:?}), admissible {}",
        plenary_server::fuzzing::principal(*role).role,
        admissible_update(update)
    );
    println!("judged: {:?}", room.judge(*role, update));
    let before = serde_json::to_string_pretty(&room.resolution()).expect("json");
    let admitted = room.admit(*role, update);
    println!("admitted: {admitted:?}");
    let after = serde_json::to_string_pretty(&room.resolution()).expect("json");
    let (b, a): (Vec<_>, Vec<_>) = (before.lines().collect(), after.lines().collect());
    for d in diff(&b, &a) {
        println!("{d}");
    }
}

/// Lines only in one of the two (enough to see what moved).
fn diff(b: &[&str], a: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < b.len() || j < a.len() {
        if i < b.len() && j < a.len() && b[i] == a[j] {
            i += 1;
            j += 1;
        } else if j < a.len() && !b[i.min(b.len())..].contains(&a[j]) {
            out.push(format!("+ {}", a[j]));
            j += 1;
        } else if i < b.len() {
            out.push(format!("- {}", b[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", a[j]));
            j += 1;
        }
    }
    out
}
