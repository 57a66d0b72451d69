//! Who may use the admin page: one password (`SWITCHBOARD_ADMIN_PASSWORD`,
//! plain or an argon2 PHC hash), checked with argon2; a session cookie
//! signed with a key derived from that setting (so every instance given
//! the same setting accepts the same sessions) that expires after
//! [`SESSION`]; a CSRF token per session in every form; and a slowdown per
//! client address after failed logins.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable holding the admin password or its hash.
pub const PASSWORD_VAR: &str = "SWITCHBOARD_ADMIN_PASSWORD";

/// How long a login lasts.
pub const SESSION: Duration = Duration::from_secs(12 * 3600);

/// Failed logins from one address before each further try must wait.
pub const FREE_TRIES: u32 = 5;

/// The longest wait between tries after failures.
pub const LONGEST_WAIT: Duration = Duration::from_secs(300);

/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// The session cookie's name.
pub const COOKIE: &str = "switchboard_admin";

/// The login form's cookie (its CSRF token is bound to it).
pub const LOGIN_COOKIE: &str = "switchboard_login";

/// The admin password, how sessions are signed, and failed logins.
pub struct AdminAuth {
    hash: String,
    key: [u8; 32],
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminAuth(..)")
    }
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

/// A signed-in session: its nonce binds its CSRF token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    nonce: String,
}

