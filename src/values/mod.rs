//! Loading a team's value file and everything that can be said about it before rendering:
//! syntax (with positions), schema, cross-field rules, and the files it points at.

pub mod discover;
pub mod environments;
pub mod files;
pub mod parse;
pub mod rules;
pub mod schema;

use crate::diag::Diagnostic;
use discover::Input;
use parse::{LineIndex, Spans};
use serde_json::Value;
use std::path::PathBuf;

/// A value file is a few hundred bytes; anything this large is a mistake (or an attack
/// on the CI runner's memory).
pub const MAX_VALUE_FILE_BYTES: u64 = 1024 * 1024;

/// A value file that parsed as JSON, with the positions of its keys and values.
#[derive(Debug)]
pub struct ValueFile {
    pub path: PathBuf,
    /// How messages name the file (as the user gave it).
    pub display: String,
    /// The file relative to the repository root; goes into the output.
    pub source: String,
    pub text: String,
    lines: LineIndex,
    pub value: Value,
    pub spans: Spans,
    duplicates: Vec<parse::Duplicate>,
}

impl ValueFile {
    /// Line and column of the node at `pointer` (of its key when `at_key`), or of its
    /// nearest ancestor that exists (a missing key is reported at its parent object).
    pub fn position(&self, pointer: &str, at_key: bool) -> (usize, usize) {
        let mut p = pointer;
        loop {
            if let Some(span) = self.spans.get(p) {
                let offset = if at_key && p == pointer {
                    span.key.unwrap_or(span.value)
                } else {
                    span.value
                };
                return self.lines.position(&self.text, offset);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return (1, 1),
            }
        }
    }

    /// An error (or warning) about the node at `pointer`, positioned and with its key path.
    pub fn diagnostic(
        &self,
        pointer: &str,
        at_key: bool,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::error(self.display.clone(), message)
            .at(Some(self.position(pointer, at_key)))
            .with_path(key_path(&self.value, pointer))
    }
}

/// `/ScenarioTest/Collection` -> `ScenarioTest.Collection`; `/Notification/When/0` ->
/// `Notification.When[0]` (array indexes are told apart from keys by the data).
pub fn key_path(value: &Value, pointer: &str) -> String {
    let mut out = String::new();
    let mut node = Some(value);
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        match node {
            Some(Value::Array(items)) => {
                out.push_str(&format!("[{seg}]"));
                node = seg.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            other => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&seg);
                node = other.and_then(|n| n.get(&seg));
            }
        }
    }
    out
}

/// Reads and parses one value file. On failure, the diagnostic says why (not a regular
/// file, unreadable, too large, not UTF-8, or a syntax error at line:column).
pub fn load(input: &Input) -> Result<ValueFile, Diagnostic> {
    let fail = |m: String| Diagnostic::error(input.display.clone(), m);
    let bytes = read_bounded(&input.path, MAX_VALUE_FILE_BYTES).map_err(|e| fail(e.to_string()))?;
    from_bytes(input, bytes)
}

/// Why a value file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// A FIFO, a device, a directory...: `what` says which.
    NotRegular {
        what: String,
    },
    TooLarge {
        limit: u64,
    },
    Io(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotRegular { what } => {
                write!(
                    f,
                    "not a regular file ({what}); a value file must be a regular file"
                )
            }
            ReadError::TooLarge { limit } => {
                write!(
                    f,
                    "larger than {limit} bytes; a value file may have at most {limit}"
                )
            }
            ReadError::Io(reason) => write!(f, "cannot read: {reason}"),
        }
    }
}

/// What a non-regular file is, in words.
pub fn file_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a file"
    }
}

/// The `Application` of a value file's bytes, parsed for that key alone (the others are
/// skipped unparsed); `None` when it is not JSON or has no string `Application`.
pub fn application_of(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ApplicationOnly {
        #[serde(rename = "Application")]
        application: Option<String>,
    }
    serde_json::from_slice::<ApplicationOnly>(without_bom(bytes))
        .ok()?
        .application
}

/// The bytes of a JSON file without a leading UTF-8 byte order mark, which editors may
/// write and the loader accepts, but serde_json does not.
pub fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
}

