//! The platform team's settings, kept in the GitOps repository beside the teams' value
//! files: defaults for value files (`defaults.json`), the release policy (`policy.json`)
//! and the SLO settings (`slo.json`: the metric provider), all in one directory: the
//! nearest `.kujira/` above each value file, up to the repository root, unless
//! `--platform DIR` (or `KUJIRA_PLATFORM`) names another (`resolve`). Without the directory, or
//! without either file, nothing changes: the built-in settings require every key, and the
//! built-in policy is empty. See docs/platform.md.

pub mod defaults;
pub mod policy;
pub mod resolve;
pub mod slo;
pub mod slo_rules;

use crate::diag::Diagnostic;
use crate::values::schema::ValueSchema;
use std::path::{Path, PathBuf};

/// Where the platform settings live by default, under the repository root.
pub const DEFAULT_DIR: &str = ".kujira";

#[derive(Debug, Default)]
pub struct Platform {
    /// The directory the settings were read from, when there is one.
    pub dir: Option<PathBuf>,
    pub defaults: Option<defaults::Defaults>,
    pub policy: Option<policy::Policy>,
    /// `slo.json`, when present and free of errors.
    pub slo: Option<slo::SloSettings>,
    /// `slo.json` is present but has errors (reported on their own).
    pub slo_invalid: bool,
    /// `defaults.json` is present but has errors: reported once, in that file, and the
    /// teams are not validated without the values it would give them (each would repeat
    /// the platform's problem as its own missing keys).
    pub defaults_invalid: bool,
}

impl Platform {
    /// Where the platform team sets the SLO settings, as messages name it.
    pub fn slo_file(&self) -> String {
        match &self.dir {
            Some(d) => d.join(slo::FILE_NAME).to_string_lossy().into_owned(),
            None => format!("{DEFAULT_DIR}/{} at the repository root", slo::FILE_NAME),
        }
    }
}

/// Reads the platform's files in `dir`. Problems in them are diagnostics of their own
/// file. Defaults with errors are not applied (the errors fail the run anyway); a policy's
/// valid rules are enforced whatever else is wrong in it.
pub fn load(
    dir: Option<&Path>,
    value_schema: &ValueSchema,
    today: &str,
) -> (Platform, Vec<Diagnostic>) {
    let mut platform = Platform::default();
    let mut problems = Vec::new();
    let Some(dir) = dir else {
        return (platform, problems);
    };
    platform.dir = Some(dir.to_path_buf());
    let defaults_path = dir.join(defaults::FILE_NAME);
    if defaults_path.exists() {
        match defaults::load(&defaults_path, value_schema) {
            Ok((d, mut ds)) => {
                let failed = crate::diag::count_errors(&ds) > 0;
                problems.append(&mut ds);
                if failed {
                    platform.defaults_invalid = true;
                } else {
                    platform.defaults = Some(d);
                }
            }
            Err(d) => {
                platform.defaults_invalid = true;
                problems.push(d);
            }
        }
    }
    let policy_path = dir.join(policy::FILE_NAME);
    if policy_path.exists() {
        // Kept with errors too: a rule that is wrong is left out, an exemption that expired
        // no longer exempts, and the other rules still apply.
        match policy::load(&policy_path, today) {
            Ok((p, mut ds)) => {
                problems.append(&mut ds);
                platform.policy = Some(p);
            }
            Err(d) => problems.push(d),
        }
    }
    let slo_path = dir.join(slo::FILE_NAME);
    if slo_path.exists() {
        match slo::load(&slo_path) {
            Ok((s, mut ds)) => {
                let failed = crate::diag::count_errors(&ds) > 0;
                problems.append(&mut ds);
                if failed {
                    platform.slo_invalid = true;
                } else {
                    platform.slo = Some(s);
                }
            }
            Err(d) => {
                platform.slo_invalid = true;
                problems.push(d);
            }
        }
    }
    problems.sort_by_key(|d| (d.file.clone(), d.line, d.column));
    (platform, problems)
}

/// Today as `YYYY-MM-DD` (UTC), or `KUJIRA_TODAY` when set (for reproducible tests and
/// audits of a past date). A `KUJIRA_TODAY` that is not such a date is an error: ignoring
/// it would judge exemptions on another day than the one asked for.
pub fn today() -> anyhow::Result<String> {
    if let Ok(t) = std::env::var("KUJIRA_TODAY")
        && !t.is_empty()
    {
        if policy::is_date(&t) {
            return Ok(t);
        }
        anyhow::bail!("KUJIRA_TODAY={t:?}: expected a date as YYYY-MM-DD, e.g. 2026-12-31");
    }
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    Ok(civil_date(days as i64))
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard
/// Hinnant's `civil_from_days`.
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(20_789), "2026-12-02");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }
}
