//! The web configuration file Prometheus exporters share (exporter-toolkit's `web-config.yml`):
//! TLS from `tls_server_config.cert_file`/`key_file`, basic auth from `basic_auth_users` with
//! bcrypt hashes. Everything is checked at start, so a bad file stops `serve` before it listens;
//! keys sockscope does not implement are refused by name rather than silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use crate::error::Error;

/// Web config files are small; a larger one is not one.
const LIMIT: u64 = 1 << 20;

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
    /// user → bcrypt hash (each checked to be one).
    users: BTreeMap<String, String>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn bad(path: &Path, message: String) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        message,
    }
}

impl WebConfig {
    /// Reads and checks `path`; relative certificate paths are relative to its directory.
    pub fn load(path: &Path) -> Result<WebConfig, Error> {
        let read = |source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read)?;
        if !meta.is_file() || meta.len() > LIMIT {
            return Err(bad(path, "not a regular file of at most 1 MiB".into()));
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
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
            hash.parse::<bcrypt::HashParts>().map_err(|e| {
                bad(
                    path,
                    format!(
                        "basic_auth_users: the hash of user '{user}' is not a bcrypt hash ({e})"
                    ),
                )
            })?;
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let tls = match file.tls_server_config {
            Some(t) => Some(Arc::new(tls_config(
                path,
                &dir.join(t.cert_file),
                &dir.join(t.key_file),
            )?)),
            None => None,
        };
        Ok(WebConfig {
            tls,
            users: file.basic_auth_users,
        })
    }

    /// Whether basic auth is on: every page then asks for a password.
    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    /// Whether an `Authorization` header value names a user with the right password.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some(encoded) = authorization.and_then(|a| a.strip_prefix("Basic ")) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, password)) = text.split_once(':') else {
            return false;
        };
        self.users
            .get(user)
            .is_some_and(|hash| bcrypt::verify(password, hash).unwrap_or(false))
    }
}

fn tls_config(config: &Path, cert: &Path, key: &Path) -> Result<rustls::ServerConfig, Error> {
    let pem = |path: &Path, e: rustls::pki_types::pem::Error| {
        bad(
            config,
            format!("tls_server_config: cannot load '{}': {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem(cert, e))?;
    if certs.is_empty() {
        return Err(bad(
            config,
            format!("tls_server_config: no certificate in '{}'", cert.display()),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem(key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key_der))
        .map_err(|e| bad(config, format!("tls_server_config: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(config.allows(Some(&header("prom:secret"))));
        assert!(!config.allows(Some(&header("prom:wrong"))));
        assert!(!config.allows(Some(&header("other:secret"))));
        assert!(!config.allows(None));
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
