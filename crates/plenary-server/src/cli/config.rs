//! Resolving the configuration shared by `serve` and `token`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use plenary_auth::{AuthConfig, SigningKey, VerifyKey};
use serde::Deserialize;

use super::limits::LimitArgs;

/// Flags shared by every command that needs the token configuration.
#[derive(Debug, Clone, Args)]
pub(crate) struct CommonArgs {
    /// TOML file with any of the settings below (keys as the long flags, with `_`).
    #[arg(long, env = "PLENARY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the embedded store (and the development secret) live.
    #[arg(long, env = "PLENARY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Development mode: with no secret configured, make one in the data directory.
    #[arg(long, env = "PLENARY_DEV")]
    pub dev: bool,
    /// Expected `iss` of tokens.
    #[arg(long, env = "PLENARY_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Expected `aud` of tokens.
    #[arg(long, env = "PLENARY_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Clock skew tolerated on a token's `exp` and `nbf`, in seconds (default 30). A connection
    /// is closed at its token's `exp` plus this.
    #[arg(long, env = "PLENARY_JWT_LEEWAY_SECS")]
    pub jwt_leeway_secs: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[arg(long, env = "PLENARY_BIND")]
    pub bind: Option<String>,
    /// 0 picks a free port (printed on start).
    #[arg(long, env = "PLENARY_PORT")]
    pub port: Option<u16>,
    /// Use Redis as the store and the bus between nodes: one Redis (`redis://host:6379/`) or a
    /// Redis Cluster by seed nodes (`redis+cluster://h1:p1,h2:p2`); `?replicas=N` acknowledges
    /// an update only once N replicas hold it.
    #[arg(long, env = "PLENARY_REDIS")]
    pub redis: Option<String>,
    #[arg(long, env = "PLENARY_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    #[arg(long, env = "PLENARY_OUTGOING_QUEUE")]
    pub outgoing_queue: Option<usize>,
    #[arg(long, env = "PLENARY_ROOM_IDLE_SECS")]
    pub room_idle_secs: Option<u64>,
    /// Seconds without an update after which a loaded document drops its effect index, rebuilt
    /// on the next update at the cost of a load (default 60).
    #[arg(long, env = "PLENARY_INDEX_QUIET_SECS")]
    pub index_quiet_secs: Option<u64>,
    #[arg(long, env = "PLENARY_SNAPSHOT_EVERY")]
    pub snapshot_every: Option<u64>,
    /// Most structs one update may hold (default 20000).
    #[arg(long, env = "PLENARY_MAX_UPDATE_STRUCTS")]
    pub max_update_structs: Option<usize>,
    #[arg(long, env = "PLENARY_NODE_ID")]
    pub node_id: Option<String>,
    /// Directory of the web editor's files (default: the bundle committed in web/dist).
    #[arg(long, env = "PLENARY_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// Do not create the demo document when the store is empty.
    #[arg(long, env = "PLENARY_NO_DEMO")]
    pub no_demo: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The TOML config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub dev: Option<bool>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub jwt_leeway_secs: Option<u64>,
    pub jwt_secret: Option<String>,
    pub jwt_public_key: Option<String>,
    pub jwt_jwks: Option<PathBuf>,
    pub metrics_token: Option<String>,
    pub bind: Option<String>,
    pub port: Option<u16>,
    pub redis: Option<String>,
    pub max_message_bytes: Option<usize>,
    pub outgoing_queue: Option<usize>,
    pub room_idle_secs: Option<u64>,
    pub index_quiet_secs: Option<u64>,
    pub snapshot_every: Option<u64>,
    pub max_update_structs: Option<usize>,
    pub node_id: Option<String>,
    pub web_dir: Option<PathBuf>,
    /// The limit keys (`max_connections`, …), split off before the rest is parsed.
    #[serde(skip)]
    pub limits: LimitArgs,
}

impl FileConfig {
    pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        let context = || format!("parsing config file {}", path.display());
        let mut table: toml::Table = toml::from_str(&text).with_context(context)?;
        // The limits are their own struct (declared once, in cli/limits.rs); both halves still
        // refuse unknown keys.
        let mut limits = toml::Table::new();
        for key in LimitArgs::KEYS {
            if let Some(v) = table.remove(*key) {
                limits.insert((*key).to_string(), v);
            }
        }
        let mut config: FileConfig = table.try_into().with_context(context)?;
        config.limits = limits.try_into().with_context(context)?;
        Ok(config)
    }
}

/// The token configuration, resolved.
pub(crate) struct TokenConfig {
    pub verify: AuthConfig,
    /// Present when the server holds a key that can sign (HS256 secret).
    pub signing: Option<SigningKey>,
    /// Where the secret came from, for the startup banner.
    pub source: String,
    /// The JSON Web Key Set file, re-read on change (`PLENARY_JWT_JWKS`).
    pub jwks_file: Option<PathBuf>,
}

