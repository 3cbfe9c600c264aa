//! Cost of the two checks the server makes: `authorize` per derived action (every update) and
//! `verify` per token (every connection). Run:
//! `cargo bench -p plenary-auth --bench policy`

use std::hint::black_box;
use std::time::{Duration, Instant};

use plenary_auth::{
    Action, AuthConfig, CommentScope, DocContext, DocMode, Minter, ParagraphStatus, Principal,
    Role, SigningKey, TokenRequest, Verifier, VerifyKey, authorize,
};

const NOW: u64 = 1_790_000_000;

fn per_op(label: &str, iterations: u32, mut f: impl FnMut()) {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{label:<48} {ns:>10.1} ns/op  ({iterations} iterations)");
}

fn principal(role: Role, delegation: Option<&str>) -> Principal {
    Principal {
        sub: format!("{role}-1"),
        name: "Bench".into(),
        role,
        delegation: delegation.map(Into::into),
        groups: vec!["EU".into(), "G77".into()],
        docs: vec!["res-*".into()],
        expires_at: u64::MAX,
    }
}

fn main() {
    let open = DocContext {
        mode: DocMode::Open,
        observers_may_comment: false,
    };
    let delegate = principal(Role::Delegate, Some("FRA"));
    let chair = principal(Role::Chair, None);
    let observer = principal(Role::Observer, None);

    let text_open = Action::EditText {
        status: ParagraphStatus::Open,
    };
    let text_agreed = Action::EditText {
        status: ParagraphStatus::Agreed,
    };
    let propose = Action::Propose {
        delegation: "FRA".into(),
    };
    let propose_other = Action::Propose {
        delegation: "JPN".into(),
    };
    let comment = Action::WriteComment {
        scope: CommentScope::Group("G77".into()),
    };
    let mix = [
        (&delegate, &text_open),
        (&delegate, &text_agreed),
        (&delegate, &propose),
        (&delegate, &propose_other),
        (&chair, &text_agreed),
        (&observer, &text_open),
        (&delegate, &comment),
    ];

    println!("authorize (pure policy check)");
    per_op(
        "  delegate edits open paragraph (allow)",
        10_000_000,
        || {
            black_box(authorize(
                black_box(&delegate),
                black_box(&text_open),
                &open,
            ));
        },
    );
    per_op(
        "  delegate edits agreed paragraph (deny)",
        2_000_000,
        || {
            black_box(authorize(
                black_box(&delegate),
                black_box(&text_agreed),
                &open,
            ));
        },
    );
    per_op(
        "  delegate proposes for own delegation (allow)",
        10_000_000,
        || {
            black_box(authorize(black_box(&delegate), black_box(&propose), &open));
        },
    );
    let mut i = 0;
    per_op("  mix of 7 actions, round robin", 7_000_000, || {
        let (p, a) = mix[i % mix.len()];
        i += 1;
        black_box(authorize(black_box(p), black_box(a), &open));
    });

    println!("verify (per token, i.e. per connection)");
    let request = TokenRequest {
        role: Role::Delegate,
        name: "Bench Delegate".into(),
        sub: None,
        delegation: Some("FRA".into()),
        groups: vec!["EU".into()],
        docs: vec!["res-*".into()],
        ttl: Duration::from_secs(3_600),
    };
    let claims = request
        .into_claims("plenary", "plenary", NOW)
        .expect("valid request");
    let secret = b"bench-only-secret-of-at-least-32-bytes!!".to_vec();
    let keys = [
        (
            "HS256",
            SigningKey::Hs256Secret(secret.clone()),
            VerifyKey::Hs256Secret(secret),
            200_000,
        ),
        (
            "RS256 (2048-bit)",
            SigningKey::private_pem(include_str!("../tests/keys/rsa-private.pem"))
                .expect("fixture"),
            VerifyKey::public_pem(include_str!("../tests/keys/rsa-public.pem")).expect("fixture"),
            2_000,
        ),
        (
            "EdDSA (Ed25519)",
            SigningKey::private_pem(include_str!("../tests/keys/ed25519-private.pem"))
                .expect("fixture"),
            VerifyKey::public_pem(include_str!("../tests/keys/ed25519-public.pem"))
                .expect("fixture"),
            20_000,
        ),
    ];
    for (label, signing, verifying, iterations) in keys {
        let token = Minter::new(&signing)
            .expect("key")
            .mint(&claims)
            .expect("mint");
        let verifier = Verifier::new(AuthConfig {
            key: verifying,
            issuer: "plenary".into(),
            audience: "plenary".into(),
            leeway_secs: 30,
        })
        .expect("key");
        assert!(verifier.verify(&token, NOW).is_ok());
        per_op(&format!("  {label} valid token"), iterations, || {
            black_box(verifier.verify(black_box(&token), NOW)).ok();
        });
    }
}
