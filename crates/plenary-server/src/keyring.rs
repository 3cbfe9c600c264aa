//! The token verifier in use, and its renewal when the identity provider's key set changes.
//!
//! An identity provider rotates its signing keys: it publishes a new key beside the old one, signs
//! with the new one, then retires the old one. The operator drops the new JWKS file in place (or a
//! sidecar does) and the server picks it up without a restart: the file is checked every
//! `jwks_poll` and on SIGHUP. A file that cannot be read or trusted is refused loudly and the keys
//! in use stay, so a botched rotation never locks every delegation out. Connections already open
//! keep running: a token is checked when a connection opens and its `exp` bounds the connection.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use plenary_auth::{AuthConfig, KeyError, Verifier, VerifyKey};

use crate::metrics::Metrics;

/// The verifier requests use now. `current()` is a read lock and an `Arc` clone.
pub(crate) struct Keyring {
    current: RwLock<Arc<Verifier>>,
    /// The configuration the key set is read into (issuer, audience, leeway).
    base: AuthConfig,
    file: Option<PathBuf>,
    /// The bytes behind the verifier in use: a reload only rebuilds when they changed.
    loaded: Mutex<Option<Vec<u8>>>,
}

/// Why a changed key set file was not put in use.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReloadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid UTF-8")]
    NotUtf8 { path: String },
    #[error("{path}: {source}")]
    Keys { path: String, source: KeyError },
}

impl Keyring {
    pub(crate) fn new(auth: AuthConfig, file: Option<PathBuf>) -> Result<Keyring, KeyError> {
        let loaded = match &auth.key {
            VerifyKey::Jwks(json) => Some(json.as_bytes().to_vec()),
            _ => None,
        };
        Ok(Keyring {
            current: RwLock::new(Arc::new(Verifier::new(auth.clone())?)),
            base: auth,
            file,
            loaded: Mutex::new(loaded),
        })
    }

    /// The verifier to check a token with now.
    pub(crate) fn current(&self) -> Arc<Verifier> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Re-reads the key set file; swaps in a new verifier when its bytes changed. Returns the
    /// `kid`s now in use when it did, `None` when nothing changed (or no file is configured).
    pub(crate) fn reload(&self) -> Result<Option<Vec<String>>, ReloadError> {
        let Some(path) = &self.file else {
            return Ok(None);
        };
        let shown = || path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ReloadError::Read {
            path: shown(),
            source,
        })?;
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if loaded.as_deref() == Some(bytes.as_slice()) {
            return Ok(None);
        }
        let json =
            std::str::from_utf8(&bytes).map_err(|_| ReloadError::NotUtf8 { path: shown() })?;
        let keys = |source| ReloadError::Keys {
            path: shown(),
            source,
        };
        let verifier = Verifier::new(AuthConfig {
            key: VerifyKey::jwks(json).map_err(keys)?,
            ..self.base.clone()
        })
        .map_err(keys)?;
        let kids = verifier.key_ids();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(verifier);
        *loaded = Some(bytes);
        Ok(Some(kids))
    }

    /// Whether there is a file to follow.
    pub(crate) fn follows_a_file(&self) -> bool {
        self.file.is_some()
    }
}

/// Follows the key set file until shutdown: every `poll`, and at once on SIGHUP.
pub(crate) async fn follow(
    keyring: Arc<Keyring>,
    metrics: Arc<Metrics>,
    poll: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if !keyring.follows_a_file() {
        return;
    }
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(poll.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let hup = async {
            match hangup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tick.tick() => {}
            _ = hup => tracing::info!("SIGHUP: re-reading the key set"),
            _ = shutdown.changed() => return,
        }
        match keyring.reload() {
            Ok(None) => {}
            Ok(Some(kids)) => {
                metrics.key_reloads.inc();
                tracing::info!(?kids, "key set reloaded");
            }
            Err(e) => {
                metrics.key_reload_failures.inc();
                tracing::error!("key set not reloaded, the keys in use stay: {e}");
            }
        }
    }
}
