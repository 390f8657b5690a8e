//! `policy.json`: the platform team's release rules, checked on every environment of every
//! value file before anything is built or pushed, and the exemptions from them.
//!
//! A rule has a `Name`, exactly one check, and optionally the `Environments` (by name) or
//! `Accounts` it applies to; without either it applies to every environment. The checks:
//! `RequireTestOrJudgment`, `ForbidAutoPromotion`, `MinReplicas`, `AllowedRegistries`,
//! `RequireNotificationOn`, `AllowedRunAsUsers`. A violation is an error on the value file, at the key that
//! breaks the rule (or at the environment that lacks one), naming the rule and what would
//! satisfy it. An exemption lets one application break one rule until its `Expires` date
//! (inclusive); the violation is then a note. An expired exemption is an error on the
//! policy file. The schema is `schemas/policy.schema.json`; docs/platform.md has examples.

use crate::describe::closest;
use crate::diag::{Diagnostic, Severity};
use crate::values::environments::{Environment, Origin};
use crate::values::schema::ValueSchema;
use crate::values::{self, ValueFile};
use serde_json::Value;
use std::path::Path;

pub const FILE_NAME: &str = "policy.json";
pub const SCHEMA_TEXT: &str = include_str!("../../schemas/policy.schema.json");

/// What `Replicas` is when a value file does not set it (schemas/value.schema.json).
const DEFAULT_REPLICAS: i64 = 2;
const ALL_EVENTS: [&str; 3] = ["starting", "complete", "failed"];

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    RequireTestOrJudgment,
    ForbidAutoPromotion,
    MinReplicas(i64),
    AllowedRegistries(Vec<String>),
    RequireNotificationOn(Vec<String>),
    /// The service accounts an environment's triggers may run as (`RunAsUser`); with
    /// Fiat, a trigger without one runs as `anonymous` (echo BaseTriggerEventHandler
    /// `canAccessApplication`), so the rule also requires one.
    AllowedRunAsUsers(Vec<String>),
}

const CHECK_KEYS: &[&str] = &[
    "RequireTestOrJudgment",
    "ForbidAutoPromotion",
    "MinReplicas",
    "AllowedRegistries",
    "RequireNotificationOn",
    "AllowedRunAsUsers",
];

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    /// `policy.json:12:5`
    pub location: String,
    pub description: Option<String>,
    pub environments: Option<Vec<String>>,
    pub accounts: Option<Vec<String>>,
    pub check: Check,
}

#[derive(Debug, Clone)]
pub struct Exemption {
    pub application: String,
    pub rule: String,
    pub reason: String,
    pub expires: String,
    pub expired: bool,
    pub location: String,
}

#[derive(Debug)]
pub struct Policy {
    pub display: String,
    pub rules: Vec<Rule>,
    pub exemptions: Vec<Exemption>,
}

/// `YYYY-MM-DD`, a real calendar date.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

fn location(file: &ValueFile, pointer: &str) -> String {
    let (line, col) = file.position(pointer, false);
    format!("{}:{line}:{col}", file.display)
}

