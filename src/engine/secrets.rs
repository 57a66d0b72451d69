//! A call's sensitive values: the entries of `input` nodes and the variables
//! of `set` nodes marked `sensitive = true` (card numbers, PINs, dates of
//! birth, account numbers).
//!
//! The engine reads and writes them in clear, in memory only: the clear
//! value is never serialized. What a stored state holds of each is its
//! sealed form ([`Sealed`], encrypted by [`crate::privacy::DataKeys`] before
//! the store writes the state) or, when no data key is configured, only the
//! fact that a value is held in memory by the instance serving the call. A
//! call that ends drops them all ([`Secrets::clear`]).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use zeroize::Zeroizing;

/// A sensitive value encrypted under a data key, as a stored state holds it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The id of the data key that sealed it (not the key).
    pub key: String,
    /// The nonce, base64.
    pub nonce: String,
    /// The ciphertext with its tag, base64.
    #[serde(rename = "box")]
    pub sealed: String,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed(key {})", self.key)
    }
}

/// One sensitive value: clear while this process holds it, and how it is
/// stored.
#[derive(Clone)]
pub(super) struct Secret {
    clear: Option<Zeroizing<String>>,
    stored: Option<Sealed>,
}

/// Two values are the same if they are (whether sealed yet or not); two
/// not held are the same if they are stored the same.
impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        match (&self.clear, &other.clear) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.stored == other.stored,
            _ => false,
        }
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = if self.clear.is_some() {
            "held"
        } else {
            "not held"
        };
        match &self.stored {
            Some(s) => write!(f, "Secret(•••, {held}, {s:?})"),
            None => write!(f, "Secret(•••, {held}, in memory only)"),
        }
    }
}

/// A call's sensitive values by variable name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets(BTreeMap<String, Secret>);

impl Secrets {
    /// No sensitive value at all?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many values, held or not.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Set a value (in clear, not yet sealed).
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(
            name.to_owned(),
            Secret {
                clear: Some(Zeroizing::new(value.to_owned())),
                stored: None,
            },
        );
    }

    /// The clear value, if this process holds it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name)?.clear.as_deref().map(String::as_str)
    }

    /// Drop every value (the call ended).
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Keep `other`'s clear values too (newer ones win).
    pub fn absorb(&mut self, other: &Secrets) {
        for (name, s) in &other.0 {
            if s.clear.is_some() {
                self.0.insert(name.clone(), s.clone());
            }
        }
    }

    /// Seal every clear value not sealed yet with `seal(name, value)`; a
    /// value `seal` returns `None` for stays in memory only.
    pub fn seal_with(&mut self, mut seal: impl FnMut(&str, &str) -> Option<Sealed>) {
        for (name, s) in &mut self.0 {
            if let (Some(clear), None) = (&s.clear, &s.stored) {
                s.stored = seal(name, clear);
            }
        }
    }

    /// Open every sealed value not held in clear with `open(name, sealed)`,
    /// which fails as a whole on the first value it cannot open. Values
    /// stored as "in memory only" that this process does not hold are
    /// dropped: their names are returned.
    pub fn open_with<E>(
        &mut self,
        mut open: impl FnMut(&str, &Sealed) -> Result<Zeroizing<String>, E>,
    ) -> Result<Vec<String>, E> {
        for (name, s) in &mut self.0 {
            if let (None, Some(sealed)) = (&s.clear, &s.stored) {
                s.clear = Some(open(name, sealed)?);
            }
        }
        let lost: Vec<String> = self
            .0
            .iter()
            .filter(|(_, s)| s.clear.is_none())
            .map(|(n, _)| n.clone())
            .collect();
        self.0.retain(|_, s| s.clear.is_some());
        Ok(lost)
    }
}

impl Serialize for Secrets {
    /// Each name with its sealed form, or `null` for a value held in memory
    /// only. Never the clear value.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(n, v)| (n, &v.stored)))
    }
}

impl<'de> Deserialize<'de> for Secrets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let stored = BTreeMap::<String, Option<Sealed>>::deserialize(d)?;
        Ok(Secrets(
            stored
                .into_iter()
                .map(|(n, stored)| {
                    (
                        n,
                        Secret {
                            clear: None,
                            stored,
                        },
                    )
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(n: &str) -> Sealed {
        Sealed {
            key: "k1".into(),
            nonce: "n".into(),
            sealed: format!("box of {n}"),
        }
    }

    #[test]
    fn the_clear_value_is_never_serialized_or_debug_printed() {
        let mut s = Secrets::default();
        s.set("pin", "4321");
        s.set("card", "4111111111111111");
        s.seal_with(|n, _| (n == "card").then(|| sealed(n)));
        let json = serde_json::to_string(&s).expect("serializes");
        assert_eq!(
            json,
            r#"{"card":{"key":"k1","nonce":"n","box":"box of card"},"pin":null}"#
        );
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("4321") && !debug.contains("4111"),
            "{debug}"
        );
        assert_eq!(s.get("pin"), Some("4321"));
    }

    #[test]
    fn a_loaded_state_opens_sealed_values_and_loses_memory_only_ones() {
        let json = r#"{"card":{"key":"k1","nonce":"n","box":"b"},"pin":null}"#;
        let mut s: Secrets = serde_json::from_str(json).expect("parses");
        assert_eq!(s.get("card"), None);
        let lost = s
            .open_with(|_, sealed| Ok::<_, ()>(Zeroizing::new(format!("opened {}", sealed.sealed))))
            .expect("opens");
        assert_eq!(lost, vec!["pin".to_owned()]);
        assert_eq!(s.get("card"), Some("opened b"));
        assert_eq!(s.len(), 1);
        // Sealed once: not sealed again with a fresh nonce on every commit.
        s.seal_with(|_, _| panic!("already sealed"));
    }

    #[test]
    fn one_value_that_cannot_be_opened_fails_the_whole_open() {
        let json = r#"{"a":{"key":"k1","nonce":"n","box":"b"}}"#;
        let mut s: Secrets = serde_json::from_str(json).expect("parses");
        assert_eq!(s.open_with(|_, _| Err("wrong key")), Err("wrong key"));
        assert_eq!(s.get("a"), None);
    }

    #[test]
    fn setting_a_value_again_drops_its_old_sealed_form() {
        let mut s = Secrets::default();
        s.set("pin", "1");
        s.seal_with(|n, _| Some(sealed(n)));
        s.set("pin", "2");
        let mut sealed_again = 0;
        s.seal_with(|n, _| {
            sealed_again += 1;
            Some(sealed(n))
        });
        assert_eq!(sealed_again, 1);
    }
}
