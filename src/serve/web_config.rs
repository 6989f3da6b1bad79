//! The web configuration file Prometheus exporters share (exporter-toolkit's `web-config.yml`):
//! TLS from `tls_server_config.cert_file`/`key_file`, basic auth from `basic_auth_users` with
//! bcrypt hashes. Everything is checked at start, so a bad file stops `serve` before it listens;
//! keys sockscope does not implement are refused by name rather than silently ignored. Every
//! file is opened without blocking and read only if it is a regular file, at most 1 MiB of it
//! (`collect::bounded`): a FIFO or `/dev/zero` named as a certificate is refused, naming it.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::auth::{Check, Users};
use crate::collect::bounded;
use crate::error::Error;

/// Web config files, certificates and keys are small; a larger one is not one.
const LIMIT: u64 = 1 << 20;
/// The costliest bcrypt hash taken: htpasswd's largest. Each step doubles the time of every
/// verification; 31, which Go's bcrypt takes, is hours of a CPU per request.
const MAX_COST: u32 = 17;
/// The cheapest bcrypt allows.
const MIN_COST: u32 = 4;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: PathBuf,
    key_file: PathBuf,
}

/// The checked configuration.
#[derive(Clone, Default)]
pub struct WebConfig {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    users: Arc<Users>,
    /// What is wrong but not fatal (a private key others can read): said at start.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &!self.users.is_empty())
            .finish()
    }
}

fn bad(path: &Path, message: String) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        message,
    }
}

/// A regular file's bytes, at most [`LIMIT`], opened without blocking; and its mode.
fn read_small(path: &Path) -> io::Result<(Vec<u8>, u32)> {
    let file = bounded::open_regular(path, true)?;
    let mode = file.metadata()?.permissions().mode();
    Ok((bounded::read_capped(file, LIMIT)?, mode))
}

/// Refuses what is not a bcrypt hash sockscope can verify in reasonable time.
fn check_hash(user: &str, hash: &str) -> Result<(), String> {
    let is = |what: String| format!("basic_auth_users: the hash of user '{user}' {what}");
    let prefix = hash
        .get(..4)
        .filter(|p| p.starts_with("$2") && p.ends_with('$'));
    match prefix {
        Some("$2a$" | "$2b$" | "$2y$") => {}
        Some(other) => {
            return Err(is(format!(
                "starts with '{}': sockscope takes bcrypt's $2a$, $2b$ and $2y$",
                other.escape_debug()
            )));
        }
        None => return Err(is("is not a bcrypt hash".into())),
    }
    let parts = hash
        .parse::<bcrypt::HashParts>()
        .map_err(|e| is(format!("is not a bcrypt hash ({e})")))?;
    let cost = parts.get_cost();
    if !(MIN_COST..=MAX_COST).contains(&cost) {
        return Err(is(format!(
            "has cost {cost:02}: sockscope takes {MIN_COST} to {MAX_COST} (htpasswd's range); \
             each step doubles the time of every verification"
        )));
    }
    Ok(())
}

