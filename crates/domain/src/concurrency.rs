//! How many deliveries one merchant host may have in flight, learned from how it answers
//! (additive increase, multiplicative decrease, as TCP finds a path's capacity): a host that
//! answers fast earns one more slot per window of fast answers, up to the configured bound; a
//! failure or a slow answer halves its slots, at most once per cool-down, since the deliveries
//! in flight when it slowed would otherwise halve it again for the same cause.

/// When an answer counts as fast or slow, and how far the limit may move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitPolicy {
    pub initial: u32,
    pub max: u32,
    /// An answer within this grows the limit.
    pub fast_ms: u64,
    /// An answer beyond this shrinks it (between the two, the limit holds).
    pub slow_ms: u64,
    /// The least time between two decreases.
    pub cooldown_ms: u64,
}

impl LimitPolicy {
    pub fn new(initial: u32, max: u32) -> LimitPolicy {
        let max = max.max(1);
        LimitPolicy {
            initial: initial.clamp(1, max),
            max,
            fast_ms: 250,
            slow_ms: 2_000,
            cooldown_ms: 1_000,
        }
    }
}

/// What one delivery came to, as far as the limit cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The host answered (whatever it said) after `latency_ms`.
    Answered { latency_ms: u64 },
    /// No usable answer: timeout, refused connection, 5xx.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdaptiveLimit {
    policy: LimitPolicy,
    limit: u32,
    /// Fast answers since the limit last grew; the limit grows once they fill a window.
    fast_in_window: u32,
    /// When the limit last shrank, in the caller's monotonic milliseconds.
    last_decrease_ms: Option<u64>,
}

impl AdaptiveLimit {
    pub fn new(policy: LimitPolicy) -> AdaptiveLimit {
        AdaptiveLimit {
            policy,
            limit: policy.initial,
            fast_in_window: 0,
            last_decrease_ms: None,
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Learns from one delivery that ended at `now_ms` (a monotonic clock).
    pub fn observe(&mut self, answer: Answer, now_ms: u64) {
        match answer {
            Answer::Answered { latency_ms } if latency_ms <= self.policy.fast_ms => {
                self.fast_in_window += 1;
                if self.fast_in_window >= self.limit {
                    self.fast_in_window = 0;
                    self.limit = (self.limit + 1).min(self.policy.max);
                }
            }
            Answer::Answered { latency_ms } if latency_ms <= self.policy.slow_ms => {}
            Answer::Answered { .. } | Answer::Failed => self.decrease(now_ms),
        }
        debug_assert!((1..=self.policy.max).contains(&self.limit));
    }

    fn decrease(&mut self, now_ms: u64) {
        let cooling = self
            .last_decrease_ms
            .is_some_and(|at| now_ms.saturating_sub(at) < self.policy.cooldown_ms);
        if cooling {
            return;
        }
        self.limit = (self.limit / 2).max(1);
        self.fast_in_window = 0;
        self.last_decrease_ms = Some(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Answer = Answer::Answered { latency_ms: 3 };
    const SLOW: Answer = Answer::Answered { latency_ms: 8_000 };

    fn limit(initial: u32, max: u32) -> AdaptiveLimit {
        AdaptiveLimit::new(LimitPolicy::new(initial, max))
    }

    #[test]
    fn a_fast_host_earns_one_slot_per_window_of_fast_answers_up_to_the_bound() {
        let mut l = limit(4, 6);
        for _ in 0..3 {
            l.observe(FAST, 0);
        }
        assert_eq!(l.limit(), 4, "a window is as many answers as the limit");
        l.observe(FAST, 0);
        assert_eq!(l.limit(), 5);
        for _ in 0..5 {
            l.observe(FAST, 0);
        }
        assert_eq!(l.limit(), 6);
        for _ in 0..100 {
            l.observe(FAST, 0);
        }
        assert_eq!(l.limit(), 6, "never past the configured bound");
    }

    #[test]
    fn a_failure_or_a_slow_answer_halves_the_slots_once_per_cooldown() {
        let mut l = limit(32, 32);
        l.observe(Answer::Failed, 10_000);
        assert_eq!(l.limit(), 16);
        l.observe(SLOW, 10_500);
        assert_eq!(
            l.limit(),
            16,
            "answers to the same trouble within the cool-down"
        );
        l.observe(SLOW, 11_000);
        assert_eq!(l.limit(), 8);
        for at in [12_000, 13_000, 14_000, 15_000, 16_000] {
            l.observe(Answer::Failed, at);
        }
        assert_eq!(l.limit(), 1, "never below one slot");
    }

    #[test]
    fn a_middling_answer_holds_the_limit() {
        let mut l = limit(4, 32);
        for _ in 0..20 {
            l.observe(Answer::Answered { latency_ms: 900 }, 0);
        }
        assert_eq!(l.limit(), 4);
    }

    #[test]
    fn the_initial_limit_is_kept_within_the_bound() {
        assert_eq!(limit(8, 2).limit(), 2);
        assert_eq!(limit(0, 2).limit(), 1);
        assert_eq!(limit(4, 0).limit(), 1);
    }
}