/// Reads a regular file (following symbolic links) of at most `limit` bytes. Anything
/// else is refused without blocking: opening a FIFO for reading would wait for a writer,
/// and a link to `/dev/zero` reports size 0 and never ends.
pub fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let io = |e: std::io::Error| ReadError::Io(io_reason(&e));
    let not_regular = |t: std::fs::FileType| ReadError::NotRegular {
        what: describe_target(path, file_kind(t)),
    };
    // Looked at before opening, so a FIFO is never opened...
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // ...and opened without blocking, in case it was swapped for one in between.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io)?;
    // What was opened is what counts.
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// `a FIFO`, or `a character device, through a symbolic link to /dev/zero`.
pub(crate) fn describe_target(path: &std::path::Path, kind: &str) -> String {
    match std::fs::read_link(path) {
        Ok(target) => format!(
            "{kind}, through a symbolic link to {}",
            target.to_string_lossy()
        ),
        Err(_) => kind.to_string(),
    }
}

/// Parses a value file's bytes (the part of [`load`] after reading; also what the fuzz
/// tests drive).
pub fn from_bytes(input: &Input, bytes: Vec<u8>) -> Result<ValueFile, Diagnostic> {
    let mut text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let at = LineIndex::new(&prefix).position(&prefix, valid);
            return Err(Diagnostic::error(
                input.display.clone(),
                "not UTF-8 text: invalid byte here",
            )
            .at(Some(at)));
        }
    };
    // A BOM is invisible in editors: accept it. Three spaces keep every byte offset.
    if text.starts_with('\u{feff}') {
        text.replace_range(..3, "   ");
    }
    let lines = LineIndex::new(&text);
    let parsed = parse::parse(&text).map_err(|e| {
        Diagnostic::error(input.display.clone(), e.message)
            .at(Some(lines.position(&text, e.offset)))
    })?;
    Ok(ValueFile {
        path: input.path.clone(),
        display: input.display.clone(),
        source: input.source.clone(),
        lines,
        value: parsed.value,
        spans: parsed.spans,
        duplicates: parsed.duplicates,
        text,
    })
}

/// What a value file means once the platform's defaults are under it.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The top-level values, defaults filled in: the templates' `values`.
    pub values: serde_json::Map<String, Value>,
    pub environments: Vec<environments::Environment>,
}

/// Everything that can be said about a parsed value file without reading other files:
/// duplicate keys, the schema, the cross-field rules.
pub fn check(file: &ValueFile, schema: &schema::ValueSchema) -> Vec<Diagnostic> {
    check_with(file, schema, None).0
}

/// [`check`] with the platform's defaults (already filled in for this application)
/// applied: keys the platform sets are not required, and the values the templates and the
/// policy see are resolved.
pub fn check_with(
    file: &ValueFile,
    schema: &schema::ValueSchema,
    defaults: Option<&serde_json::Map<String, Value>>,
) -> (Vec<Diagnostic>, Resolved) {
    let mut out = duplicate_keys(file);
    let empty = serde_json::Map::new();
    let own = file.value.as_object().unwrap_or(&empty);
    let resolved = match file.value.as_object() {
        Some(own) => Resolved {
            values: environments::top_level(own, defaults),
            environments: environments::expand(own, defaults),
        },
        None => Resolved::default(),
    };
    let checked = match file.value.as_object() {
        Some(_) => Value::Object(resolved.values.clone()),
        None => file.value.clone(),
    };
    out.extend(
        schema
            .check(&checked)
            .into_iter()
            // A key the platform set is checked in the platform's file, not here.
            .filter(|i| {
                let top = i.pointer.split('/').nth(1).unwrap_or("");
                top.is_empty() || own.contains_key(&top.replace("~1", "/").replace("~0", "~"))
            })
            .map(|i| file.diagnostic(&i.pointer, i.at_key, i.message)),
    );
    out.extend(rules::check(file, &resolved.environments));
    out.extend(rules::check_installation_facts(file, defaults));
    (out, resolved)
}

/// Keys written twice in one object: JSON parsers keep the last one silently.
pub fn duplicate_keys(file: &ValueFile) -> Vec<Diagnostic> {
    file.duplicates
        .iter()
        .map(|d| {
            let (line, col) = file.lines.position(&file.text, d.first);
            Diagnostic::error(
                file.display.clone(),
                format!(
                    "key written twice (first at {line}:{col}); the last one would win silently"
                ),
            )
            .at(Some(file.lines.position(&file.text, d.offset)))
            .with_path(key_path(&file.value, &d.pointer))
        })
        .collect()
}

/// The OS's reason without Rust's "(os error 2)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_paths_read_like_the_file() {
        let v = json!({"Notification": {"When": ["x"]}, "Env": {"a/b": 1}});
        assert_eq!(key_path(&v, "/Notification/When/0"), "Notification.When[0]");
        assert_eq!(key_path(&v, "/Env/a~1b"), "Env.a/b");
        assert_eq!(key_path(&v, ""), "");
    }
}
