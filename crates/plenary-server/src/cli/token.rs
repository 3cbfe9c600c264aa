//! `plenary token`: mint a token from the configured secret.

use anyhow::{Context, bail};
use clap::Args;
use plenary_auth::{Minter, Role, TokenRequest, parse_ttl};

use super::config::{CommonArgs, FileConfig, token_config};

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// chair | secretariat | delegate | observer
    #[arg(long)]
    pub role: Role,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Delegation code (required for delegates), e.g. JPN.
    #[arg(long)]
    pub delegation: Option<String>,
    /// Groups, comma-separated, e.g. EU,G77.
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// Documents (names or globs) the token opens, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub docs: Vec<String>,
    /// Time to live: 90s, 30m, 8h, 2d.
    #[arg(long, default_value = "8h")]
    pub ttl: String,
    /// Stable user id (default: derived from role, delegation and name).
    #[arg(long)]
    pub sub: Option<String>,
}

pub(crate) fn token(args: TokenArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.common.config.as_deref())?;
    let cfg = token_config(&args.common, &file, true)?;
    let Some(signing) = cfg.signing else {
        bail!(
            "the server verifies with a public key; mint tokens with the matching private key at your identity provider"
        )
    };
    let ttl = parse_ttl(&args.ttl)?;
    let request = TokenRequest {
        role: args.role,
        name: args.name,
        sub: args.sub,
        delegation: args.delegation,
        groups: args.groups,
        docs: args.docs,
        ttl,
    };
    let claims = request.into_claims(&cfg.verify.issuer, &cfg.verify.audience, unix_now())?;
    let token = Minter::new(&signing)?
        .mint(&claims)
        .context("signing the token")?;
    println!("{token}");
    Ok(())
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
