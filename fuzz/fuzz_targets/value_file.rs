//! Any bytes as a value file: parse, duplicate keys, schema, rules, positions. Must never
//! panic (a panic is the crash libFuzzer reports).
#![no_main]

use kujira_gen::values::{self, discover::Input, schema::ValueSchema};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static SCHEMA: OnceLock<ValueSchema> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let schema = SCHEMA.get_or_init(|| ValueSchema::new().expect("the embedded schema compiles"));
    let input = Input { path: "value.json".into(), display: "value.json".into(), source: "value.json".into() };
    if let Ok(file) = values::from_bytes(&input, data.to_vec()) {
        for d in values::check(&file, schema) {
            let _ = d.human();
        }
    }
});
