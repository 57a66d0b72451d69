//! What personal data may appear where, and for how long.
//!
//! Logs: at the default log level, none (spans carry the call id, flow and
//! node only); at `debug`, a caller's number only masked
//! ([`masked_number`]). Sensitive entries: sealed under the server's data
//! keys ([`DataKeys`]) whenever a call state is stored. Stored calls: kept
//! for the [`retention`] period. Pure but for the random nonces sealing
//! draws from the operating system.

mod data_key;

pub use data_key::{DATA_KEY_VAR, DataKeys, KeyError, random};

use std::time::Duration;

/// The shortest retention period: a call must outlive its own day.
pub const MIN_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// A retention period as `[settings] retention` or `--retention` give it
/// (`"90d"`, `"26weeks"`, `"1y"`): at least [`MIN_RETENTION`]. The error
/// says what is wrong, to follow the value.
pub fn retention(text: &str) -> Result<Duration, String> {
    let d =
        humantime::parse_duration(text.trim()).map_err(|e| format!("is not a duration ({e})"))?;
    if d < MIN_RETENTION {
        return Err(format!(
            "is shorter than a day ({}): a call must be kept at least until its reports are made",
            humantime::format_duration(d)
        ));
    }
    Ok(d)
}

/// A phone number as a debug log may show it: its country and area prefix
/// and its last four digits, the rest hidden (`+15550001234` is shown as
/// `+1555•••1234`). Anything shorter than nine characters keeps only its
/// last two.
pub fn masked_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let n = chars.len();
    if n >= 9 {
        let head: String = chars[..5].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}•••{tail}")
    } else {
        let tail: String = chars[n.saturating_sub(2)..].iter().collect();
        format!("•••{tail}")
    }
}

/// Words that say an entry is payment or identity data, with what they
/// suggest. Matched as whole words in variable names and prompts (and,
/// for scripts written without spaces, anywhere).
const SENSITIVE_WORDS: &[(&str, &str)] = &[
    ("card number", "a card number"),
    ("cardnumber", "a card number"),
    ("credit card", "a card number"),
    ("debit card", "a card number"),
    ("pan", "a card number"),
    ("卡号", "a card number"),
    ("信用卡", "a card number"),
    ("cvv", "a card security code"),
    ("cvc", "a card security code"),
    ("cv2", "a card security code"),
    ("security code", "a card security code"),
    ("安全码", "a card security code"),
    ("pin", "a PIN"),
    ("passcode", "a PIN"),
    ("password", "a PIN"),
    ("密码", "a PIN"),
    ("ssn", "a social security number"),
    ("social security", "a social security number"),
    ("national insurance", "a national insurance number"),
    ("tax id", "a tax number"),
    ("tax number", "a tax number"),
    ("taxpayer", "a tax number"),
    ("tin", "a tax number"),
    ("身份证", "an identity number"),
    ("date of birth", "a date of birth"),
    ("dateofbirth", "a date of birth"),
    ("birth date", "a date of birth"),
    ("birthdate", "a date of birth"),
    ("birthday", "a date of birth"),
    ("dob", "a date of birth"),
    ("出生", "a date of birth"),
];

/// What a variable name or prompt suggests an entry is, if it reads like
/// a card number, security code, PIN, social security or tax number or
/// date of birth: `card_number`, `cardNumber`, "enter your PIN".
pub fn suggests_sensitive(text: &str) -> Option<&'static str> {
    // `cardNumber` and `card_number` read as "card number".
    let mut words = String::with_capacity(text.len() + 4);
    let mut prev_lower = false;
    for c in text.chars() {
        if c.is_uppercase() && prev_lower {
            words.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        words.extend(c.to_lowercase());
    }
    SENSITIVE_WORDS
        .iter()
        .find(|(w, _)| crate::engine::says(&words, w))
        .map(|(_, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::{Duration, masked_number, retention, suggests_sensitive};

    #[test]
    fn card_pin_tax_and_birth_entries_are_recognised_in_names_and_prompts() {
        for (text, what) in [
            ("card_number", "a card number"),
            ("cardNumber", "a card number"),
            (
                "Please enter the 16 digits of your credit card.",
                "a card number",
            ),
            ("cvv", "a card security code"),
            ("Enter your four digit PIN, then press pound.", "a PIN"),
            ("ssn_last4", "a social security number"),
            (
                "Please enter your date of birth as eight digits.",
                "a date of birth",
            ),
            ("dob", "a date of birth"),
            ("请输入您的密码。", "a PIN"),
        ] {
            assert_eq!(suggests_sensitive(text), Some(what), "{text}");
        }
        for text in [
            "account_number",
            "Please enter your order number.",
            "spinach",
            "happy",
            "zip_code",
            "Press 1 for opinions.",
        ] {
            assert_eq!(suggests_sensitive(text), None, "{text}");
        }
    }

    #[test]
    fn retention_is_a_duration_of_at_least_a_day() {
        assert_eq!(retention("90d"), Ok(Duration::from_secs(90 * 86400)));
        assert_eq!(retention(" 1day "), Ok(Duration::from_secs(86400)));
        assert!(retention("1y").is_ok_and(|d| d > Duration::from_secs(365 * 86400)));
        let short = retention("12h").expect_err("too short");
        assert!(short.starts_with("is shorter than a day (12h)"), "{short}");
        let garbage = retention("ninety days").expect_err("not a duration");
        assert!(garbage.starts_with("is not a duration"), "{garbage}");
        assert!(retention("").is_err());
    }

    #[test]
    fn a_number_keeps_its_prefix_and_last_four_digits_only() {
        assert_eq!(masked_number("+15550001234"), "+1555•••1234");
        assert_eq!(masked_number("+861012345678"), "+8610•••5678");
        assert_eq!(masked_number("12345"), "•••45");
        assert_eq!(masked_number(""), "•••");
        assert_eq!(masked_number("anonymous"), "anony•••mous");
        assert!(!masked_number("+15550001234").contains("0001234"));
    }
}
