//! The server's data keys (`SWITCHBOARD_DATA_KEY`): sealing a call's
//! sensitive values before its state is stored, opening them when it is
//! loaded, and the keyed hash that replaces an erased caller's number.
//!
//! A key is 32 random bytes, written in base64 (`switchboard data-key new`
//! makes one). The variable may list several, separated by commas: the
//! first seals new values, and every one opens what it sealed, so after a
//! rotation (new key first, old key after it) values sealed before stay
//! readable until their calls end. Each sealed value names the key that
//! sealed it by an id (a hash of the key, never the key), so a value is
//! opened with that key only, never tried against others: a key that is not
//! there fails the call, it is not guessed.
//!
//! Values are sealed with XChaCha20-Poly1305, a fresh random 192-bit nonce
//! each, bound to their call and variable name (the associated data), so a
//! sealed value copied into another call or variable does not open.

use crate::engine::{Sealed, Secrets};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// The environment variable holding the data keys.
pub const DATA_KEY_VAR: &str = "SWITCHBOARD_DATA_KEY";

/// Why sensitive values could not be sealed or opened, or a key not read.
/// None of these carries a value or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The variable is set but one of its keys is not a key.
    #[error(
        "{DATA_KEY_VAR} holds something that is not a data key (key {position}: {why}): each key is 32 random bytes in base64, commas between keys; make one with `switchboard data-key new`"
    )]
    Unreadable {
        /// Which key of the list (1-based).
        position: usize,
        /// What is wrong with it.
        why: String,
    },
    /// Sealed with a key that is not configured.
    #[error(
        "the data key does not match: this call's sensitive values were sealed with data key {sealed_with}, and {DATA_KEY_VAR} {have}; list the key they were sealed with after the new one (docs/privacy.md, \"Rotating the data key\")"
    )]
    Mismatch {
        /// The id of the key that sealed the value.
        sealed_with: String,
        /// What is configured, in words.
        have: String,
    },
    /// The key matched by id but the value does not open: altered, or moved
    /// from another call.
    #[error(
        "a sensitive value of this call does not open with data key {key}: it was altered or copied from another call"
    )]
    Damaged {
        /// The key id.
        key: String,
    },
}

struct DataKey {
    id: String,
    cipher: XChaCha20Poly1305,
    bytes: Zeroizing<[u8; 32]>,
}

/// The configured data keys; possibly none.
pub struct DataKeys {
    keys: Vec<DataKey>,
    /// Keys the erasure hash, when there is no data key: random, so hashes
    /// of one erasure link that caller's calls to each other only.
    ephemeral: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "DataKeys({ids:?})")
    }
}

impl Default for DataKeys {
    fn default() -> Self {
        DataKeys::none()
    }
}

impl DataKeys {
    /// No key: sensitive values live in memory only.
    pub fn none() -> DataKeys {
        DataKeys {
            keys: Vec::new(),
            ephemeral: Zeroizing::new(random()),
        }
    }

