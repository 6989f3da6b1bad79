//! Basic auth against bcrypt hashes, as exporter-toolkit checks them, without saying which
//! users exist and without letting wrong passwords take the CPUs:
//!
//! - an unknown user is verified against a known user's hash (the costliest), so it takes as
//!   long as a known one, and is refused whatever it sends;
//! - a verified user and password are remembered (by a salted SHA-256, never in clear), so a
//!   scraper costs one verification per process, not one per scrape;
//! - one verification runs at a time, and after a failed one that took `t` none starts for
//!   `3t`: wrong passwords use at most a quarter of one CPU. A request that finds the verifier
//!   taken is told to retry (429), after a pause the door holds it for.
//!
//! It never logs a password, and keeps none past its request.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;

/// Verified credentials remembered at most; past it the memory starts again.
const REMEMBERED: usize = 256;
/// A failed verification that took `t` keeps the verifier shut for `FAILURE_PAUSE * t`.
const FAILURE_PAUSE: u32 = 3;
/// How long the door holds a request refused for a busy verifier before answering 429, so
/// that a client looping on refusals costs a request a pause, not the CPUs.
const BUSY_PAUSE: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(1));

/// What a request's `Authorization` header is worth, when that costs no verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    /// Not verified: another verification runs, or failures keep the verifier shut. Answer
    /// 429 after the pause.
    Busy(Duration),
}

/// What [`Users::check`] found.
pub enum Check {
    Verdict(Verdict),
    /// The password must be verified, and the verifier is this request's.
    Verify(Claim),
}

#[derive(Default)]
struct Gate {
    verifying: bool,
    shut_until: Option<Instant>,
}

#[derive(Default)]
pub struct Users {
    /// user → bcrypt hash, each checked at load.
    hashes: BTreeMap<String, String>,
    /// The hash an unknown user is verified against: the costliest known one.
    dummy: String,
    salt: [u8; 32],
    remembered: Mutex<HashSet<Vec<u8>>>,
    gate: Mutex<Gate>,
}

/// The verifier, claimed by the door for one request so that no other verification starts
/// meanwhile; given back when dropped, verified or not (a worker that could not start, a
/// panic).
pub struct Claim {
    users: Arc<Users>,
    user: String,
    password: String,
}