impl AdminAuth {
    /// From the setting: a PHC string (`$argon2id$…`, from `switchboard
    /// admin-password`) is used as is; anything else is the password itself,
    /// hashed now. Refuses an empty or too-short password.
    pub fn from_setting(value: &str) -> Result<AdminAuth, String> {
        let value = value.trim();
        let hash = if value.starts_with("$argon2") {
            PasswordHash::new(value).map_err(|e| {
                format!("{PASSWORD_VAR} looks like an argon2 hash but is not one ({e}): make one with `switchboard admin-password`")
            })?;
            value.to_owned()
        } else {
            if value.chars().count() < 12 {
                return Err(format!(
                    "{PASSWORD_VAR} is shorter than 12 characters: choose a longer one (or give its hash from `switchboard admin-password`)"
                ));
            }
            hash(value)?
        };
        let mut mac_key = Sha256::new();
        mac_key.update(b"switchboard admin session v1\0");
        mac_key.update(value.as_bytes());
        Ok(AdminAuth {
            hash,
            key: mac_key.finalize().into(),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// Does `password` match? (argon2: tens of milliseconds of CPU, the
    /// same for a wrong password as for a right one; call off the runtime.)
    pub fn verify(&self, password: &str) -> bool {
        match PasswordHash::new(&self.hash) {
            Ok(h) => Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok(),
            Err(_) => false,
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        for p in parts {
            m.update(p);
            m.update(b"\0");
        }
        m
    }

    /// A new session's cookie value, valid until `now` + [`SESSION`]
    /// (`now` in Unix seconds).
    pub fn issue(&self, now: i64) -> String {
        let expires = now.saturating_add(SESSION.as_secs() as i64);
        let nonce = hex(&crate::privacy::random()[..16]);
        let expires = expires.to_string();
        let tag = self
            .mac(&[b"session", expires.as_bytes(), nonce.as_bytes()])
            .finalize()
            .into_bytes();
        format!("{expires}.{nonce}.{}", hex(&tag))
    }

    /// The session a cookie value carries, if it is ours and not expired.
    pub fn session(&self, cookie: &str, now: i64) -> Option<Session> {
        let mut parts = cookie.split('.');
        let (expires, nonce, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || expires.parse::<i64>().ok()? <= now {
            return None;
        }
        let tag = unhex(tag)?;
        self.mac(&[b"session", expires.as_bytes(), nonce.as_bytes()])
            .verify_slice(&tag)
            .ok()?;
        Some(Session {
            nonce: nonce.to_owned(),
        })
    }

    /// The CSRF token every form of `session` carries.
    pub fn csrf(&self, session: &Session) -> String {
        hex(&self
            .mac(&[b"csrf", session.nonce.as_bytes()])
            .finalize()
            .into_bytes())
    }

    /// Is `token` the CSRF token of `session`? (In constant time.)
    pub fn csrf_ok(&self, session: &Session, token: &str) -> bool {
        unhex(token).is_some_and(|t| {
            self.mac(&[b"csrf", session.nonce.as_bytes()])
                .verify_slice(&t)
                .is_ok()
        })
    }

    /// A login form's nonce (its cookie) and the CSRF token bound to it.
    pub fn login_form(&self) -> (String, String) {
        let nonce = hex(&crate::privacy::random()[..16]);
        let token = self.login_token(&nonce);
        (nonce, token)
    }

    fn login_token(&self, nonce: &str) -> String {
        hex(&self
            .mac(&[b"login", nonce.as_bytes()])
            .finalize()
            .into_bytes())
    }

    /// Does a login's form token match its cookie's nonce?
    pub fn login_ok(&self, nonce: &str, token: &str) -> bool {
        unhex(token).is_some_and(|t| {
            self.mac(&[b"login", nonce.as_bytes()])
                .verify_slice(&t)
                .is_ok()
        })
    }

    /// How long `client` must wait before its next try, if at all.
    pub fn wait_before_trying(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let f = failures.get(&client)?;
        let wait = wait_after(f.count)?;
        let ready = f.last + wait;
        (ready > now).then(|| ready - now)
    }

    /// A failed login from `client`.
    pub fn failed(&self, client: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, f| now.saturating_duration_since(f.last) < FORGET_AFTER);
        let f = failures.entry(client).or_insert(Failures {
            count: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
    }

    /// A successful login from `client`: its failures are forgotten.
    pub fn succeeded(&self, client: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&client);
    }
}

/// The wait before the next try after `count` failures: none for the first
/// [`FREE_TRIES`], then 2 s, doubling, at most [`LONGEST_WAIT`].
fn wait_after(count: u32) -> Option<Duration> {
    let over = count.checked_sub(FREE_TRIES)?;
    let secs = 2u64.saturating_pow(over.saturating_add(1).min(20));
    Some(Duration::from_secs(secs).min(LONGEST_WAIT))
}

/// An argon2id PHC hash of `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the admin password: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> AdminAuth {
        AdminAuth::from_setting("correct horse battery").unwrap()
    }

    #[test]
    fn the_password_or_its_hash_is_checked_by_argon2() {
        let a = auth();
        assert!(a.verify("correct horse battery"));
        assert!(!a.verify("correct horse batter"));
        let hashed = AdminAuth::from_setting(&hash("correct horse battery").unwrap()).unwrap();
        assert!(hashed.verify("correct horse battery") && !hashed.verify(""));
        assert!(
            AdminAuth::from_setting("short")
                .unwrap_err()
                .contains("12 characters")
        );
        assert!(
            AdminAuth::from_setting("$argon2id$nonsense")
                .unwrap_err()
                .contains("not one")
        );
    }

    #[test]
    fn a_session_is_signed_expires_and_binds_its_csrf_token() {
        let a = auth();
        let cookie = a.issue(1_000);
        let s = a.session(&cookie, 1_001).unwrap();
        assert_eq!(
            a.session(&cookie, 1_000 + SESSION.as_secs() as i64),
            None,
            "expired"
        );
        let forged = cookie.replacen('.', "9.", 1);
        assert_eq!(
            a.session(&forged, 1_001),
            None,
            "a changed expiry breaks the tag"
        );
        assert_eq!(a.session("1.2.3", 0), None);
        assert_eq!(
            AdminAuth::from_setting("another long password")
                .unwrap()
                .session(&cookie, 1_001),
            None,
            "another password's key"
        );
        let token = a.csrf(&s);
        assert!(a.csrf_ok(&s, &token));
        let other = a.session(&a.issue(1_000), 1_001).unwrap();
        assert!(
            !a.csrf_ok(&other, &token),
            "one session's token is not another's"
        );
        assert!(!a.csrf_ok(&s, "zz") && !a.csrf_ok(&s, ""));
        let (nonce, login) = a.login_form();
        assert!(a.login_ok(&nonce, &login) && !a.login_ok("other", &login));
    }

    #[test]
    fn failed_logins_slow_down_their_client_only() {
        let a = auth();
        let now = Instant::now();
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        for _ in 0..FREE_TRIES {
            assert_eq!(a.wait_before_trying(ip, now), None, "five free tries");
            a.failed(ip, now);
        }
        assert_eq!(a.wait_before_trying(ip, now), Some(Duration::from_secs(2)));
        a.failed(ip, now);
        assert_eq!(a.wait_before_trying(ip, now), Some(Duration::from_secs(4)));
        let later = now + Duration::from_secs(5);
        assert_eq!(a.wait_before_trying(ip, later), None, "the wait passes");
        assert_eq!(a.wait_before_trying(other, now), None);
        assert_eq!(wait_after(40), Some(LONGEST_WAIT));
        a.succeeded(ip);
        assert_eq!(a.wait_before_trying(ip, now), None);
    }
}
