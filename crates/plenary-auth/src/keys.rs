//! The configured keys. The key's kind pins the algorithm: a token's header never chooses it.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
pub const MIN_SECRET_LEN: usize = 32;

/// How the server checks signatures (`PLENARY_JWT_SECRET` or `PLENARY_JWT_PUBLIC_KEY`, SPEC §8).
///
/// `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum VerifyKey {
    /// HS256 with this shared secret (at least 32 bytes).
    Hs256Secret(Vec<u8>),
    /// RS256 with this public key (`-----BEGIN PUBLIC KEY-----` or `RSA PUBLIC KEY`).
    Rs256PublicPem(String),
    /// EdDSA (Ed25519) with this public key (`-----BEGIN PUBLIC KEY-----`).
    EdDsaPublicPem(String),
    /// An identity provider's JSON Web Key Set (checked by [`VerifyKey::jwks`]): a token names its
    /// key by `kid`, and each key pins its algorithm (RS256, ES256 or EdDSA).
    Jwks(String),
}

/// How `plenary token` signs. `Debug` never prints the key material.
#[derive(Clone, PartialEq, Eq)]
pub enum SigningKey {
    Hs256Secret(Vec<u8>),
    Rs256PrivatePem(String),
    EdDsaPrivatePem(String),
    /// ES256 (P-256), as an identity provider may sign; verified through a key set.
    Es256PrivatePem(String),
}

/// Why a configured key cannot be used. Messages describe the problem, never the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the HS256 secret is {len} bytes; it must be at least {min} bytes", min = MIN_SECRET_LEN)]
    SecretTooShort { len: usize },
    #[error("the {expected} key is not a valid PEM-encoded {expected} key")]
    InvalidPem { expected: &'static str },
    #[error(
        "a private key was given where the public key belongs; derive it with `openssl pkey -in key.pem -pubout`"
    )]
    PrivateKeyGiven,
    #[error("the public key is neither an RSA nor an Ed25519 key in PEM format")]
    UnrecognizedPublicKey,
    #[error("the private key is neither an RSA nor an Ed25519 key in PKCS#8 PEM format")]
    UnrecognizedPrivateKey,
    #[error("the JSON Web Key Set cannot be used: {problem}")]
    InvalidJwks { problem: String },
}

impl VerifyKey {
    /// Reads `PLENARY_JWT_PUBLIC_KEY`: an RSA or Ed25519 public key, told apart by the key itself.
    pub fn public_pem(pem: &str) -> Result<VerifyKey, KeyError> {
        if pem.contains("PRIVATE KEY") {
            return Err(KeyError::PrivateKeyGiven);
        }
        if DecodingKey::from_ed_pem(pem.as_bytes()).is_ok() {
            Ok(VerifyKey::EdDsaPublicPem(pem.to_owned()))
        } else if DecodingKey::from_rsa_pem(pem.as_bytes()).is_ok() {
            Ok(VerifyKey::Rs256PublicPem(pem.to_owned()))
        } else {
            Err(KeyError::UnrecognizedPublicKey)
        }
    }

    /// Reads a JSON Web Key Set (`PLENARY_JWT_JWKS`), checking every key in it now so that a
    /// broken set is refused at start-up or reload, never at the first token.
    pub fn jwks(json: &str) -> Result<VerifyKey, KeyError> {
        crate::jwks::parse(json)?;
        Ok(VerifyKey::Jwks(json.to_owned()))
    }

