//! The invocation's deadline, from the Runtime API's `Lambda-Runtime-Deadline-Ms`.
//!
//! Lambda sends the end of the invocation as milliseconds since the Unix epoch,
//! always in the future when the event arrives. Some local emulators send
//! something else: `cargo lambda watch` sends `600000`, a duration, which read
//! as an epoch time lies in 1970. Taken at its word it would leave the function
//! no time at all, so a deadline already past when the event arrives counts as
//! unknown: the SDK's own time bounds (see [`super::sdk_config`]) still end every call.

use lambda_runtime::tracing::warn;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;
use tokio::time::Instant;

/// Whether the warning about a past deadline was logged (once per process).
static WARNED: AtomicBool = AtomicBool::new(false);

/// The instant the invocation ends, or `None` when `deadline` had passed at
/// `now` (logged once per process, as a warning).
pub fn invocation_deadline(deadline: SystemTime, now: SystemTime) -> Option<Instant> {
    let remaining = remaining(deadline, now);
    if remaining.is_none() && !WARNED.swap(true, Ordering::Relaxed) {
        let millis = deadline
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        warn!(
            deadline_ms = millis.to_string(),
            "the Runtime API's deadline had passed when the event arrived (Lambda never sends \
             one; local emulators may): running without one, within the SDK's own time bounds"
        );
    }
    remaining.map(|remaining| Instant::now() + remaining)
}

/// What `work` comes to, unless `deadline` (if any) comes first: `None` then, and `work` is
/// dropped where it stands.
pub async fn within<T>(deadline: Option<Instant>, work: impl Future<Output = T>) -> Option<T> {
    match deadline {
        None => Some(work.await),
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.ok(),
    }
}

/// The time left before `deadline`, or `None` if none is.
fn remaining(deadline: SystemTime, now: SystemTime) -> Option<std::time::Duration> {
    deadline
        .duration_since(now)
        .ok()
        .filter(|remaining| !remaining.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_deadline_in_the_future_leaves_the_time_until_it() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
        assert_eq!(
            remaining(now + Duration::from_secs(30), now),
            Some(Duration::from_secs(30))
        );
        let before = Instant::now();
        let end = invocation_deadline(
            SystemTime::now() + Duration::from_secs(30),
            SystemTime::now(),
        )
        .expect("a deadline");
        assert!(
            end >= before + Duration::from_secs(29)
                && end <= Instant::now() + Duration::from_secs(30)
        );
    }

    #[test]
    fn a_deadline_already_past_is_unknown() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
        // cargo lambda watch's `Lambda-Runtime-Deadline-Ms: 600000`.
        let emulated = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(remaining(emulated, now), None);
        assert_eq!(remaining(now, now), None);
        assert_eq!(remaining(now - Duration::from_millis(1), now), None);
        assert_eq!(invocation_deadline(emulated, SystemTime::now()), None);
        assert_eq!(invocation_deadline(emulated, SystemTime::now()), None);
    }
}
