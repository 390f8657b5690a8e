//! Paths into a bundle as people read them: `pipelines[0].stages[2].manifests[1].spec.ports`.
//!
//! Keys that would make the path ambiguous (`app.kubernetes.io/name`, `collection.json`,
//! spaces) are written JSON-quoted in brackets: `data["collection.json"]`.

use std::fmt::Write as _;

/// `base.key`, or `base["key"]` when the key is not a plain word.
pub fn key(base: &str, key: &str) -> String {
    let mut out = String::with_capacity(base.len() + key.len() + 4);
    out.push_str(base);
    push_key(&mut out, key);
    out
}

/// `base[i]`.
pub fn index(base: &str, i: usize) -> String {
    let mut out = String::with_capacity(base.len() + 6);
    out.push_str(base);
    push_index(&mut out, i);
    out
}

pub fn push_key(out: &mut String, key: &str) {
    // A leading digit would read as an array index.
    let plain = key.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    if plain {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    } else {
        // Serialising a string cannot fail.
        let quoted = serde_json::to_string(key).unwrap_or_default();
        let _ = write!(out, "[{quoted}]");
    }
}

pub fn push_index(out: &mut String, i: usize) {
    let _ = write!(out, "[{i}]");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_are_dotted_and_others_quoted() {
        assert_eq!(key("pipelines[0]", "stages"), "pipelines[0].stages");
        assert_eq!(key("", "application"), "application");
        assert_eq!(
            key("m.metadata.annotations", "strategy.spinnaker.io/versioned"),
            r#"m.metadata.annotations["strategy.spinnaker.io/versioned"]"#
        );
        assert_eq!(key("data", "a b"), r#"data["a b"]"#);
        assert_eq!(key("data", ""), r#"data[""]"#);
        assert_eq!(key("data", "80"), r#"data["80"]"#);
        assert_eq!(index("pipelines", 3), "pipelines[3]");
    }
}
