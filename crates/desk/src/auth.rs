//! Who is at the desk: password hashes, sessions, form tokens and cookies.
//!
//! Passwords are hashed with Argon2id (RFC 9106) through the `argon2`
//! crate; the hash string carries its own parameters, so a verifier needs
//! nothing else. Sessions are random 256-bit tokens held in memory (a node
//! restart signs everyone out, which is the safe direction); each carries its
//! own form token (CSRF), compared in constant time. The session cookie is
//! `HttpOnly` and `SameSite=Strict`, and `Secure` when the desk is served
//! over HTTPS.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use soberana_core::{OfficerId, Timestamp};
use subtle::ConstantTimeEq;

use crate::DeskError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "soberana_desk";
/// The cookie that carries the login form's token before there is a session.
pub const LOGIN_COOKIE: &str = "soberana_login";

/// How much work a password hash costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCost {
    /// Argon2id with 19 MiB, 2 passes, 1 lane (OWASP's first recommended
    /// setting): for real officers.
    Standard,
    /// Argon2id with 8 KiB and 1 pass: fast and weak, only for tests that
    /// create many officers.
    DangerTestOnly,
}

fn hasher(cost: HashCost) -> Result<Argon2<'static>, DeskError> {
    let params = match cost {
        HashCost::Standard => Params::new(19 * 1024, 2, 1, None),
        HashCost::DangerTestOnly => Params::new(8, 1, 1, None),
    }
    .map_err(|e| DeskError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt, as a PHC string.
pub fn hash_password(password: &str, cost: HashCost) -> Result<String, DeskError> {
    if password.chars().count() < 8 {
        return Err(DeskError::BadInput(
            "a password must have at least 8 characters".into(),
        ));
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| DeskError::Internal(format!("salt: {e}")))?;
    hasher(cost)?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DeskError::Internal(format!("hashing: {e}")))
}

/// Whether `password` matches the PHC hash (a malformed hash never matches).
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    // The verifier takes the parameters from the hash itself.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], DeskError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| DeskError::Internal(format!("no randomness from the system: {e}")))?;
    Ok(bytes)
}

/// A fresh random token (256 bits, hex).
pub fn new_token() -> Result<String, DeskError> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// Compares two tokens in constant time (for equal lengths).
pub fn tokens_match(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A signed-in officer's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub officer: OfficerId,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// When it began.
    pub started: Timestamp,
    /// When it was last used.
    pub last_seen: Timestamp,
}

/// Why a request has no usable session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSession {
    /// No session cookie, or one this desk never issued.
    Missing,
    /// The session timed out.
    Expired,
}

/// The live sessions, by token.
#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session; returns its token.
    pub fn start(
        &self,
        officer: OfficerId,
        now: Timestamp,
    ) -> Result<(String, Session), DeskError> {
        let token = new_token()?;
        let session = Session {
            officer,
            csrf: new_token()?,
            started: now,
            last_seen: now,
        };
        let mut live = self
            .live
            .lock()
            .map_err(|_| DeskError::Internal("session table poisoned".into()))?;
        live.insert(token.clone(), session.clone());
        Ok((token, session))
    }

    /// The session for `token`, touched, if it is live: idle for less than
    /// `idle_seconds` and younger than `max_seconds`.
    pub fn get(
        &self,
        token: &str,
        now: Timestamp,
        idle_seconds: i64,
        max_seconds: i64,
    ) -> Result<Session, NoSession> {
        let mut live = self.live.lock().map_err(|_| NoSession::Missing)?;
        let Some(session) = live.get_mut(token) else {
            return Err(NoSession::Missing);
        };
        if session.last_seen.seconds_until(now) > idle_seconds
            || session.started.seconds_until(now) > max_seconds
        {
            live.remove(token);
            return Err(NoSession::Expired);
        }
        session.last_seen = now;
        Ok(session.clone())
    }

    /// Ends a session.
    pub fn end(&self, token: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(token);
        }
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A `Set-Cookie` value with the desk's attributes.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> String {
    let mut out = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        out.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        out.push_str("; Secure");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_wrong_ones_do_not() {
        let hash = hash_password("correct horse", HashCost::DangerTestOnly).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
        assert!(verify_password("correct horse", &hash));
        for wrong in ["correct hors", "Correct horse", "", "correct horse "] {
            assert!(!verify_password(wrong, &hash), "{wrong:?}");
        }
        assert!(!verify_password("anything", "not a hash"));
        // Two hashes of one password differ (fresh salt).
        assert_ne!(
            hash,
            hash_password("correct horse", HashCost::DangerTestOnly).unwrap()
        );
        assert!(hash_password("short", HashCost::DangerTestOnly).is_err());
    }

    #[test]
    fn tokens_compare_exactly() {
        let t = new_token().unwrap();
        assert_eq!(t.len(), 64);
        assert!(tokens_match(&t, &t.clone()));
        assert!(!tokens_match(&t, &t[..63]));
        assert!(!tokens_match("", ""));
        let mut forged = t.clone().into_bytes();
        forged[10] ^= 1;
        assert!(!tokens_match(&t, &String::from_utf8(forged).unwrap()));
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let sessions = Sessions::default();
        let id = OfficerId::new("ana").unwrap();
        let t0 = Timestamp::from_unix_millis(0);
        let (token, _) = sessions.start(id.clone(), t0).unwrap();
        assert!(
            sessions
                .get(&token, t0.plus_seconds(100), 600, 3600)
                .is_ok()
        );
        assert_eq!(
            sessions
                .get(&token, t0.plus_seconds(800), 600, 3600)
                .unwrap_err(),
            NoSession::Expired
        );
        // Once expired, it is gone.
        assert_eq!(
            sessions
                .get(&token, t0.plus_seconds(801), 600, 3600)
                .unwrap_err(),
            NoSession::Missing
        );
        let (token, _) = sessions.start(id.clone(), t0).unwrap();
        for minute in 1..=5 {
            assert!(
                sessions
                    .get(&token, t0.plus_seconds(minute * 500), 600, 3600)
                    .is_ok()
            );
        }
        assert_eq!(
            sessions
                .get(&token, t0.plus_seconds(3700), 600, 3600)
                .unwrap_err(),
            NoSession::Expired
        );
        let (token, _) = sessions.start(id.clone(), t0).unwrap();
        sessions.end(&token);
        assert!(sessions.get(&token, t0, 600, 3600).is_err());
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let header = "a=1; soberana_desk_x=2; soberana_desk=abc; z";
        assert_eq!(cookie(header, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(header, "missing"), None);
        let set = set_cookie(SESSION_COOKIE, "v", true, None);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Secure")
        );
        assert!(!set_cookie(SESSION_COOKIE, "v", false, Some(0)).contains("Secure"));
    }
}