pub(crate) const DEFAULT_ISSUER: &str = "plenary";
pub(crate) const DEFAULT_AUDIENCE: &str = "plenary";
pub(crate) const DEFAULT_LEEWAY_SECS: u64 = 30;
const DEV_SECRET_FILE: &str = "dev-jwt-secret";

pub(crate) fn data_dir(common: &CommonArgs, file: &FileConfig) -> PathBuf {
    common
        .data_dir
        .clone()
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("./data"))
}

fn leeway(common: &CommonArgs, file: &FileConfig) -> u64 {
    common
        .jwt_leeway_secs
        .or(file.jwt_leeway_secs)
        .unwrap_or(DEFAULT_LEEWAY_SECS)
}

/// `minting`: `plenary token` also uses a development secret that `serve
/// --dev` already made in the data directory, so its tokens open that server.
pub(crate) fn token_config(
    common: &CommonArgs,
    file: &FileConfig,
    minting: bool,
) -> anyhow::Result<TokenConfig> {
    let issuer = common
        .jwt_issuer
        .clone()
        .or_else(|| file.jwt_issuer.clone())
        .unwrap_or_else(|| DEFAULT_ISSUER.into());
    let audience = common
        .jwt_audience
        .clone()
        .or_else(|| file.jwt_audience.clone())
        .unwrap_or_else(|| DEFAULT_AUDIENCE.into());
    let secret = std::env::var("PLENARY_JWT_SECRET")
        .ok()
        .or_else(|| file.jwt_secret.clone());
    let public = std::env::var("PLENARY_JWT_PUBLIC_KEY")
        .ok()
        .or_else(|| file.jwt_public_key.clone());
    let jwks = std::env::var_os("PLENARY_JWT_JWKS")
        .map(PathBuf::from)
        .or_else(|| file.jwt_jwks.clone());
    let dev = common.dev
        || file.dev.unwrap_or(false)
        || (minting && data_dir(common, file).join(DEV_SECRET_FILE).is_file());
    if let Some(path) = jwks {
        if secret.is_some() || public.is_some() {
            bail!("set one of PLENARY_JWT_SECRET, PLENARY_JWT_PUBLIC_KEY and PLENARY_JWT_JWKS");
        }
        let json = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the JSON Web Key Set {}", path.display()))?;
        let key = VerifyKey::jwks(&json)?;
        return Ok(TokenConfig {
            verify: AuthConfig {
                key,
                issuer,
                audience,
                leeway_secs: leeway(common, file),
            },
            signing: None,
            source: format!(
                "PLENARY_JWT_JWKS {} (re-read on change or SIGHUP)",
                path.display()
            ),
            jwks_file: Some(path),
        });
    }
    let (key, signing, source) = match (secret, public) {
        (Some(_), Some(_)) => bail!("set PLENARY_JWT_SECRET or PLENARY_JWT_PUBLIC_KEY, not both"),
        (Some(secret), None) => (
            VerifyKey::Hs256Secret(secret.clone().into_bytes()),
            Some(SigningKey::Hs256Secret(secret.into_bytes())),
            "PLENARY_JWT_SECRET (HS256)".to_string(),
        ),
        (None, Some(public)) => {
            // The value is the PEM itself or a path to it.
            let pem = if public.contains("-----BEGIN") {
                public
            } else {
                std::fs::read_to_string(&public)
                    .with_context(|| format!("reading public key file {public}"))?
            };
            (
                VerifyKey::public_pem(&pem)?,
                None,
                "PLENARY_JWT_PUBLIC_KEY".to_string(),
            )
        }
        (None, None) if dev => {
            let dir = data_dir(common, file);
            let secret = dev_secret(&dir)?;
            (
                VerifyKey::Hs256Secret(secret.clone().into_bytes()),
                Some(SigningKey::Hs256Secret(secret.into_bytes())),
                format!(
                    "development secret in {}",
                    dir.join(DEV_SECRET_FILE).display()
                ),
            )
        }
        (None, None) => bail!(
            "no token key configured: set PLENARY_JWT_SECRET (HS256), PLENARY_JWT_PUBLIC_KEY \
             (RS256/EdDSA) or PLENARY_JWT_JWKS (an identity provider's key set), or run with --dev \
             to use a development secret"
        ),
    };
    Ok(TokenConfig {
        verify: AuthConfig {
            key,
            issuer,
            audience,
            leeway_secs: leeway(common, file),
        },
        signing,
        source,
        jwks_file: None,
    })
}

/// The development secret of a data directory, made on first use.
fn dev_secret(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join(DEV_SECRET_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_string();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let secret: String = (0..48)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rand::random_range(0..36)]))
        .collect();
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(secret)
}
