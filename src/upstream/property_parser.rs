//! Clouddriver's `PropertyParser` (clouddriver-kubernetes
//! `provider/view/PropertyParser.java`): how a Run Job's log becomes the properties Orca
//! puts into the stage (`WaitOnJobCompletion.groovy`).
//!
//! - The log is split into lines; empty lines are dropped and each line is trimmed.
//! - A line that contains `SPINNAKER_PROPERTY_` anywhere is split at its first `=`; both
//!   parts are trimmed. A line without `=` or with an empty value is skipped. The key is
//!   the part before `=` with the first `SPINNAKER_PROPERTY_` removed, **lower-cased**.
//!   A later line with the same key wins.
//! - A line that starts (after blanks) with `SPINNAKER_CONFIG_JSON=` holds a JSON object
//!   whose keys are kept as written (and a line that is not valid JSON fails the read).

use std::collections::BTreeMap;

pub const PROPERTY_PREFIX: &str = "SPINNAKER_PROPERTY_";
pub const JSON_PREFIX: &str = "SPINNAKER_CONFIG_JSON=";

/// What Clouddriver reads from a job's log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Properties {
    pub values: BTreeMap<String, serde_json::Value>,
}

/// Parses a log as Clouddriver does. `Err` when a `SPINNAKER_CONFIG_JSON=` line is not a
/// JSON object (Clouddriver rethrows the parse error; Orca then gets no properties).
pub fn parse(log: &str) -> Result<Properties, String> {
    let mut values = BTreeMap::new();
    for line in log.split('\n').map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains(PROPERTY_PREFIX)
            && let Some((key, value)) = line.split_once('=')
        {
            let (key, value) = (key.trim(), value.trim());
            if !value.is_empty() {
                let key = key.replacen(PROPERTY_PREFIX, "", 1).to_lowercase();
                values.insert(key, serde_json::Value::String(value.to_string()));
            }
        }
        // Lines are trimmed, so "starts after blanks" is "starts".
        if let Some(json) = line.strip_prefix(JSON_PREFIX) {
            match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json) {
                Ok(map) => values.extend(map),
                Err(e) => return Err(format!("{JSON_PREFIX} line is not a JSON object: {e}")),
            }
        }
    }
    Ok(Properties { values })
}

/// The keys a script can print, found in its source text: what follows each
/// `SPINNAKER_PROPERTY_` up to `=`, as printed (not yet lower-cased).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrintedKeys {
    pub keys: Vec<String>,
    /// Some key is computed at run time (`SPINNAKER_PROPERTY_$NAME=`), or the script
    /// prints `SPINNAKER_CONFIG_JSON=` lines: any key may appear.
    pub dynamic: bool,
}

pub fn printed_keys(source: &str) -> PrintedKeys {
    let mut out = PrintedKeys::default();
    let mut rest = source;
    while let Some(at) = rest.find(PROPERTY_PREFIX) {
        rest = &rest[at + PROPERTY_PREFIX.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        let key = &rest[..end];
        if rest[end..].starts_with('=') && !key.is_empty() {
            if !out.keys.iter().any(|k| k == key) {
                out.keys.push(key.to_string());
            }
        } else if !rest[end..].starts_with(char::is_whitespace) && end < rest.len() {
            // `SPINNAKER_PROPERTY_$KEY=`, `SPINNAKER_PROPERTY_${KEY}=`...
            out.dynamic = true;
        }
    }
    if source.contains(JSON_PREFIX) {
        out.dynamic = true;
    }
    out
}

/// The key Orca stores for a printed one.
pub fn stored_key(printed: &str) -> String {
    printed.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(log: &str) -> BTreeMap<String, serde_json::Value> {
        parse(log).unwrap().values
    }

    #[test]
    fn keys_are_lower_cased_and_values_trimmed() {
        let v = values("starting\nSPINNAKER_PROPERTY_NEW_REVISION = true \n");
        assert_eq!(v, BTreeMap::from([("new_revision".into(), json!("true"))]));
    }

    #[test]
    fn the_value_keeps_later_equals_signs() {
        let v = values("SPINNAKER_PROPERTY_TOKEN=YWJj==");
        assert_eq!(v["token"], json!("YWJj=="));
    }

    #[test]
    fn empty_values_and_lines_without_equals_are_skipped() {
        let v = values("SPINNAKER_PROPERTY_A=\nSPINNAKER_PROPERTY_B\n\n  \nSPINNAKER_PROPERTY_C=1");
        assert_eq!(v, BTreeMap::from([("c".into(), json!("1"))]));
    }

    #[test]
    fn the_prefix_may_be_anywhere_in_the_line_and_the_last_line_wins() {
        // Clouddriver finds the prefix anywhere, and removes only its first occurrence.
        let v = values("SPINNAKER_PROPERTY_X=1\nSPINNAKER_PROPERTY_x=2");
        assert_eq!(v, BTreeMap::from([("x".into(), json!("2"))]));
        let v = values("[t] SPINNAKER_PROPERTY_Y=3");
        assert_eq!(v, BTreeMap::from([("[t] y".into(), json!("3"))]));
    }

    #[test]
    fn json_lines_keep_their_keys_and_types() {
        let v = values("  SPINNAKER_CONFIG_JSON={\"NewRevision\": true, \"n\": 2}");
        assert_eq!(v["NewRevision"], json!(true));
        assert_eq!(v["n"], json!(2));
        assert!(parse("SPINNAKER_CONFIG_JSON={oops").is_err());
    }

    #[test]
    fn printed_keys_are_found_in_a_script() {
        let k = printed_keys(
            "echo \"SPINNAKER_PROPERTY_new_revision=true\"\necho SPINNAKER_PROPERTY_STABLE_HASH=$stable",
        );
        assert_eq!(k.keys, vec!["new_revision", "STABLE_HASH"]);
        assert!(!k.dynamic);
        assert!(printed_keys("echo SPINNAKER_PROPERTY_$NAME=1").dynamic);
        assert!(printed_keys("echo SPINNAKER_CONFIG_JSON={}").dynamic);
        // A mention in a comment without `=` prints nothing.
        assert_eq!(
            printed_keys("# reads SPINNAKER_PROPERTY_ lines").keys,
            Vec::<String>::new()
        );
    }
}
