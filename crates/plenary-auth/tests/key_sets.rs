//! Keys from an identity provider's JSON Web Key Set: the token's `kid` picks the key, the key
//! pins the algorithm, and a set that cannot be trusted is refused when it is read.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use plenary_auth::{
    AuthConfig, Claims, KeyError, Minter, Role, SigningKey, TokenError, TokenRequest, Verifier,
    VerifyKey,
};

const ISS: &str = "https://idp.example.org";
const AUD: &str = "plenary";
const NOW: u64 = 1_790_000_000;

const JWKS: &str = include_str!("keys/jwks.json");
const JWKS_ROTATED: &str = include_str!("keys/jwks-rotated.json");
const RSA_PRIVATE: &str = include_str!("keys/rsa-private.pem");
const RSA_OTHER_PRIVATE: &str = include_str!("keys/rsa-other-private.pem");
const ES_PRIVATE: &str = include_str!("keys/es256-private.pem");
const ED_PRIVATE: &str = include_str!("keys/ed25519-private.pem");

fn verifier(jwks: &str) -> Verifier {
    Verifier::new(AuthConfig {
        key: VerifyKey::jwks(jwks).unwrap(),
        issuer: ISS.into(),
        audience: AUD.into(),
        leeway_secs: 30,
    })
    .unwrap()
}

fn claims() -> Claims {
    TokenRequest {
        role: Role::Delegate,
        name: "Delegate of Japan".into(),
        sub: Some("idp|jpn-1".into()),
        delegation: Some("JPN".into()),
        groups: vec![],
        docs: vec![],
        ttl: Duration::from_secs(600),
    }
    .into_claims(ISS, AUD, NOW)
    .unwrap()
}

fn signed(private_pem: &str, kid: Option<&str>) -> String {
    let minter = Minter::new(&SigningKey::private_pem(private_pem).unwrap()).unwrap();
    let minter = match kid {
        Some(kid) => minter.with_kid(kid),
        None => minter,
    };
    minter.mint(&claims()).unwrap()
}

#[test]
fn rs256_es256_and_eddsa_tokens_verify_with_the_key_their_kid_names() {
    let v = verifier(JWKS);
    assert_eq!(v.key_ids(), ["ec-2026", "ed-2026", "rsa-2026"]);
    for (pem, kid) in [
        (RSA_PRIVATE, "rsa-2026"),
        (ES_PRIVATE, "ec-2026"),
        (ED_PRIVATE, "ed-2026"),
    ] {
        let p = v.verify(&signed(pem, Some(kid)), NOW).unwrap();
        assert_eq!(
            (p.sub.as_str(), p.delegation.as_deref()),
            ("idp|jpn-1", Some("JPN")),
            "{kid}"
        );
    }
}

#[test]
fn an_unknown_kid_is_refused_with_a_reason_naming_it() {
    let v = verifier(JWKS);
    let err = v
        .verify(&signed(RSA_OTHER_PRIVATE, Some("rsa-2027")), NOW)
        .unwrap_err();
    assert_eq!(
        err,
        TokenError::UnknownKey {
            kid: "rsa-2027".into()
        }
    );
    let said = err.to_string();
    assert!(
        said.contains("`rsa-2027`") && said.contains("does not know"),
        "{said}"
    );
}

#[test]
fn a_token_without_kid_is_refused_by_a_key_set() {
    let err = verifier(JWKS)
        .verify(&signed(RSA_PRIVATE, None), NOW)
        .unwrap_err();
    assert!(
        matches!(err, TokenError::Malformed(m) if m.contains("kid")),
        "{err:?}"
    );
}

#[test]
fn a_token_signed_by_another_key_under_a_known_kid_is_a_bad_signature() {
    let err = verifier(JWKS)
        .verify(&signed(RSA_OTHER_PRIVATE, Some("rsa-2026")), NOW)
        .unwrap_err();
    assert_eq!(err, TokenError::BadSignature);
}

#[test]
fn the_key_pins_the_algorithm_whatever_the_header_says() {
    // An EdDSA token that names the RSA key: refused before any signature check.
    let err = verifier(JWKS)
        .verify(&signed(ED_PRIVATE, Some("rsa-2026")), NOW)
        .unwrap_err();
    assert!(
        matches!(&err, TokenError::AlgorithmNotAllowed { found, expected } if found == "EdDSA" && *expected == "RS256"),
        "{err:?}"
    );
    // HS256 "signed" with the RSA key's public modulus as a secret: the classic confusion.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT","kid":"rsa-2026"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
    let forged = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 32]));
    assert!(matches!(
        verifier(JWKS).verify(&forged, NOW).unwrap_err(),
        TokenError::AlgorithmNotAllowed { .. }
    ));
}

#[test]
fn after_a_rotation_the_new_key_opens_and_the_retired_one_does_not() {
    let rotated = verifier(JWKS_ROTATED);
    rotated
        .verify(&signed(RSA_OTHER_PRIVATE, Some("rsa-2027")), NOW)
        .unwrap();
    assert_eq!(
        rotated
            .verify(&signed(RSA_PRIVATE, Some("rsa-2026")), NOW)
            .unwrap_err(),
        TokenError::UnknownKey {
            kid: "rsa-2026".into()
        }
    );
}

#[test]
fn a_key_set_that_cannot_be_trusted_is_refused_when_read() {
    let refused = |json: &str| match VerifyKey::jwks(json) {
        Err(KeyError::InvalidJwks { problem }) => problem,
        other => panic!("{json} was not refused: {other:?}"),
    };
    assert!(refused("not json").contains("not a JSON Web Key Set"));
    assert!(refused(r#"{"keys":[]}"#).contains("no signing key"));
    assert!(refused(r#"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}"#).contains("symmetric"));
    let rsa: serde_json::Value = serde_json::from_str(JWKS).unwrap();
    let rsa = &rsa["keys"][0];
    let mut no_kid = rsa.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    assert!(refused(&format!(r#"{{"keys":[{no_kid}]}}"#)).contains("no `kid`"));
    assert!(refused(&format!(r#"{{"keys":[{rsa},{rsa}]}}"#)).contains("used twice"));
    let mut ps = rsa.clone();
    ps["alg"] = "PS256".into();
    assert!(refused(&format!(r#"{{"keys":[{ps}]}}"#)).contains("RS256"));
    let short_ed = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","x":"AAAA"}]}"#;
    assert!(refused(short_ed).contains("32 bytes"));
    // An encryption key beside a signing key is skipped, not refused.
    let mut enc = rsa.clone();
    enc["use"] = "enc".into();
    enc["kid"] = "enc-1".into();
    let v = verifier(&format!(r#"{{"keys":[{enc},{rsa}]}}"#));
    assert_eq!(v.key_ids(), ["rsa-2026"]);
}
