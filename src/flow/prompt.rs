//! What a caller hears: the raw prompt forms an admin may write.
//!
//! ```toml
//! prompt = "Welcome to Acme."                                  # text, default language
//! prompt = { en-US = "Welcome to Acme.", zh-CN = "欢迎致电Acme。" } # text per language
//! prompt = { recording = "greeting", text = "Welcome to Acme." } # audio, text as fallback
//! ```

use super::spanned::{Sp, StringOr};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// Text to speak: one string in the default language, or a table keyed by language.
pub type RawText = StringOr<BTreeMap<Sp<String>, Sp<String>>>;

/// A prompt as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawPrompt {
    /// Text in the flow set's default language.
    Text(String),
    /// Text per language tag.
    Localized(BTreeMap<Sp<String>, Sp<String>>),
    /// A recording under `recordings/` (per language first), with optional text as fallback.
    Recorded {
        /// Recording name, e.g. `greeting` or `greeting.wav`.
        recording: Sp<String>,
        /// Text spoken when the recording is missing for the call's language.
        text: Option<Sp<RawText>>,
    },
}

impl<'de> Deserialize<'de> for RawPrompt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPrompt;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a prompt: a string, a table of language = \"text\", or { recording = \"name\", text = … }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawPrompt, E> {
                Ok(RawPrompt::Text(v.to_owned()))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<RawPrompt, M::Error> {
                let mut recording = None;
                let mut text = None;
                let mut langs = BTreeMap::new();
                while let Some(key) = map.next_key::<Sp<String>>()? {
                    match key.value.as_str() {
                        "recording" => recording = Some(map.next_value::<Sp<String>>()?),
                        "text" => text = Some(map.next_value::<Sp<RawText>>()?),
                        _ => {
                            let v = map.next_value::<Sp<String>>()?;
                            langs.insert(key, v);
                        }
                    }
                }
                match (recording, text) {
                    (None, None) => Ok(RawPrompt::Localized(langs)),
                    (Some(recording), text) if langs.is_empty() => {
                        Ok(RawPrompt::Recorded { recording, text })
                    }
                    (None, Some(_)) => Err(de::Error::custom(
                        "a prompt with `text` also needs `recording`; for text alone write the text (or a language table) directly",
                    )),
                    (Some(_), _) => {
                        let extra: Vec<_> =
                            langs.keys().map(|k| format!("`{}`", k.value)).collect();
                        Err(de::Error::custom(format!(
                            "a recorded prompt takes only `recording` and `text`, found {}; put translations inside `text = {{ … }}`",
                            extra.join(", ")
                        )))
                    }
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawPrompt {
    fn schema_name() -> Cow<'static, str> {
        "Prompt".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "What the caller hears: a string (TTS in the default language), a table of language tag = text, or { recording = \"name\", text = … } for audio from recordings/ with TTS fallback.",
            "anyOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "properties": {
                        "recording": { "type": "string", "description": "Name of a file under recordings/<lang>/ or recordings/ (.wav or .mp3; extension optional)." },
                        "text": {
                            "description": "TTS text used where the recording is missing.",
                            "anyOf": [ { "type": "string" }, { "type": "object", "additionalProperties": { "type": "string" } } ]
                        }
                    },
                    "required": ["recording"],
                    "additionalProperties": false
                },
                { "type": "object", "additionalProperties": { "type": "string" }, "description": "Text per language tag, e.g. { en-US = \"…\", zh-CN = \"…\" }." }
            ]
        })
    }
}
