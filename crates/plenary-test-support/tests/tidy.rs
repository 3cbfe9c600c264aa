//! Tidy checks: the crate graph keeps the shape ARCHITECTURE.md promises.
//!
//! Each crate has one job, and its dependencies say so: a crate that gains a
//! dependency it must not know about fails here, in the test command, rather than
//! in review. Read from `cargo metadata` (the resolved graph, normal
//! dependencies followed transitively; dev-dependencies and build scripts are
//! not part of what a crate ships).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

struct Graph {
    /// package id → (name, rust-version)
    packages: BTreeMap<String, (String, Option<String>)>,
    /// package id → ids of its normal (shipped) dependencies
    normal: BTreeMap<String, Vec<String>>,
    workspace_rust_version: Option<String>,
}

fn graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let mut packages = BTreeMap::new();
    let mut workspace_rust_version = None;
    for p in m["packages"].as_array().expect("packages") {
        let id = p["id"].as_str().expect("id").to_owned();
        let name = p["name"].as_str().expect("name").to_owned();
        let rv = p["rust_version"].as_str().map(str::to_owned);
        if name == "plenary-server" {
            workspace_rust_version = rv.clone();
        }
        packages.insert(id, (name, rv));
    }
    let mut normal = BTreeMap::new();
    for n in m["resolve"]["nodes"].as_array().expect("resolve nodes") {
        let deps = n["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .is_some_and(|ks| ks.iter().any(|k| k["kind"].is_null()))
            })
            .map(|d| d["pkg"].as_str().expect("pkg").to_owned())
            .collect();
        normal.insert(n["id"].as_str().expect("id").to_owned(), deps);
    }
    Graph {
        packages,
        normal,
        workspace_rust_version,
    }
}

impl Graph {
    fn id_of(&self, name: &str) -> &str {
        self.packages
            .iter()
            .find(|(_, (n, _))| n == name)
            .map(|(id, _)| id.as_str())
            .unwrap_or_else(|| panic!("no package {name} in the workspace graph"))
    }

    /// Names of everything `name` ships with (its normal dependencies, transitively).
    fn ships_with(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.id_of(name).to_owned()];
        while let Some(id) = stack.pop() {
            for dep in self.normal.get(&id).into_iter().flatten() {
                if seen.insert(dep.clone()) {
                    stack.push(dep.clone());
                }
            }
        }
        seen.iter().map(|id| self.packages[id].0.clone()).collect()
    }
}

/// Architecture Invariant: the crate on the left never ships with the crates on the right.
const FORBIDDEN: &[(&str, &[&str], &str)] = &[
    (
        "plenary-doc",
        &[
            "tokio",
            "axum",
            "hyper",
            "redis",
            "redb",
            "plenary-store",
            "plenary-auth",
        ],
        "plenary-doc is sans-IO: it knows resolutions and yrs, not sockets, runtimes or storage",
    ),
    (
        "plenary-auth",
        &["yrs", "tokio", "axum", "hyper", "redis", "redb"],
        "plenary-auth knows tokens and permissions, not yrs, I/O or storage",
    ),
    (
        "plenary-store",
        &["yrs", "axum", "hyper", "plenary-doc", "plenary-auth"],
        "plenary-store knows bytes and logs, not yrs or documents",
    ),
    (
        "plenary-history",
        &["axum", "hyper"],
        "plenary-history answers history questions; only plenary-server speaks HTTP",
    ),
    (
        "plenary-client",
        &["axum", "hyper", "redis", "redb"],
        "plenary-client is a WebSocket client and nothing else",
    ),
];

#[test]
fn each_crate_ships_only_what_its_job_needs() {
    let g = graph();
    let mut broken = Vec::new();
    for (krate, forbidden, why) in FORBIDDEN {
        let deps = g.ships_with(krate);
        for f in *forbidden {
            if deps.contains(*f) {
                broken.push(format!("{krate} now depends on {f}: {why}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "crate invariants broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn only_the_server_speaks_http() {
    let g = graph();
    let speakers: Vec<&String> = g
        .packages
        .values()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("plenary-") && g.ships_with(n).contains("axum"))
        .collect();
    assert_eq!(
        speakers,
        ["plenary-server"],
        "axum belongs to plenary-server alone"
    );
}

#[test]
fn test_only_crates_never_ship() {
    let g = graph();
    for (name, _) in g.packages.values() {
        if !name.starts_with("plenary-") || name == "plenary-test-support" {
            continue;
        }
        let deps = g.ships_with(name);
        for test_only in ["plenary-test-support", "tempfile", "proptest"] {
            assert!(
                !deps.contains(test_only),
                "{name} ships with {test_only}: test-only crates belong in [dev-dependencies]"
            );
        }
    }
}

fn version(v: &str) -> Vec<u64> {
    v.split('.').map(|x| x.parse().unwrap_or(0)).collect()
}

#[test]
fn rust_version_is_what_the_dependencies_need() {
    let g = graph();
    let ours = g
        .workspace_rust_version
        .clone()
        .expect("the workspace sets rust-version");
    let mut needs: Vec<(Vec<u64>, String, String)> = g
        .packages
        .values()
        .filter_map(|(n, rv)| rv.as_ref().map(|v| (version(v), v.clone(), n.clone())))
        .collect();
    needs.sort();
    let (highest, v, who) = needs.pop().expect("some package sets rust-version");
    assert!(
        version(&ours) >= highest,
        "rust-version = {ours}, but {who} needs Rust {v}: raise rust-version in Cargo.toml"
    );
}