    /// The only algorithm tokens may use with this key: `"HS256"`, `"RS256"` or `"EdDSA"`; for a
    /// key set, each key's own.
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            VerifyKey::Hs256Secret(_) => "HS256",
            VerifyKey::Rs256PublicPem(_) => "RS256",
            VerifyKey::EdDsaPublicPem(_) => "EdDSA",
            VerifyKey::Jwks(_) => {
                "the algorithm of the key its `kid` names (RS256, ES256 or EdDSA)"
            }
        }
    }

    /// The key and its algorithm (a key set has no single key: [`crate::jwks`] reads its keys).
    pub(crate) fn single_key(&self) -> Result<(Algorithm, DecodingKey), KeyError> {
        let algorithm = match self {
            VerifyKey::Hs256Secret(_) => Algorithm::HS256,
            VerifyKey::Rs256PublicPem(_) => Algorithm::RS256,
            VerifyKey::EdDsaPublicPem(_) => Algorithm::EdDSA,
            VerifyKey::Jwks(_) => Algorithm::RS256,
        };
        Ok((algorithm, self.decoding_key()?))
    }

    fn decoding_key(&self) -> Result<DecodingKey, KeyError> {
        match self {
            VerifyKey::Jwks(_) => Err(KeyError::InvalidJwks {
                problem: "a key set has no single key".to_owned(),
            }),
            VerifyKey::Hs256Secret(secret) => {
                check_secret(secret)?;
                Ok(DecodingKey::from_secret(secret))
            }
            VerifyKey::Rs256PublicPem(pem) => {
                if pem.contains("PRIVATE KEY") {
                    return Err(KeyError::PrivateKeyGiven);
                }
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| KeyError::InvalidPem {
                    expected: "RSA public",
                })
            }
            VerifyKey::EdDsaPublicPem(pem) => {
                if pem.contains("PRIVATE KEY") {
                    return Err(KeyError::PrivateKeyGiven);
                }
                let invalid = KeyError::InvalidPem {
                    expected: "Ed25519 public",
                };
                let key = DecodingKey::from_ed_pem(pem.as_bytes()).map_err(|_| invalid.clone())?;
                // jsonwebtoken slices the first 32 bytes at verification time; refuse a short
                // key here rather than let the first token panic the server.
                match key.try_get_as_bytes() {
                    Ok(bytes) if bytes.len() == 32 => Ok(key),
                    _ => Err(invalid),
                }
            }
        }
    }
}

impl SigningKey {
    /// Reads an RSA, Ed25519 or P-256 private key (PKCS#8 PEM, as `openssl genpkey` writes).
    pub fn private_pem(pem: &str) -> Result<SigningKey, KeyError> {
        if EncodingKey::from_ed_pem(pem.as_bytes()).is_ok() {
            Ok(SigningKey::EdDsaPrivatePem(pem.to_owned()))
        } else if EncodingKey::from_ec_pem(pem.as_bytes()).is_ok() {
            Ok(SigningKey::Es256PrivatePem(pem.to_owned()))
        } else if EncodingKey::from_rsa_pem(pem.as_bytes()).is_ok() {
            Ok(SigningKey::Rs256PrivatePem(pem.to_owned()))
        } else {
            Err(KeyError::UnrecognizedPrivateKey)
        }
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            SigningKey::Hs256Secret(_) => Algorithm::HS256,
            SigningKey::Rs256PrivatePem(_) => Algorithm::RS256,
            SigningKey::EdDsaPrivatePem(_) => Algorithm::EdDSA,
            SigningKey::Es256PrivatePem(_) => Algorithm::ES256,
        }
    }

    pub(crate) fn encoding_key(&self) -> Result<EncodingKey, KeyError> {
        match self {
            SigningKey::Hs256Secret(secret) => {
                check_secret(secret)?;
                Ok(EncodingKey::from_secret(secret))
            }
            SigningKey::Rs256PrivatePem(pem) => {
                EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| KeyError::InvalidPem {
                    expected: "RSA private",
                })
            }
            SigningKey::EdDsaPrivatePem(pem) => {
                EncodingKey::from_ed_pem(pem.as_bytes()).map_err(|_| KeyError::InvalidPem {
                    expected: "Ed25519 private",
                })
            }
            SigningKey::Es256PrivatePem(pem) => {
                EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|_| KeyError::InvalidPem {
                    expected: "P-256 private",
                })
            }
        }
    }
}

fn check_secret(secret: &[u8]) -> Result<(), KeyError> {
    if secret.len() < MIN_SECRET_LEN {
        Err(KeyError::SecretTooShort { len: secret.len() })
    } else {
        Ok(())
    }
}

pub(crate) fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::RS256 => "RS256",
        Algorithm::EdDSA => "EdDSA",
        Algorithm::ES256 => "ES256",
        _ => "unsupported",
    }
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyKey::Hs256Secret(s) => write!(f, "Hs256Secret(<{} bytes redacted>)", s.len()),
            VerifyKey::Rs256PublicPem(_) => f.write_str("Rs256PublicPem(..)"),
            VerifyKey::EdDsaPublicPem(_) => f.write_str("EdDsaPublicPem(..)"),
            VerifyKey::Jwks(_) => f.write_str("Jwks(..)"),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigningKey::Hs256Secret(s) => write!(f, "Hs256Secret(<{} bytes redacted>)", s.len()),
            SigningKey::Rs256PrivatePem(_) => f.write_str("Rs256PrivatePem(<redacted>)"),
            SigningKey::EdDsaPrivatePem(_) => f.write_str("EdDsaPrivatePem(<redacted>)"),
            SigningKey::Es256PrivatePem(_) => f.write_str("Es256PrivatePem(<redacted>)"),
        }
    }
}
