//! Retry schedules as data (DESIGN §7). Notifications follow seed 003: the first attempt at
//! once, then retries 2 m, 10 m, 30 m, 1 h, 2 h, 6 h and 12 h after each failure, and nothing
//! after 24 h. Status polls follow seed 002 ⑦: 5 s, 10 s, 20 s, 1 min, then growing, bounded.

use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    At(i64),
    GiveUp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrySchedule {
    /// Wait after the k-th failure before attempt k+1.
    pub delays_ms: Vec<i64>,
    /// No attempt is made this long after the first one.
    pub give_up_after_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("a schedule needs 1 to 32 delays, each positive")]
    BadDelays,
}

impl RetrySchedule {
    pub const DELAYS_MAX: usize = 32;

    /// Seed 003's merchant notification schedule.
    pub fn notification() -> RetrySchedule {
        RetrySchedule {
            delays_ms: vec![
                2 * MINUTE_MS,
                10 * MINUTE_MS,
                30 * MINUTE_MS,
                HOUR_MS,
                2 * HOUR_MS,
                6 * HOUR_MS,
                12 * HOUR_MS,
            ],
            give_up_after_ms: 24 * HOUR_MS,
        }
    }

    /// Seed 002's polling of unknown outcomes: 5 s, 10 s, 20 s, 1 min, 2 min, 5 min, 10 min,
    /// then every 30 min until a day has passed.
    pub fn status_poll() -> RetrySchedule {
        let mut delays_ms = vec![
            5_000,
            10_000,
            20_000,
            MINUTE_MS,
            2 * MINUTE_MS,
            5 * MINUTE_MS,
        ];
        delays_ms.extend(std::iter::repeat_n(10 * MINUTE_MS, 2));
        delays_ms.extend(std::iter::repeat_n(30 * MINUTE_MS, 24));
        RetrySchedule {
            delays_ms,
            give_up_after_ms: 24 * HOUR_MS,
        }
    }

    /// A schedule from delays in seconds (a merchant's own setting).
    pub fn from_delays_secs(delays: &[i64], give_up_after_ms: i64) -> Result<Self, ScheduleError> {
        if delays.is_empty() || delays.len() > Self::DELAYS_MAX || delays.iter().any(|d| *d <= 0) {
            return Err(ScheduleError::BadDelays);
        }
        Ok(RetrySchedule {
            delays_ms: delays.iter().map(|d| d * 1000).collect(),
            give_up_after_ms,
        })
    }

    /// How many attempts the schedule allows in all: the first plus one per delay.
    pub fn attempts_max(&self) -> u32 {
        self.delays_ms.len() as u32 + 1
    }

    /// After `attempts_made` failed attempts, the first of which was at `first_at_ms`: when to
    /// try next, or give up. Delays are counted from the failed attempt (`failed_at_ms`).
    pub fn after_failure(
        &self,
        attempts_made: u32,
        first_at_ms: i64,
        failed_at_ms: i64,
    ) -> NextAttempt {
        let Some(delay) = attempts_made
            .checked_sub(1)
            .and_then(|i| self.delays_ms.get(i as usize))
        else {
            return NextAttempt::GiveUp;
        };
        let at = failed_at_ms + delay;
        if at - first_at_ms > self.give_up_after_ms {
            NextAttempt::GiveUp
        } else {
            NextAttempt::At(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attempt k (1-based) of a notification whose every attempt fails at once, as offsets from
    /// the first attempt: seed 003's table.
    const NOTIFY_OFFSETS_MIN: [i64; 8] = [0, 2, 12, 42, 102, 222, 582, 1302];

    #[test]
    fn notification_attempts_fall_due_at_the_seed_003_offsets() {
        let schedule = RetrySchedule::notification();
        let first = 1_795_000_000_000;
        let mut due = vec![first];
        let mut attempts = 1;
        while let NextAttempt::At(at) =
            schedule.after_failure(attempts, first, *due.last().unwrap())
        {
            due.push(at);
            attempts += 1;
        }
        let offsets: Vec<i64> = due.iter().map(|at| (at - first) / MINUTE_MS).collect();
        assert_eq!(offsets, NOTIFY_OFFSETS_MIN);
        assert_eq!(schedule.attempts_max(), 8);
        assert_eq!(
            schedule.after_failure(8, first, first + 1302 * MINUTE_MS),
            NextAttempt::GiveUp,
            "the 8th failure gives up"
        );
    }

    #[test]
    fn nothing_is_attempted_after_a_day() {
        let schedule = RetrySchedule::notification();
        let first = 0;
        // A slow first delivery pushed everything late: the 12 h retry would land past 24 h.
        assert_eq!(
            schedule.after_failure(7, first, 13 * HOUR_MS),
            NextAttempt::GiveUp
        );
        assert_eq!(
            schedule.after_failure(7, first, 11 * HOUR_MS),
            NextAttempt::At(23 * HOUR_MS)
        );
    }

    #[test]
    fn polls_start_at_five_seconds_and_grow_within_bounds() {
        let schedule = RetrySchedule::status_poll();
        assert_eq!(&schedule.delays_ms[..4], &[5_000, 10_000, 20_000, 60_000]);
        assert!(schedule.delays_ms.windows(2).all(|w| w[0] <= w[1]));
        assert!(schedule.delays_ms.iter().sum::<i64>() <= schedule.give_up_after_ms);
        assert!(schedule.delays_ms.len() <= RetrySchedule::DELAYS_MAX);
    }

    #[test]
    fn merchant_schedules_are_validated() {
        assert!(RetrySchedule::from_delays_secs(&[], HOUR_MS).is_err());
        assert!(RetrySchedule::from_delays_secs(&[10, 0], HOUR_MS).is_err());
        let custom = RetrySchedule::from_delays_secs(&[15, 15, 30], HOUR_MS).unwrap();
        assert_eq!(custom.attempts_max(), 4);
    }
}

crate::text_enum! {
    /// A notification's delivery state: `PENDING → {DELIVERED, GAVE_UP}` (an operator's re-send
    /// makes it PENDING again).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum NotificationStatus,
        unknown(text) => format!("unknown notification status {text:?}"), String {
        #[serde(rename = "PENDING")]
        Pending = "PENDING",
        #[serde(rename = "DELIVERED")]
        Delivered = "DELIVERED",
        #[serde(rename = "GAVE_UP")]
        GaveUp = "GAVE_UP",
    }
}

/// The host part of a notify URL, which bounds concurrent deliveries per merchant server.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

#[cfg(test)]
mod host_tests {
    #[test]
    fn the_host_is_the_authority_without_credentials() {
        assert_eq!(
            super::url_host("https://shop.example:8443/notify?x=1"),
            "shop.example:8443"
        );
        assert_eq!(super::url_host("http://u:p@127.0.0.1:9/n"), "127.0.0.1:9");
        assert_eq!(super::url_host("https://shop.example"), "shop.example");
    }
}