impl WebConfig {
    /// Reads and checks `path`; relative certificate paths are relative to its directory.
    pub fn load(path: &Path) -> Result<WebConfig, Error> {
        let (bytes, _) = read_small(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| bad(path, "is not UTF-8 text".into()))?;
        WebConfig::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<WebConfig, Error> {
        // An empty file is a valid (empty) configuration, as in exporter-toolkit.
        let file: File = if text.trim().is_empty() {
            File {
                tls_server_config: None,
                basic_auth_users: BTreeMap::new(),
            }
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| bad(path, e.to_string()))?
        };
        for (user, hash) in &file.basic_auth_users {
            check_hash(user, hash).map_err(|message| bad(path, message))?;
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut warnings = Vec::new();
        let tls = match file.tls_server_config {
            Some(t) => Some(Arc::new(tls_config(
                path,
                &dir.join(t.cert_file),
                &dir.join(t.key_file),
                &mut warnings,
            )?)),
            None => None,
        };
        Ok(WebConfig {
            tls,
            users: Arc::new(Users::new(file.basic_auth_users)),
            warnings,
        })
    }

    /// Whether basic auth is on: every page then asks for a password.
    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    /// What an `Authorization` header is worth (see [`Users::check`]).
    pub fn check(&self, authorization: Option<&str>) -> Check {
        self.users.check(authorization)
    }
}

fn tls_config(
    config: &Path,
    cert: &Path,
    key: &Path,
    warnings: &mut Vec<String>,
) -> Result<rustls::ServerConfig, Error> {
    let cannot = |path: &Path, e: &dyn std::fmt::Display| {
        bad(
            config,
            format!("tls_server_config: cannot load '{}': {e}", path.display()),
        )
    };
    let (cert_pem, _) = read_small(cert).map_err(|e| cannot(cert, &e))?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cannot(cert, &e))?;
    if certs.is_empty() {
        return Err(bad(
            config,
            format!("tls_server_config: no certificate in '{}'", cert.display()),
        ));
    }
    let (key_pem, mode) = read_small(key).map_err(|e| cannot(key, &e))?;
    if mode & 0o077 != 0 {
        warnings.push(format!(
            "the private key '{}': other users can read it (mode {:04o}); chmod 600 it",
            key.display(),
            mode & 0o7777
        ));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| cannot(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key_der))
        .map_err(|e| bad(config, format!("tls_server_config: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn parse(text: &str) -> Result<WebConfig, String> {
        WebConfig::parse(Path::new("web.yml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn basic_auth_checks_the_bcrypt_hash() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let config = parse(&format!("basic_auth_users:\n  prom: '{hash}'\n")).unwrap();
        let header = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        let verified = |credentials: &str| match config.check(Some(&header(credentials))) {
            Check::Verify(claim) => claim.verify(),
            Check::Verdict(_) => panic!("{credentials} not verified"),
        };
        assert!(verified("prom:secret"));
        assert!(!verified("prom:wrong"));
        assert!(matches!(
            config.check(None),
            Check::Verdict(super::super::auth::Verdict::Denied)
        ));
    }

    /// A hash with `prefix` and `cost` (its salt and digest from a real cost-4 hash: bcrypt
    /// checks neither until it verifies).
    fn hash_with(prefix: &str, cost: u32) -> String {
        let real = bcrypt::hash("secret", 4).unwrap();
        format!("${prefix}${cost:02}${}", &real[7..])
    }

    /// Costs past htpasswd's 17 take hours to verify (31) or cannot be verified at all (99),
    /// and `$2x$` is crypt_blowfish's flag for its old sign-extension bug: refused at load,
    /// naming the user.
    #[test]
    fn hashes_with_unsafe_costs_or_unknown_prefixes_are_refused_naming_the_user() {
        for (hash, why) in [
            (hash_with("2b", 31), "cost 31"),
            (hash_with("2b", 99), "cost 99"),
            (hash_with("2b", 18), "cost 18"),
            (hash_with("2b", 3), "cost 03"),
            (hash_with("2x", 10), "'$2x$'"),
            (hash_with("2c", 10), "'$2c$'"),
        ] {
            let e = parse(&format!("basic_auth_users:\n  prom: '{hash}'\n")).unwrap_err();
            assert!(e.contains("user 'prom'") && e.contains(why), "{hash}: {e}");
        }
        for prefix in ["2a", "2b", "2y"] {
            let hash = hash_with(prefix, 17);
            assert!(parse(&format!("basic_auth_users:\n  prom: '{hash}'\n")).is_ok());
        }
    }

    #[test]
    fn bad_files_name_what_is_wrong() {
        let e = parse("basic_auth_users:\n  prom: notahash\n").unwrap_err();
        assert!(e.contains("user 'prom' is not a bcrypt hash"), "{e}");
        let e = parse("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: k\n")
            .unwrap_err();
        assert!(e.contains("cannot load '/nonexistent.crt'"), "{e}");
        let e = parse("http_server_config:\n  http2: true\n").unwrap_err();
        assert!(e.contains("unknown field `http_server_config`"), "{e}");
        assert!(parse("").unwrap().tls.is_none());
    }
}
