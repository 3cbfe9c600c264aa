//! Tokens for tests, signed with the secret every [`crate::TestServer`] uses.

use std::time::Duration;

use plenary_auth::{Claims, Minter, Role, TokenRequest};

/// The HS256 secret of test servers.
pub const TEST_SECRET: &str = "plenary-test-secret-0123456789-abcdefghijklmnop";
pub const TEST_ISSUER: &str = "plenary";
pub const TEST_AUDIENCE: &str = "plenary";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Who a test token speaks for.
#[derive(Debug, Clone)]
pub struct Who {
    pub role: Role,
    pub name: String,
    pub delegation: Option<String>,
    pub groups: Vec<String>,
    pub docs: Vec<String>,
    /// How long a token minted for this `Who` is valid (default an hour).
    pub ttl: Duration,
}

impl Who {
    pub fn chair() -> Who {
        Who::new(Role::Chair, "Chair", None)
    }
    pub fn secretariat() -> Who {
        Who::new(Role::Secretariat, "Secretariat", None)
    }
    pub fn delegate(delegation: &str) -> Who {
        Who::new(
            Role::Delegate,
            &format!("Delegate of {delegation}"),
            Some(delegation),
        )
    }
    pub fn observer() -> Who {
        Who::new(Role::Observer, "Observer", None)
    }
    fn new(role: Role, name: &str, delegation: Option<&str>) -> Who {
        Who {
            role,
            name: name.into(),
            delegation: delegation.map(str::to_string),
            groups: vec![],
            docs: vec!["*".into()],
            ttl: Duration::from_secs(3600),
        }
    }
    pub fn groups(mut self, groups: &[&str]) -> Who {
        self.groups = groups.iter().map(|g| g.to_string()).collect();
        self
    }
    pub fn docs(mut self, docs: &[&str]) -> Who {
        self.docs = docs.iter().map(|g| g.to_string()).collect();
        self
    }
    /// Tokens valid for `ttl` from now (whole seconds, at least one), for expiry tests.
    pub fn ttl(mut self, ttl: Duration) -> Who {
        self.ttl = ttl;
        self
    }
    pub fn named(mut self, name: &str) -> Who {
        self.name = name.into();
        self
    }

    /// The claims of a token valid from now for [`Who::ttl`] (an hour unless set).
    pub fn claims(&self) -> Claims {
        TokenRequest {
            role: self.role,
            name: self.name.clone(),
            sub: None,
            delegation: self.delegation.clone(),
            groups: self.groups.clone(),
            docs: self.docs.clone(),
            ttl: self.ttl,
        }
        .into_claims(TEST_ISSUER, TEST_AUDIENCE, now())
        .expect("valid test claims")
    }

    /// A token test servers accept.
    pub fn token(&self) -> String {
        sign(&self.claims())
    }
}

/// Signs arbitrary claims with the test secret (for forged-claim tests).
pub fn sign(claims: &Claims) -> String {
    Minter::hs256(TEST_SECRET.as_bytes())
        .expect("test secret")
        .mint(claims)
        .expect("sign")
}