    /// The keys from `SWITCHBOARD_DATA_KEY`'s value (unset or empty: none).
    pub fn parse(value: Option<&str>) -> Result<DataKeys, KeyError> {
        let mut out = DataKeys::none();
        let Some(value) = value else { return Ok(out) };
        for (i, text) in value
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            let unreadable = |why: String| KeyError::Unreadable {
                position: i + 1,
                why,
            };
            let raw = Zeroizing::new(
                B64.decode(text)
                    .map_err(|_| unreadable("not base64".into()))?,
            );
            let bytes: [u8; 32] = raw
                .as_slice()
                .try_into()
                .map_err(|_| unreadable(format!("{} bytes, where a key has 32", raw.len())))?;
            out.keys.push(DataKey::of(Zeroizing::new(bytes)));
        }
        Ok(out)
    }

    /// The keys from the environment.
    pub fn from_env() -> Result<DataKeys, KeyError> {
        let value = std::env::var(DATA_KEY_VAR).ok();
        DataKeys::parse(value.as_deref())
    }

    /// A new random key in the form `SWITCHBOARD_DATA_KEY` takes.
    pub fn generate() -> String {
        let key = Zeroizing::new(random());
        B64.encode(key.as_slice())
    }

    /// Is a key configured?
    pub fn any(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The configured keys' ids, sealing key first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seal every clear value of `call` not sealed yet with the first key;
    /// without a key they stay in memory only.
    pub fn seal(&self, call: &str, secrets: &mut Secrets) {
        let Some(key) = self.keys.first() else { return };
        secrets.seal_with(|name, value| {
            let nonce = XNonce::generate();
            let aad = associated(call, name);
            let sealed = key
                .cipher
                .encrypt(
                    &nonce,
                    Payload {
                        msg: value.as_bytes(),
                        aad: &aad,
                    },
                )
                .ok()?;
            Some(Sealed {
                key: key.id.clone(),
                nonce: B64.encode(nonce.as_slice()),
                sealed: B64.encode(sealed),
            })
        });
    }

    /// Open the sealed values of `call`'s loaded state, each with the key
    /// that sealed it. Returns the names of values held in memory only by
    /// another instance, now lost.
    pub fn open(&self, call: &str, secrets: &mut Secrets) -> Result<Vec<String>, KeyError> {
        secrets.open_with(|name, sealed| {
            let key = self
                .keys
                .iter()
                .find(|k| k.id == sealed.key)
                .ok_or_else(|| KeyError::Mismatch {
                    sealed_with: sealed.key.clone(),
                    have: self.described(),
                })?;
            let damaged = || KeyError::Damaged {
                key: key.id.clone(),
            };
            let nonce = B64.decode(&sealed.nonce).map_err(|_| damaged())?;
            let nonce = XNonce::try_from(nonce.as_slice()).map_err(|_| damaged())?;
            let data = B64.decode(&sealed.sealed).map_err(|_| damaged())?;
            let aad = associated(call, name);
            let clear = Zeroizing::new(
                key.cipher
                    .decrypt(
                        &nonce,
                        Payload {
                            msg: &data,
                            aad: &aad,
                        },
                    )
                    .map_err(|_| damaged())?,
            );
            String::from_utf8(clear.to_vec())
                .map(Zeroizing::new)
                .map_err(|_| damaged())
        })
    }

    /// What is configured, for an error: `holds keys a, b` or `is not set`.
    fn described(&self) -> String {
        if self.keys.is_empty() {
            "is not set".into()
        } else {
            format!("holds {}", self.ids().join(", "))
        }
    }

    /// The one-way keyed hash that replaces an erased caller's number in the
    /// rows kept for reports: the same for one number under one sealing key,
    /// so an erased caller still counts once in repeat-caller figures, and
    /// not reversible without the key.
    pub fn caller_hash(&self, number: &str) -> String {
        let key: &[u8] = match self.keys.first() {
            Some(k) => k.bytes.as_slice(),
            None => self.ephemeral.as_slice(),
        };
        let mut m = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        m.update(b"switchboard caller erasure\0");
        m.update(number.as_bytes());
        let digest = m.finalize().into_bytes();
        let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
        format!("erased:{hex}")
    }
}

impl DataKey {
    fn of(bytes: Zeroizing<[u8; 32]>) -> DataKey {
        let mut h = Sha256::new();
        h.update(b"switchboard data key id\0");
        h.update(bytes.as_slice());
        let id: String = h
            .finalize()
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect();
        DataKey {
            id,
            cipher: XChaCha20Poly1305::new(&(*bytes).into()),
            bytes,
        }
    }
}

/// What binds a sealed value to its call and variable.
fn associated(call: &str, name: &str) -> Vec<u8> {
    format!("switchboard secret v1\0{call}\0{name}").into_bytes()
}

