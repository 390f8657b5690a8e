//! Talking to Spinnaker's Gate: where it is and how to authenticate (`config`, `auth`), the
//! typed calls kujira-gen needs (`client`), when to try again (`retry`), and the errors a
//! person can act on (`error`).

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod retry;

pub use client::Client;
pub use error::GateError;
pub use retry::RetryPolicy;

/// Percent-encodes one URL path segment (everything but RFC 3986 unreserved characters),
/// the way spin's `url.PathEscape` keeps names with spaces or slashes inside one segment.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn encode_form_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_unreserved_characters_only() {
        assert_eq!(encode_segment("release"), "release");
        assert_eq!(encode_segment("deploy/prod 1"), "deploy%2Fprod%201");
        assert_eq!(encode_segment("日"), "%E6%97%A5");
    }

    #[test]
    fn form_values_use_plus_for_spaces() {
        assert_eq!(encode_form_value("a b&c=d"), "a+b%26c%3Dd");
    }
}
