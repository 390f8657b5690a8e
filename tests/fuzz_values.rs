//! Property test: no input makes the value-file front end panic.
//!
//! Generates value-file-shaped JSON (known keys, misspelt keys, every JSON type in every
//! place) and mutated texts (bytes deleted, inserted, duplicated, truncated, invalid
//! UTF-8), and runs each through parsing, the schema, the rules and the positioning of
//! every diagnostic. Deterministic (fixed seeds), so a failure reproduces; set
//! `KUJIRA_FUZZ_CASES` for a longer run. Coverage-guided fuzzing: see fuzz/README.md.

use kujira_gen::values::{self, discover::Input, schema::ValueSchema};
use serde_json::{Map, Value, json};

/// xorshift64*: enough randomness for generating inputs, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "Application",
    "Email",
    "Notification",
    "Repo",
    "RepoProject",
    "RepoSlug",
    "Account",
    "Namespace",
    "Image",
    "Trigger",
    "Port",
    "HealthCheckPath",
    "Replicas",
    "Resources",
    "Env",
    "ScenarioTest",
    "ManualJudgment",
    "ScaleDownDelaySeconds",
    "AutoPromotion",
    "$schema",
    "Type",
    "Tag",
    "Subscription",
    "Source",
    "Channel",
    "When",
    "Collection",
    "Environment",
    "TimeoutSeconds",
    "Instructions",
    "Cpu",
    "Memory",
    "CpuLimit",
    "MemoryLimit",
    "Secret",
    "Key",
    "ConfigMap",
    "DB_PASSWORD",
    "apiToken",
    "Aplication",
    "application",
    "",
    "a/b~c",
    "é",
    "_kujira",
];

const STRINGS: &[&str] = &[
    "sample",
    "Sample",
    "sample-channel",
    "#chan",
    "github",
    "githb",
    "docker",
    "pubsub",
    "webhook",
    "manual",
    "gcr.io/p/sample",
    "gcr.io/p/sample:1",
    "a@b.c",
    "not-an-email",
    "250m",
    "1Gi",
    "/healthz",
    "^v(1",
    "",
    "starting",
    "failed",
    "x.json",
    "../x.json",
    "/etc/passwd",
    "é🦀",
    "${x}",
    "\u{0}",
    "a\"b",
    "hunter22",
];

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => json!(rng.below(100_000) as i64 - 50),
        3 => json!(rng.next() as f64 / 7.0),
        4 => json!(u64::MAX - rng.below(10) as u64),
        _ => Value::String(rng.pick(STRINGS).to_string()),
    }
}

fn value(rng: &mut Rng, depth: usize) -> Value {
    if depth == 0 {
        return scalar(rng);
    }
    match rng.below(5) {
        0 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth - 1)).collect()),
        1 | 2 => {
            let mut m = Map::new();
            for _ in 0..rng.below(6) {
                m.insert(rng.pick(KEYS).to_string(), value(rng, depth - 1));
            }
            Value::Object(m)
        }
        _ => scalar(rng),
    }
}

/// A value file that is mostly right, with a few keys replaced by anything.
fn value_file(rng: &mut Rng) -> Value {
    let mut v = json!({"Application": "sample", "Notification": "c", "Email": "a@b.c", "Account": "k",
                       "Image": "gcr.io/p/sample"});
    for _ in 0..rng.below(5) {
        v[*rng.pick(KEYS)] = value(rng, 3);
    }
    v
}

fn mutate(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    const NOISE: &[u8] = b"{}[]\":,\\ \n\t0-e.+tfn/\xff\xc3\xa9\xef\xbb\xbf";
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len().max(1);
        let at = rng.below(len).min(bytes.len());
        match rng.below(5) {
            0 => {
                let end = (at + rng.below(8)).min(bytes.len());
                bytes.drain(at..end);
            }
            1 => bytes.insert(at, *rng.pick(NOISE)),
            2 => {
                let end = (at + rng.below(16)).min(bytes.len());
                let slice = bytes[at..end].to_vec();
                bytes.splice(at..at, slice);
            }
            3 => bytes.truncate(at),
            _ => {
                if let Some(b) = bytes.get_mut(at) {
                    *b = *rng.pick(NOISE);
                }
            }
        }
    }
    bytes
}

/// Everything the front end does with a value file, except reading referenced files.
fn exercise(schema: &ValueSchema, bytes: Vec<u8>) -> Option<Value> {
    let input = Input {
        path: "fuzz/value.json".into(),
        display: "fuzz/value.json".into(),
        source: "fuzz/value.json".into(),
    };
    let file = values::from_bytes(&input, bytes).ok()?;
    for d in &values::check(&file, schema) {
        assert!(
            d.line.is_some_and(|l| l >= 1) && d.column.is_some_and(|c| c >= 1),
            "{d:?}"
        );
        let _ = d.human();
    }
    Some(file.value)
}

fn cases() -> usize {
    std::env::var("KUJIRA_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn generated_value_files_parse_like_serde_json_and_never_panic() {
    let schema = ValueSchema::new().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..cases() {
        let v = value_file(&mut rng);
        let text = if rng.below(2) == 0 {
            serde_json::to_string_pretty(&v)
        } else {
            serde_json::to_string(&v)
        }
        .unwrap();
        let parsed = exercise(&schema, text.clone().into_bytes());
        // What we parse is what serde_json parses (the `\u{0}` string is refused by our
        // stricter check for raw control characters only when unescaped, which serde never writes).
        assert_eq!(parsed.as_ref(), Some(&v), "{text}");
    }
}

#[test]
fn mutated_value_files_never_panic() {
    let schema = ValueSchema::new().unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..cases() * 4 {
        let v = value_file(&mut rng);
        let text = serde_json::to_string_pretty(&v).unwrap();
        let bytes = mutate(&mut rng, text.into_bytes());
        exercise(&schema, bytes);
    }
}