impl Claim {
    /// Verifies the password; remembers it when right, shuts the verifier for three times
    /// the verification when wrong.
    pub fn verify(self) -> bool {
        let started = Instant::now();
        let allowed = self.users.verify(&self.user, &self.password);
        if allowed {
            if let Some(key) = self.users.key(&self.user, &self.password) {
                let mut remembered = lock(&self.users.remembered);
                if remembered.len() >= REMEMBERED {
                    remembered.clear();
                }
                remembered.insert(key);
            }
        } else {
            lock(&self.users.gate).shut_until =
                Some(Instant::now() + started.elapsed() * FAILURE_PAUSE);
        }
        allowed
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&self.users.gate).verifying = false;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `user:password` from an `Authorization: Basic` value.
fn credentials(authorization: Option<&str>) -> Option<(String, String)> {
    let encoded = authorization?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The SHA-256 that rustls' provider computes: the crate already has one.
fn sha256() -> Option<&'static dyn rustls::crypto::hash::Hash> {
    match rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256 {
        rustls::SupportedCipherSuite::Tls13(suite) => Some(suite.common.hash_provider),
        _ => None,
    }
}

impl Users {
    /// `hashes` were checked to be bcrypt hashes of a cost sockscope takes.
    pub fn new(hashes: BTreeMap<String, String>) -> Users {
        let cost = |h: &String| h.parse::<bcrypt::HashParts>().map_or(0, |p| p.get_cost());
        let dummy = hashes.values().max_by_key(|h| cost(h)).cloned();
        let mut salt = [0u8; 32];
        // Without randomness the salt is zeros: the keys stay hashes all the same.
        let _ = rustls::crypto::ring::default_provider()
            .secure_random
            .fill(&mut salt);
        Users {
            hashes,
            dummy: dummy.unwrap_or_default(),
            salt,
            ..Users::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The verdict on an `Authorization` header: at once without users, for missing or
    /// malformed credentials, for remembered ones, and while the verifier is taken or shut;
    /// otherwise the verifier, claimed for this request. Only the door calls it, so between
    /// two claims no request can slip in.
    pub fn check(self: &Arc<Self>, authorization: Option<&str>) -> Check {
        if self.is_empty() {
            return Check::Verdict(Verdict::Allowed);
        }
        let Some((user, password)) = credentials(authorization) else {
            return Check::Verdict(Verdict::Denied);
        };
        if let Some(key) = self.key(&user, &password)
            && lock(&self.remembered).contains(&key)
        {
            return Check::Verdict(Verdict::Allowed);
        }
        let mut gate = lock(&self.gate);
        let now = Instant::now();
        let shut = gate.shut_until.filter(|&until| until > now);
        if gate.verifying || shut.is_some() {
            let pause = shut.map_or(BUSY_PAUSE.0, |until| until - now);
            return Check::Verdict(Verdict::Busy(pause.clamp(BUSY_PAUSE.0, BUSY_PAUSE.1)));
        }
        gate.verifying = true;
        Check::Verify(Claim {
            users: self.clone(),
            user,
            password,
        })
    }

    /// A bcrypt verification, as long for a user that does not exist as for one that does.
    fn verify(&self, user: &str, password: &str) -> bool {
        let (known, hash) = match self.hashes.get(user) {
            Some(hash) => (true, hash),
            None => (false, &self.dummy),
        };
        bcrypt::verify(password, hash).unwrap_or(false) && known
    }

    /// What remembers `user` and `password`: a salted SHA-256 of both (None, and nothing
    /// remembered, without one).
    fn key(&self, user: &str, password: &str) -> Option<Vec<u8>> {
        let sha = sha256()?;
        let mut context = sha.start();
        context.update(&self.salt);
        context.update(&(user.len() as u64).to_le_bytes());
        context.update(user.as_bytes());
        context.update(password.as_bytes());
        Some(context.finish().as_ref().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(password: &str, cost: u32) -> Users {
        let hash = bcrypt::hash(password, cost).unwrap();
        Users::new(BTreeMap::from([("prom".to_string(), hash)]))
    }

    fn basic(credentials: &str) -> String {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        format!("Basic {encoded}")
    }

    /// The median time of five runs of `f`.
    fn median(mut f: impl FnMut()) -> Duration {
        let mut times: Vec<_> = (0..5)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .collect();
        times.sort();
        times[2]
    }

    fn verdict(users: &Arc<Users>, credentials: &str) -> Option<Verdict> {
        match users.check(Some(&basic(credentials))) {
            Check::Verdict(verdict) => Some(verdict),
            Check::Verify(_) => None,
        }
    }

    fn verified(users: &Arc<Users>, credentials: &str) -> bool {
        match users.check(Some(&basic(credentials))) {
            Check::Verify(claim) => claim.verify(),
            Check::Verdict(verdict) => panic!("{credentials}: {verdict:?}, not verified"),
        }
    }

    #[test]
    fn a_verified_password_is_remembered_and_a_failure_shuts_the_verifier() {
        let users = Arc::new(users("secret", 4));
        assert!(matches!(users.check(None), Check::Verdict(Verdict::Denied)));
        assert!(matches!(
            users.check(Some("Bearer x")),
            Check::Verdict(Verdict::Denied)
        ));
        // While one request holds the verifier, no other starts a verification.
        let claim = users.check(Some(&basic("prom:secret")));
        assert!(matches!(
            verdict(&users, "prom:guess"),
            Some(Verdict::Busy(_))
        ));
        drop(claim);
        assert!(verified(&users, "prom:secret"));
        assert_eq!(verdict(&users, "prom:secret"), Some(Verdict::Allowed));
        assert!(!verified(&users, "prom:wrong"));
        // Shut for three times the failure's verification, and told to wait at least 100 ms.
        let Some(Verdict::Busy(pause)) = verdict(&users, "prom:guess") else {
            panic!("the verifier is open right after a failure");
        };
        assert!(pause >= BUSY_PAUSE.0 && pause <= BUSY_PAUSE.1, "{pause:?}");
        // The remembered password does not wait for the verifier.
        assert_eq!(verdict(&users, "prom:secret"), Some(Verdict::Allowed));
        let nobody = Arc::new(Users::default());
        assert!(matches!(
            nobody.check(None),
            Check::Verdict(Verdict::Allowed)
        ));
    }

    /// An unknown user costs a bcrypt verification like a known one, as exporter-toolkit's
    /// dummy hash makes it: answered at once (0.13 ms against 49 ms), it said which users
    /// exist. The margin is wide: the difference was hundreds of times.
    #[test]
    fn unknown_users_take_as_long_as_known_ones() {
        let users = users("secret", 6);
        let known = median(|| assert!(!users.verify("prom", "wrong")));
        let unknown = median(|| assert!(!users.verify("nobody", "wrong")));
        assert!(unknown * 4 >= known, "{unknown:?} against {known:?}");
        // The dummy is a real user's hash: its password opens nothing under another name.
        assert!(!users.verify("nobody", "secret"));
        assert!(users.verify("prom", "secret"));
    }
}
