//! What personal data may appear where: at the default log level, none
//! (spans carry the call id, flow and node only); at `debug`, a caller's
//! number only masked ([`masked_number`]). Pure: no IO.

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

#[cfg(test)]
mod tests {
    use super::masked_number;

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
