//! Measures the SpEL test engine (tests/support/spel.rs): the first `Spel::start()` (javac if
//! the sources changed, then the JVM) and the time per request once it is warm, for the three
//! kinds of request the tests make.
//!
//!     cargo bench --bench spel [-- REQUESTS]
//!
//! REQUESTS (default 2000) per kind, after 300 warm-up requests.

#[allow(dead_code)]
#[path = "../tests/support/spel.rs"]
mod spel;

use serde_json::json;
use std::time::{Duration, Instant};

fn main() {
    // `cargo bench` passes `--bench`: take the first numeric argument.
    let requests: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let execution = json!({
        "id": "01HEXECUTION0000000000000A",
        "trigger": {"type": "manual", "parameters": {"tag": "1.2.3"}},
        "stages": [
            {"refId": "1", "name": "Deploy", "type": "deployManifest", "status": "SUCCEEDED",
             "outputs": {"previewUrl": "http://shop-preview"}},
            {"refId": "2", "name": "Approve", "type": "manualJudgment", "status": "SUCCEEDED",
             "requisiteStageRefIds": ["1"], "context": {"judgmentInput": "promote"}},
            {"refId": "3", "name": "Promote", "type": "wait", "requisiteStageRefIds": ["2"],
             "context": {"stageEnabled": {"type": "expression",
                 "expression": "#judgment('Approve') == 'promote'"}}},
            {"refId": "4", "name": "Check", "type": "checkPreconditions",
             "requisiteStageRefIds": ["2"]}
        ]
    });

    let t = Instant::now();
    let Some(mut engine) = spel::Spel::start() else {
        eprintln!("no SpEL engine: nothing measured");
        return;
    };
    // The JVM starts lazily on the first request.
    engine.evaluate("${parameters.tag}", &execution, "3");
    let start = t.elapsed();

    let source = "${#stage('Deploy')['status'].toString() == 'SUCCEEDED'}";
    let expression = "#stage('Deploy').status == 'SUCCEEDED'";
    for _ in 0..300 {
        engine.evaluate(source, &execution, "3");
        engine.is_optional(&execution, "3");
        engine.precondition(expression, &execution, "4");
    }
    let per = |mut f: Box<dyn FnMut() + '_>| -> Duration {
        let t = Instant::now();
        for _ in 0..requests {
            f();
        }
        t.elapsed() / requests
    };
    let evaluate = per(Box::new(|| {
        engine.evaluate(source, &execution, "3");
    }));
    let optional = per(Box::new(|| {
        engine.is_optional(&execution, "3");
    }));
    let precondition = per(Box::new(|| {
        engine.precondition(expression, &execution, "4");
    }));
    println!("start (compile if needed + JVM + first request): {start:.2?}");
    println!("evaluate:     {evaluate:.2?} per request ({requests} requests)");
    println!("is_optional:  {optional:.2?} per request");
    println!("precondition: {precondition:.2?} per request");
}
