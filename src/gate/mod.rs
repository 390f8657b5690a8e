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

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one URL path segment, the way spin's `url.PathEscape` keeps names with
/// spaces or slashes inside one segment.
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `application/x-www-form-urlencoded` encoding of one value (spaces as `+`).
pub fn encode_form_value(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_unreserved_characters_only() {
        assert_eq!(encode_segment("release"), "release");
        assert_eq!(encode_segment("deploy/prod 1"), "deploy%2Fprod%201");
        assert_eq!(encode_segment("a~b.c_d-e"), "a~b.c_d-e");
        assert_eq!(encode_segment("日"), "%E6%97%A5");
    }

    #[test]
    fn form_values_use_plus_for_spaces() {
        assert_eq!(encode_form_value("a b&c=d"), "a+b%26c%3Dd");
        assert_eq!(encode_form_value("p@ss~*"), "p%40ss%7E*");
    }
}
