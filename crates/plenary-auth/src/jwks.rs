//! Keys from an identity provider's JSON Web Key Set (RFC 7517), chosen by `kid`.
//!
//! An identity provider signs with several keys over time and publishes their public halves as a
//! JWKS; a token names its key in the `kid` header. Each key pins its own algorithm (RS256 for an
//! RSA key, ES256 for a P-256 key, EdDSA for an Ed25519 key): the token's `alg` must match the
//! key it names, so a token can never pick a weaker algorithm or use a key for another one.
//! Symmetric (`oct`) keys are refused: a JWKS published by an identity provider holds public keys,
//! and a shared secret in a file meant to be public would let anyone mint tokens.

use std::collections::BTreeMap;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::keys::KeyError;

/// One usable key of a set: its algorithm and the key itself.
pub(crate) struct SetKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
}

/// Parses and checks a JWKS document: every signing key has a unique `kid` and a supported type.
/// Keys marked `"use": "enc"` (encryption keys an identity provider may list too) are skipped.
pub(crate) fn parse(json: &str) -> Result<BTreeMap<String, SetKey>, KeyError> {
    let set: JwkSet = serde_json::from_str(json).map_err(|_| KeyError::InvalidJwks {
        problem: "not a JSON Web Key Set (an object with a `keys` array of JWKs)".to_owned(),
    })?;
    let mut keys = BTreeMap::new();
    for (i, jwk) in set.keys.iter().enumerate() {
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
            continue;
        }
        let Some(kid) = jwk.common.key_id.clone().filter(|k| !k.is_empty()) else {
            return Err(KeyError::InvalidJwks {
                problem: format!("key #{i} has no `kid`; tokens name their key by `kid`"),
            });
        };
        let invalid = |problem: &str| KeyError::InvalidJwks {
            problem: format!("key `{kid}`: {problem}"),
        };
        let declared = jwk.common.key_algorithm;
        let algorithm = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            AlgorithmParameters::EllipticCurve(_) => {
                return Err(invalid(
                    "only the P-256 curve (ES256) is supported for EC keys",
                ));
            }
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                Algorithm::EdDSA
            }
            AlgorithmParameters::OctetKeyPair(_) => {
                return Err(invalid("only Ed25519 is supported for OKP keys"));
            }
            AlgorithmParameters::OctetKey(_) => {
                return Err(invalid(
                    "a symmetric (`oct`) key has no place in a public key set; use PLENARY_JWT_SECRET for HS256",
                ));
            }
            _ => {
                return Err(invalid(
                    "unsupported key type (RSA, EC P-256 or OKP Ed25519 only)",
                ));
            }
        };
        let matches = matches!(
            (declared, algorithm),
            (None, _)
                | (Some(KeyAlgorithm::RS256), Algorithm::RS256)
                | (Some(KeyAlgorithm::ES256), Algorithm::ES256)
                | (Some(KeyAlgorithm::EdDSA), Algorithm::EdDSA)
        );
        if !matches {
            return Err(invalid(
                "its `alg` is not RS256 (RSA), ES256 (P-256) or EdDSA (Ed25519), the algorithms this server verifies",
            ));
        }
        let key =
            DecodingKey::from_jwk(jwk).map_err(|_| invalid("its key material does not decode"))?;
        // jsonwebtoken slices an Ed25519 key at verification time: a short one must not get there.
        if algorithm == Algorithm::EdDSA && key.try_get_as_bytes().map(<[u8]>::len) != Ok(32) {
            return Err(invalid("an Ed25519 key must be 32 bytes"));
        }
        if keys
            .insert(kid.clone(), SetKey { algorithm, key })
            .is_some()
        {
            return Err(invalid("the `kid` is used twice"));
        }
    }
    if keys.is_empty() {
        return Err(KeyError::InvalidJwks {
            problem: "the set holds no signing key".to_owned(),
        });
    }
    Ok(keys)
}