/// 32 bytes from the operating system's random source (keys, nonces, session tokens).
pub fn random() -> [u8; 32] {
    <[u8; 32]>::generate()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> DataKeys {
        DataKeys::parse(Some(&list.join(","))).expect("keys parse")
    }

    fn secrets(pairs: &[(&str, &str)]) -> Secrets {
        let mut s = Secrets::default();
        for (n, v) in pairs {
            s.set(n, v);
        }
        s
    }

    /// A state as stored and loaded: JSON, never the clear value.
    fn stored(s: &Secrets) -> Secrets {
        let json = serde_json::to_string(s).expect("serializes");
        serde_json::from_str(&json).expect("parses")
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_for_its_call_and_name_only() {
        let k = keys(&[&DataKeys::generate()]);
        let mut s = secrets(&[("card", "4111111111111111")]);
        k.seal("CA1", &mut s);
        let json = serde_json::to_string(&s).expect("serializes");
        assert!(!json.contains("4111"), "{json}");
        let mut loaded = stored(&s);
        assert_eq!(k.open("CA1", &mut loaded), Ok(vec![]));
        assert_eq!(loaded.get("card"), Some("4111111111111111"));
        // Copied into another call: does not open.
        let mut moved = stored(&s);
        assert!(matches!(
            k.open("CA2", &mut moved),
            Err(KeyError::Damaged { .. })
        ));
    }

    #[test]
    fn every_value_gets_a_fresh_nonce() {
        let k = keys(&[&DataKeys::generate()]);
        let mut a = secrets(&[("pin", "1234")]);
        let mut b = secrets(&[("pin", "1234")]);
        k.seal("CA1", &mut a);
        k.seal("CA1", &mut b);
        assert_ne!(
            serde_json::to_string(&a).ok(),
            serde_json::to_string(&b).ok()
        );
    }

    #[test]
    fn after_a_rotation_old_values_open_with_the_old_key_listed_second() {
        let (old, new) = (DataKeys::generate(), DataKeys::generate());
        let mut s = secrets(&[("pin", "1234")]);
        keys(&[&old]).seal("CA1", &mut s);
        let mut loaded = stored(&s);
        let rotated = keys(&[&new, &old]);
        assert_eq!(rotated.open("CA1", &mut loaded), Ok(vec![]));
        assert_eq!(loaded.get("pin"), Some("1234"));
        // New values are sealed with the new key.
        let mut fresh = secrets(&[("pin", "9")]);
        rotated.seal("CA1", &mut fresh);
        let json = serde_json::to_string(&fresh).expect("serializes");
        assert!(json.contains(rotated.ids()[0]), "{json}");
    }

    #[test]
    fn a_missing_or_other_key_is_a_mismatch_naming_ids_never_keys() {
        let (a, b) = (DataKeys::generate(), DataKeys::generate());
        let mut s = secrets(&[("pin", "1234")]);
        let ka = keys(&[&a]);
        ka.seal("CA1", &mut s);
        let e = keys(&[&b])
            .open("CA1", &mut stored(&s))
            .expect_err("other key");
        let text = e.to_string();
        assert!(text.contains("does not match"), "{text}");
        assert!(text.contains(ka.ids()[0]), "{text}");
        assert!(!text.contains(&a) && !text.contains(&b) && !text.contains("1234"));
        let e = DataKeys::none()
            .open("CA1", &mut stored(&s))
            .expect_err("no key");
        assert!(e.to_string().contains("is not set"), "{e}");
    }

    #[test]
    fn without_a_key_values_stay_in_memory_and_are_lost_on_load() {
        let none = DataKeys::none();
        let mut s = secrets(&[("pin", "1234")]);
        none.seal("CA1", &mut s);
        assert_eq!(s.get("pin"), Some("1234"));
        assert_eq!(
            serde_json::to_string(&s).ok().as_deref(),
            Some(r#"{"pin":null}"#)
        );
        let mut loaded = stored(&s);
        assert_eq!(none.open("CA1", &mut loaded), Ok(vec!["pin".to_owned()]));
        assert!(loaded.is_empty());
    }

    #[test]
    fn a_key_that_is_not_one_is_refused_with_its_position() {
        let good = DataKeys::generate();
        let e = DataKeys::parse(Some(&format!("{good}, c2hvcnQ="))).expect_err("short key");
        assert_eq!(
            e,
            KeyError::Unreadable {
                position: 2,
                why: "5 bytes, where a key has 32".into()
            }
        );
        assert!(DataKeys::parse(Some("not base64!")).is_err());
        assert!(!DataKeys::parse(Some("  ")).expect("empty is none").any());
    }

    #[test]
    fn the_erasure_hash_is_stable_per_key_and_hides_the_number() {
        let k = keys(&[&DataKeys::generate()]);
        let h = k.caller_hash("+15550001234");
        assert_eq!(h, k.caller_hash("+15550001234"));
        assert_ne!(h, k.caller_hash("+15550001235"));
        assert!(h.starts_with("erased:") && !h.contains("1234"), "{h}");
        let other = keys(&[&DataKeys::generate()]);
        assert_ne!(h, other.caller_hash("+15550001234"));
    }
}