/// Reads and checks the policy file; `today` decides which exemptions have expired.
pub fn load(path: &Path, today: &str) -> Result<(Policy, Vec<Diagnostic>), Diagnostic> {
    let file = super::defaults::read(path)?;
    let mut problems = values::duplicate_keys(&file);
    let schema_value: Value = serde_json::from_str(SCHEMA_TEXT).map_err(|e| {
        Diagnostic::error(
            file.display.clone(),
            format!("the embedded policy schema is not JSON: {e}"),
        )
    })?;
    let schema = ValueSchema::with_schema(schema_value)
        .map_err(|e| Diagnostic::error(file.display.clone(), format!("{e:#}")))?;
    let issues = schema.check(&file.value);
    let schema_ok = issues.is_empty();
    for issue in issues {
        problems.push(file.diagnostic(&issue.pointer, issue.at_key, issue.message));
    }
    let mut policy = Policy {
        display: file.display.clone(),
        rules: Vec::new(),
        exemptions: Vec::new(),
    };
    if !schema_ok {
        return Ok((policy, problems));
    }
    let rules = file
        .value
        .get("Rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, r) in rules.iter().enumerate() {
        let pointer = format!("/Rules/{i}");
        let name = r
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if policy.rules.iter().any(|x| x.name == name) {
            problems.push(file.diagnostic(
                &format!("{pointer}/Name"),
                false,
                format!(
                    "a second rule named `{name}`: exemptions name rules, so names must be unique"
                ),
            ));
            continue;
        }
        let present: Vec<&str> = CHECK_KEYS
            .iter()
            .copied()
            .filter(|k| r.get(*k).is_some())
            .collect();
        let check = match present.as_slice() {
            ["RequireTestOrJudgment"] => Check::RequireTestOrJudgment,
            ["ForbidAutoPromotion"] => Check::ForbidAutoPromotion,
            ["MinReplicas"] => Check::MinReplicas(r["MinReplicas"].as_i64().unwrap_or(1)),
            ["AllowedRegistries"] => {
                Check::AllowedRegistries(strings(r.get("AllowedRegistries")).unwrap_or_default())
            }
            ["RequireNotificationOn"] => Check::RequireNotificationOn(
                strings(r.get("RequireNotificationOn")).unwrap_or_default(),
            ),
            ["AllowedRunAsUsers"] => {
                Check::AllowedRunAsUsers(strings(r.get("AllowedRunAsUsers")).unwrap_or_default())
            }
            [] => {
                problems.push(file.diagnostic(
                    &pointer,
                    false,
                    format!(
                        "rule `{name}` has no check: give it one of {}",
                        CHECK_KEYS.join(", ")
                    ),
                ));
                continue;
            }
            more => {
                problems.push(file.diagnostic(&pointer, false, format!("rule `{name}` has {} checks ({}): write one rule per check, so that each can be named and exempted on its own", more.len(), more.join(", "))));
                continue;
            }
        };
        policy.rules.push(Rule {
            name,
            location: location(&file, &pointer),
            description: r
                .get("Description")
                .and_then(Value::as_str)
                .map(str::to_string),
            environments: strings(r.get("Environments")),
            accounts: strings(r.get("Accounts")),
            check,
        });
    }
    let exemptions = file
        .value
        .get("Exemptions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, e) in exemptions.iter().enumerate() {
        let pointer = format!("/Exemptions/{i}");
        let field = |k: &str| {
            e.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (application, rule, reason, expires) = (
            field("Application"),
            field("Rule"),
            field("Reason"),
            field("Expires"),
        );
        if !policy.rules.iter().any(|r| r.name == rule) {
            let hint = closest(&rule, policy.rules.iter().map(|r| r.name.as_str()))
                .map(|b| format!("; did you mean `{b}`?"))
                .unwrap_or_default();
            problems.push(file.diagnostic(
                &format!("{pointer}/Rule"),
                false,
                format!("names rule `{rule}`, which this policy does not have{hint}"),
            ));
            continue;
        }
        let expired = expires.as_str() < today;
        if expired {
            problems.push(file.diagnostic(
                &format!("{pointer}/Expires"),
                false,
                format!("the exemption of application `{application}` from rule `{rule}` expired on {expires}: the application must follow the rule again, or the platform team renews the exemption with a new date and reason"),
            ));
        } else {
            let mut note = file.diagnostic(
                &pointer,
                false,
                format!("exemption active until {expires}: application `{application}` may break rule `{rule}` ({reason})"),
            );
            note.severity = Severity::Note;
            problems.push(note);
        }
        policy.exemptions.push(Exemption {
            application,
            rule,
            reason,
            expires,
            expired,
            location: location(&file, &pointer),
        });
    }
    Ok((policy, problems))
}

impl Rule {
    fn applies_to(&self, env: &Environment) -> bool {
        if self.environments.is_none() && self.accounts.is_none() {
            return true;
        }
        let by_name = self
            .environments
            .as_ref()
            .is_some_and(|names| env.name.as_ref().is_some_and(|n| names.contains(n)));
        let account = env.values.get("Account").and_then(Value::as_str);
        let by_account = self
            .accounts
            .as_ref()
            .is_some_and(|accounts| account.is_some_and(|a| accounts.iter().any(|x| x == a)));
        by_name || by_account
    }
}

/// One broken rule: where (a key of the environment, or the environment itself) and why.
struct Violation {
    key: Option<&'static str>,
    problem: String,
    fix: String,
}

fn violation(rule: &Rule, env: &Environment) -> Option<Violation> {
    let v = &env.values;
    match &rule.check {
        Check::RequireTestOrJudgment => {
            let tested = v.get("ScenarioTest").is_some_and(Value::is_object);
            let judged = v
                .get("ManualJudgment")
                .is_some_and(|j| j != &Value::Bool(false));
            (!tested && !judged).then(|| Violation {
                key: None,
                problem: "it has no ScenarioTest and no ManualJudgment".into(),
                fix: "add a `ScenarioTest`, or `\"ManualJudgment\": true`".into(),
            })
        }
        Check::ForbidAutoPromotion => {
            (v.get("AutoPromotion") == Some(&Value::Bool(true))).then(|| Violation {
                key: Some("AutoPromotion"),
                problem: "`AutoPromotion` is true".into(),
                fix: "remove `AutoPromotion`".into(),
            })
        }
        Check::MinReplicas(min) => {
            let replicas = v
                .get("Replicas")
                .and_then(Value::as_i64)
                .unwrap_or(DEFAULT_REPLICAS);
            (replicas < *min).then(|| Violation {
                key: v.contains_key("Replicas").then_some("Replicas"),
                problem: format!(
                    "it runs {replicas} replica{}",
                    if replicas == 1 { "" } else { "s" }
                ),
                fix: format!("set `\"Replicas\": {min}` or more"),
            })
        }
        Check::AllowedRegistries(prefixes) => {
            let image = v.get("Image").and_then(Value::as_str).unwrap_or_default();
            (!prefixes.iter().any(|p| image.starts_with(p.as_str()))).then(|| Violation {
                key: Some("Image"),
                problem: format!("its image `{image}` is not from an approved registry"),
                fix: format!(
                    "use an image under {}",
                    prefixes
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
        Check::AllowedRunAsUsers(accounts) => {
            let listed = accounts
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            match v.get("RunAsUser").and_then(Value::as_str) {
                Some(user) if accounts.iter().any(|a| a == user) => None,
                Some(user) => {
                    let hint = closest(user, accounts.iter().map(String::as_str))
                        .map(|b| format!(" (did you mean `{b}`?)"))
                        .unwrap_or_default();
                    Some(Violation {
                        key: Some("RunAsUser"),
                        problem: format!(
                            "its triggers would run as `{user}`, which is not one of the platform's service accounts{hint}"
                        ),
                        fix: format!("set `RunAsUser` to one of {listed}"),
                    })
                }
                None => Some(Violation {
                    key: None,
                    problem: "it sets no `RunAsUser`: with authorization (Fiat), Echo runs its triggers as `anonymous` and skips them unless anonymous may execute the application".into(),
                    fix: format!("set `RunAsUser` to one of {listed}"),
                }),
            }
        }
        Check::RequireNotificationOn(events) => {
            let when: Vec<String> = match v.get("Notification") {
                Some(Value::String(_)) => ALL_EVENTS.iter().map(|e| e.to_string()).collect(),
                Some(Value::Object(n)) => strings(n.get("When"))
                    .unwrap_or_else(|| ALL_EVENTS.iter().map(|e| e.to_string()).collect()),
                _ => Vec::new(),
            };
            let missing: Vec<&String> = events.iter().filter(|e| !when.contains(e)).collect();
            (!missing.is_empty()).then(|| Violation {
                key: Some("Notification"),
                problem: format!(
                    "its Notification does not notify on {}",
                    missing
                        .iter()
                        .map(|e| format!("`{e}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                fix: format!(
                    "add {} to `Notification.When`",
                    missing
                        .iter()
                        .map(|e| format!("\"{e}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
    }
}

impl Policy {
    /// The violations (errors) and exempted violations (notes) of one value file.
    pub fn check(
        &self,
        file: &ValueFile,
        application: &str,
        environments: &[Environment],
    ) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for env in environments {
            let env_words = match &env.name {
                Some(n) => format!("environment `{n}`"),
                None => "the release".to_string(),
            };
            for rule in self.rules.iter().filter(|r| r.applies_to(env)) {
                let Some(v) = violation(rule, env) else {
                    continue;
                };
                // Point at the key that breaks the rule when the value file set it, else at
                // the environment (or the file) that lacks what the rule asks.
                let origin = v.key.and_then(|k| env.origin_of(k, None));
                let (pointer, from_platform) = match (&origin, &env.declared) {
                    (Some(Origin::File(p)), _) => (p.clone(), false),
                    (Some(Origin::Platform(_)), Some(Origin::File(p))) => (p.clone(), true),
                    (Some(Origin::Platform(_)), _) => (String::new(), true),
                    (None, Some(Origin::File(p))) => (p.clone(), false),
                    (None, _) => (String::new(), false),
                };
                let mut message = format!(
                    "policy rule `{}` ({}): {env_words} breaks it: {}; {}",
                    rule.name, rule.location, v.problem, v.fix
                );
                if from_platform {
                    message.push_str(" (the current value comes from the platform's defaults)");
                }
                let exemption = self
                    .exemptions
                    .iter()
                    .find(|e| e.application == application && e.rule == rule.name && !e.expired);
                let mut d = file.diagnostic(&pointer, v.key.is_some() && !from_platform, message);
                if let Some(e) = exemption {
                    d.severity = Severity::Note;
                    d = d.with_note(format!(
                        "exempted until {} ({}): {}",
                        e.expires, e.location, e.reason
                    ));
                } else if let Some(why) = &rule.description {
                    d = d.with_note(why.clone());
                }
                out.push(d);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_date("2027-03-31"));
        assert!(is_date("2028-02-29"));
        assert!(!is_date("2027-02-29"));
        assert!(!is_date("2027-13-01"));
        assert!(!is_date("2027-3-31"));
        // ISO dates compare as strings.
        assert!("2026-12-01" < "2026-12-02");
    }
}
