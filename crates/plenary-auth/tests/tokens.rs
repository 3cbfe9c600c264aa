//! Token verification: the valid cases per algorithm and every forgery the issue lists.

#![allow(clippy::unwrap_used)] // tests may unwrap (helper-common rules)

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use plenary_auth::{
    AuthConfig, Claims, CommentScope, KeyError, Minter, Principal, Role, SigningKey, TokenError,
    TokenRequest, Verifier, VerifyKey,
};

const SECRET: &[u8] = b"test-only-secret-of-at-least-32-bytes!!";
const ISS: &str = "plenary-test";
const AUD: &str = "plenary";
const NOW: u64 = 1_790_000_000;
const LEEWAY: u64 = 30;

const RSA_PRIVATE: &str = include_str!("keys/rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("keys/rsa-public.pem");
const RSA_OTHER_PRIVATE: &str = include_str!("keys/rsa-other-private.pem");
const ED_PRIVATE: &str = include_str!("keys/ed25519-private.pem");
const ED_PUBLIC: &str = include_str!("keys/ed25519-public.pem");

fn config(key: VerifyKey) -> AuthConfig {
    AuthConfig {
        key,
        issuer: ISS.into(),
        audience: AUD.into(),
        leeway_secs: LEEWAY,
    }
}

fn hs_verifier() -> Verifier {
    Verifier::new(config(VerifyKey::Hs256Secret(SECRET.to_vec()))).unwrap()
}

fn request(role: Role, delegation: Option<&str>) -> TokenRequest {
    TokenRequest {
        role,
        name: "Aiko Tanaka".into(),
        sub: None,
        delegation: delegation.map(Into::into),
        groups: vec!["G77".into()],
        docs: vec!["res-*".into(), "draft-2021".into()],
        ttl: Duration::from_secs(3_600),
    }
}

fn claims() -> Claims {
    request(Role::Delegate, Some("JPN"))
        .into_claims(ISS, AUD, NOW)
        .unwrap()
}

fn hs_token(claims: &Claims) -> String {
    Minter::hs256(SECRET).unwrap().mint(claims).unwrap()
}

/// Builds a token by hand from raw JSON parts, for the forgeries a Minter cannot produce.
fn raw_token(header: &str, payload: &str, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

fn hs256_sign(header: &str, payload: &str, secret: &[u8]) -> String {
    // A real HS256 signature over arbitrary JSON, using jsonwebtoken's own HMAC.
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = jsonwebtoken::EncodingKey::from_secret(secret);
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
            .unwrap();
    format!("{message}.{signature}")
}

#[test]
fn a_valid_hs256_token_yields_the_principal() {
    let principal = hs_verifier()
        .verify(&hs_token(&claims()), NOW + 10)
        .unwrap();
    assert_eq!(
        principal,
        Principal {
            sub: "delegate:JPN:aiko-tanaka".into(),
            name: "Aiko Tanaka".into(),
            role: Role::Delegate,
            delegation: Some("JPN".into()),
            groups: vec!["G77".into()],
            docs: vec!["res-*".into(), "draft-2021".into()],
            expires_at: NOW + 3_600,
        }
    );
}

#[test]
fn valid_rs256_and_eddsa_tokens_verify_with_the_public_key() {
    for (private, public, alg) in [
        (RSA_PRIVATE, RSA_PUBLIC, "RS256"),
        (ED_PRIVATE, ED_PUBLIC, "EdDSA"),
    ] {
        let minter = Minter::new(&SigningKey::private_pem(private).unwrap()).unwrap();
        let verifier = Verifier::new(config(VerifyKey::public_pem(public).unwrap())).unwrap();
        assert_eq!(verifier.algorithm(), alg);
        let principal = verifier
            .verify(&minter.mint(&claims()).unwrap(), NOW)
            .unwrap();
        assert_eq!(principal.delegation.as_deref(), Some("JPN"), "{alg}");
    }
}

#[test]
fn alg_none_is_refused() {
    let payload = serde_json::to_string(&claims()).unwrap();
    let token = raw_token(r#"{"alg":"none","typ":"JWT"}"#, &payload, b"");
    let err = hs_verifier().verify(&token, NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::AlgorithmNotAllowed {
            found: "none".into(),
            expected: "HS256"
        }
    );
    // Without the trailing dot too.
    let stripped = token.trim_end_matches('.').to_owned();
    assert!(hs_verifier().verify(&stripped, NOW).is_err());
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused_by_an_rs256_server() {
    // Algorithm confusion: the attacker knows the public key and uses it as an HMAC secret.
    let payload = serde_json::to_string(&claims()).unwrap();
    let forged = hs256_sign(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &payload,
        RSA_PUBLIC.as_bytes(),
    );
    let verifier = Verifier::new(config(VerifyKey::public_pem(RSA_PUBLIC).unwrap())).unwrap();
    assert_eq!(
        verifier.verify(&forged, NOW).unwrap_err(),
        TokenError::AlgorithmNotAllowed {
            found: "HS256".into(),
            expected: "RS256"
        }
    );
}

#[test]
fn an_rs256_token_is_refused_by_an_hs256_server() {
    let minter = Minter::new(&SigningKey::private_pem(RSA_PRIVATE).unwrap()).unwrap();
    let err = hs_verifier()
        .verify(&minter.mint(&claims()).unwrap(), NOW)
        .unwrap_err();
    assert!(
        matches!(err, TokenError::AlgorithmNotAllowed { ref found, .. } if found == "RS256"),
        "{err}"
    );
}

#[test]
fn wrong_secret_or_wrong_rsa_key_is_a_bad_signature() {
    let other = Minter::hs256(b"another-secret-that-is-32-bytes-long!!").unwrap();
    assert_eq!(
        hs_verifier().verify(&other.mint(&claims()).unwrap(), NOW),
        Err(TokenError::BadSignature)
    );

    let other_rsa = Minter::new(&SigningKey::private_pem(RSA_OTHER_PRIVATE).unwrap()).unwrap();
    let verifier = Verifier::new(config(VerifyKey::public_pem(RSA_PUBLIC).unwrap())).unwrap();
    assert_eq!(
        verifier.verify(&other_rsa.mint(&claims()).unwrap(), NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn a_tampered_payload_is_a_bad_signature() {
    let token = hs_token(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut promoted = claims();
    promoted.role = Role::Chair;
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_string(&promoted).unwrap());
    let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    assert_eq!(
        hs_verifier().verify(&tampered, NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn expiry_is_checked_against_the_given_clock_with_leeway() {
    let token = hs_token(&claims());
    let exp = NOW + 3_600;
    assert!(hs_verifier().verify(&token, exp).is_ok());
    assert!(
        hs_verifier().verify(&token, exp + LEEWAY).is_ok(),
        "within leeway"
    );
    assert_eq!(
        hs_verifier().verify(&token, exp + LEEWAY + 1),
        Err(TokenError::Expired { at: exp })
    );
}

#[test]
fn a_token_not_yet_valid_is_refused_outside_leeway() {
    let mut future = claims();
    future.nbf = Some(NOW + 600);
    let token = hs_token(&future);
    assert_eq!(
        hs_verifier().verify(&token, NOW),
        Err(TokenError::NotYetValid { at: NOW + 600 })
    );
    assert!(
        hs_verifier().verify(&token, NOW + 600 - LEEWAY).is_ok(),
        "within leeway"
    );
}

#[test]
fn wrong_audience_and_issuer_are_named() {
    let mut aud = claims();
    aud.aud = "another-service".into();
    assert_eq!(
        hs_verifier().verify(&hs_token(&aud), NOW),
        Err(TokenError::WrongAudience)
    );
    let mut iss = claims();
    iss.iss = "someone-else".into();
    assert_eq!(
        hs_verifier().verify(&hs_token(&iss), NOW),
        Err(TokenError::WrongIssuer)
    );
}

#[test]
fn a_delegate_token_without_delegation_is_refused() {
    let mut c = claims();
    c.delegation = None;
    assert_eq!(
        hs_verifier().verify(&hs_token(&c), NOW),
        Err(TokenError::MissingClaim("delegation"))
    );
    // And a request for one is refused before it is minted.
    assert!(
        request(Role::Delegate, None)
            .into_claims(ISS, AUD, NOW)
            .is_err()
    );
    // Other roles need none.
    let chair = request(Role::Chair, None)
        .into_claims(ISS, AUD, NOW)
        .unwrap();
    assert_eq!(
        hs_verifier().verify(&hs_token(&chair), NOW).unwrap().role,
        Role::Chair
    );
}

#[test]
fn claims_with_the_wrong_shape_are_named() {
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let base = format!(r#""iss":"{ISS}","aud":"{AUD}","exp":{}"#, NOW + 60);
    let cases = [
        (
            format!(r#"{{{base},"sub":"s","name":"n"}}"#),
            TokenError::MissingClaim("role"),
        ),
        (
            format!(r#"{{{base},"sub":"s","name":"n","role":"admin"}}"#),
            TokenError::InvalidClaim {
                claim: "role",
                problem: "must be chair, secretariat, delegate or observer",
            },
        ),
        (
            format!(r#"{{{base},"name":"n","role":"chair"}}"#),
            TokenError::MissingClaim("sub"),
        ),
        (
            format!(r#"{{{base},"sub":"s","name":"n","role":"chair","groups":"EU"}}"#),
            TokenError::InvalidClaim {
                claim: "groups",
                problem: "must be an array of strings",
            },
        ),
        (
            format!(r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"s","name":"n","role":"chair"}}"#),
            TokenError::MissingClaim("exp"),
        ),
    ];
    for (payload, expected) in cases {
        assert_eq!(
            hs_verifier().verify(&hs256_sign(header, &payload, SECRET), NOW),
            Err(expected),
            "{payload}"
        );
    }
}

#[test]
fn garbage_is_malformed_and_messages_leak_nothing() {
    for junk in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.e30.x",
        &"x".repeat(10_000),
    ] {
        let err = hs_verifier().verify(junk, NOW).unwrap_err();
        assert!(
            matches!(err, TokenError::Malformed(_)),
            "{junk:.20}: {err:?}"
        );
    }
    let token = hs_token(&claims());
    let secret = std::str::from_utf8(SECRET).unwrap();
    for err in [
        hs_verifier().verify(&token, NOW + 100_000).unwrap_err(),
        Verifier::new(config(VerifyKey::Hs256Secret(
            b"another-secret-that-is-32-bytes-long!!".to_vec(),
        )))
        .unwrap()
        .verify(&token, NOW)
        .unwrap_err(),
    ] {
        let message = err.to_string();
        assert!(
            !message.contains(&token) && !message.contains(secret),
            "{message}"
        );
    }
    assert!(!format!("{:?}", VerifyKey::Hs256Secret(SECRET.to_vec())).contains(secret));
}

#[test]
fn unusable_keys_are_refused_at_configuration() {
    assert_eq!(
        Verifier::new(config(VerifyKey::Hs256Secret(b"short".to_vec()))).unwrap_err(),
        KeyError::SecretTooShort { len: 5 }
    );
    assert_eq!(
        VerifyKey::public_pem(RSA_PRIVATE),
        Err(KeyError::PrivateKeyGiven)
    );
    assert_eq!(
        VerifyKey::public_pem("not a key"),
        Err(KeyError::UnrecognizedPublicKey)
    );
    assert!(matches!(
        VerifyKey::public_pem(ED_PUBLIC),
        Ok(VerifyKey::EdDsaPublicPem(_))
    ));
    assert!(matches!(
        VerifyKey::public_pem(RSA_PUBLIC),
        Ok(VerifyKey::Rs256PublicPem(_))
    ));
    assert!(Verifier::new(config(VerifyKey::Rs256PublicPem(ED_PUBLIC.into()))).is_err());
    assert!(Minter::hs256(b"short").is_err());
}

#[test]
fn docs_patterns_open_documents_and_their_comment_scopes() {
    let p = hs_verifier().verify(&hs_token(&claims()), NOW).unwrap();
    assert!(p.may_open("res-2021-l4"));
    assert!(p.may_open("draft-2021"));
    assert!(!p.may_open("draft-2022"));
    assert!(!p.may_open("other"));
    // Comment documents follow their resolution, within the principal's scopes only.
    assert!(p.may_open("res-2021-l4/comments/public"));
    assert!(p.may_open("draft-2021/comments/group/G77"));
    assert!(p.may_open("res-2021-l4/comments/delegation/JPN"));
    assert!(!p.may_open("res-2021-l4/comments/delegation/FRA"));
    assert!(!p.may_open("res-2021-l4/comments/group/EU"));
    assert!(!p.may_open("other/comments/public"));
    assert!(
        !p.may_open("res-2021-l4/comments/private"),
        "not a scope, and `*` does not cross `/`"
    );
    assert_eq!(
        p.comment_scopes(),
        vec![
            CommentScope::Public,
            CommentScope::Group("G77".into()),
            CommentScope::Delegation("JPN".into())
        ]
    );
}

#[test]
fn ttl_requests_become_expiry() {
    let ttl = plenary_auth::parse_ttl("8h").unwrap();
    let c = TokenRequest {
        ttl,
        ..request(Role::Observer, None)
    }
    .into_claims(ISS, AUD, NOW)
    .unwrap();
    assert_eq!((c.iat, c.nbf, c.exp), (NOW, Some(NOW), NOW + 8 * 3_600));
    assert_eq!(c.sub, "observer:aiko-tanaka");
}

#[test]
fn a_crit_header_is_refused_even_with_a_good_signature() {
    let payload = serde_json::to_string(&claims()).unwrap();
    for header in [
        r#"{"alg":"HS256","typ":"JWT","crit":["exp"]}"#,
        r#"{"alg":"HS256","typ":"JWT","crit":["urn:example:unknown"],"urn:example:unknown":1}"#,
        r#"{"alg":"HS256","crit":[]}"#,
    ] {
        let token = hs256_sign(header, &payload, SECRET);
        let err = hs_verifier().verify(&token, NOW + 10).unwrap_err();
        assert!(
            matches!(err, TokenError::Malformed(m) if m.contains("crit")),
            "{header}: {err:?}"
        );
    }
    // The same claims without `crit` verify: only the header made the difference.
    let token = hs256_sign(r#"{"alg":"HS256","typ":"JWT"}"#, &payload, SECRET);
    hs_verifier().verify(&token, NOW + 10).unwrap();
}

#[test]
fn a_renewable_token_may_be_expired_within_the_grace_but_nothing_else_is_relaxed() {
    let v = hs_verifier();
    let c = claims();
    let token = hs_token(&c);
    const DAY: u64 = 24 * 3600;
    // Expired an hour ago: `verify` refuses, `verify_renewable` accepts and says when it was issued.
    let later = c.exp + 3_600;
    assert!(matches!(
        v.verify(&token, later),
        Err(TokenError::Expired { .. })
    ));
    let r = v.verify_renewable(&token, later, DAY).unwrap();
    assert_eq!(r.principal.sub, c.sub);
    assert_eq!(r.principal.expires_at, c.exp);
    assert_eq!(r.issued_at, Some(c.iat));
    // Past the grace: refused.
    assert!(matches!(
        v.verify_renewable(&token, c.exp + DAY + LEEWAY + 1, DAY),
        Err(TokenError::Expired { .. })
    ));
    // Another secret, issuer or audience: refused as by `verify`.
    let other = Minter::hs256(b"another-secret-of-at-least-32-bytes-long!")
        .unwrap()
        .mint(&c)
        .unwrap();
    assert_eq!(
        v.verify_renewable(&other, later, DAY),
        Err(TokenError::BadSignature)
    );
    let mut wrong_iss = c.clone();
    wrong_iss.iss = "someone-else".into();
    assert_eq!(
        v.verify_renewable(&hs_token(&wrong_iss), later, DAY),
        Err(TokenError::WrongIssuer)
    );
    let mut wrong_aud = c.clone();
    wrong_aud.aud = "another-app".into();
    assert_eq!(
        v.verify_renewable(&hs_token(&wrong_aud), later, DAY),
        Err(TokenError::WrongAudience)
    );
}
