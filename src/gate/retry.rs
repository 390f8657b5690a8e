//! When to try a request again, and how long to wait.
//!
//! Exponential back-off (`first_delay`, doubling, at most `max_delay`) inside a total
//! budget per operation; the budget also bounds every wait for an application task. The
//! defaults suit the real Gate: a save can take Gate ~32 s before it answers, so one
//! request may take up to `request_timeout` (60 s); tests use tiny values. `KUJIRA_GATE_TIMEOUT`, `KUJIRA_GATE_RETRY_BUDGET` and `KUJIRA_GATE_BACKOFF`
//! (seconds, fractions allowed) override them.

use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Wait before the first retry.
    pub first_delay: Duration,
    /// Longest wait between two attempts (also caps a `Retry-After`).
    pub max_delay: Duration,
    /// Total time one operation may spend, retries and waits for its task included; no
    /// new attempt or poll starts after it.
    pub budget: Duration,
    /// Longest time for one request, from connecting to the end of the answer.
    pub request_timeout: Duration,
    /// Longest time to establish a connection.
    pub connect_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            budget: Duration::from_secs(120),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Small delays for tests: the behaviour is the same, only faster.
    pub fn fast() -> Self {
        Self {
            first_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
            budget: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
        }
    }

    /// The defaults, overridden by `KUJIRA_GATE_TIMEOUT` (per request),
    /// `KUJIRA_GATE_RETRY_BUDGET` (per operation) and `KUJIRA_GATE_BACKOFF` (first wait).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut p = Self::default();
        if let Some(d) = seconds_var(env, "KUJIRA_GATE_TIMEOUT")? {
            p.request_timeout = d;
            p.connect_timeout = p.connect_timeout.min(d);
        }
        if let Some(d) = seconds_var(env, "KUJIRA_GATE_RETRY_BUDGET")? {
            p.budget = d;
        }
        if let Some(d) = seconds_var(env, "KUJIRA_GATE_BACKOFF")? {
            p.first_delay = d;
            p.max_delay = p.max_delay.max(d);
        }
        Ok(p)
    }

    /// The wait before retry number `retry` (0-based): `first_delay * 2^retry`, at most
    /// `max_delay`.
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(20));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

fn seconds_var(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<Duration>, String> {
    let Some(raw) = env(name) else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Some(Duration::from_secs_f64(s))),
        _ => Err(format!(
            "{name} must be a number of seconds between 0 and 86400, got `{raw}`"
        )),
    }
}

/// The retry state of one operation.
#[derive(Debug)]
pub struct Backoff<'a> {
    policy: &'a RetryPolicy,
    started: Instant,
    deadline: Instant,
    retries: u32,
}

impl<'a> Backoff<'a> {
    pub fn new(policy: &'a RetryPolicy) -> Self {
        let started = Instant::now();
        Self {
            policy,
            started,
            deadline: started + policy.budget,
            retries: 0,
        }
    }

    /// Like [`Backoff::new`], but ending at `deadline` if that comes first: for a step
    /// inside an operation that has its own budget.
    pub fn until(policy: &'a RetryPolicy, deadline: Instant) -> Self {
        let mut b = Self::new(policy);
        b.deadline = b.deadline.min(deadline);
        b
    }

    /// When the budget ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How long to wait before the next attempt, or `None` when the budget does not allow
    /// one. A server's `Retry-After` is honoured up to `max_delay`.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        let mut d = self.policy.delay(self.retries);
        if let Some(ra) = retry_after {
            d = d.max(ra.min(self.policy.max_delay));
        }
        if Instant::now() + d > self.deadline {
            return None;
        }
        self.retries += 1;
        Some(d)
    }

    /// Attempts made so far (the first one included).
    pub fn attempts(&self) -> u32 {
        self.retries + 1
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// A `Retry-After` header: delay-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110 section 10.2.3), as a wait from `now`. A
/// date in the past means no wait; anything else is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `1.5s`, `250ms`: for messages.
pub fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum() {
        let p = RetryPolicy::default();
        let ms: Vec<u128> = (0..7).map(|i| p.delay(i).as_millis()).collect();
        assert_eq!(ms, vec![500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(8));
    }

    #[test]
    fn defaults_outlast_gates_save_wait() {
        let p = RetryPolicy::default();
        assert!(p.request_timeout > Duration::from_secs(32));
        assert!(p.budget >= Duration::from_secs(60));
    }

    #[test]
    fn the_budget_bounds_the_retries() {
        let p = RetryPolicy {
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
            budget: Duration::from_millis(35),
            ..RetryPolicy::fast()
        };
        let mut b = Backoff::new(&p);
        let mut n = 0;
        while let Some(d) = b.next_delay(None) {
            n += 1;
            std::thread::sleep(d);
            assert!(n < 10, "the budget must end the retries");
        }
        assert!((1..=3).contains(&n), "{n}");
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_maximum_delay() {
        let p = RetryPolicy::default();
        let mut b = Backoff::new(&p);
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(3600))),
            Some(Duration::from_secs(8))
        );
    }

    #[test]
    fn a_deadline_ends_the_retries_before_the_budget() {
        let p = RetryPolicy::default();
        let mut b = Backoff::until(&p, Instant::now() + Duration::from_millis(100));
        assert_eq!(b.next_delay(None), None, "500 ms does not fit in 100 ms");
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now),
            Some(Duration::from_secs(60)),
            "the obsolete RFC 850 form"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn environment_overrides() {
        let env = |k: &str| match k {
            "KUJIRA_GATE_TIMEOUT" => Some("90".to_string()),
            "KUJIRA_GATE_BACKOFF" => Some("0.05".to_string()),
            _ => None,
        };
        let p = RetryPolicy::from_env(&env).unwrap();
        assert_eq!(p.request_timeout, Duration::from_secs(90));
        assert_eq!(p.first_delay, Duration::from_millis(50));
        let bad = |k: &str| (k == "KUJIRA_GATE_RETRY_BUDGET").then(|| "soon".to_string());
        assert_eq!(
            RetryPolicy::from_env(&bad).unwrap_err(),
            "KUJIRA_GATE_RETRY_BUDGET must be a number of seconds between 0 and 86400, got `soon`"
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_secs(120)), "120s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
    }
}
