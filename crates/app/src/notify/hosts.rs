//! What the notifier holds per merchant host: its learned limit of deliveries in flight, the
//! deliveries in flight, and a short queue of claimed notifications waiting for a slot. A host
//! holds at most twice its limit (in flight plus queued), so a queued notification starts within
//! one delivery's time, well inside its lease; what a host cannot hold is released at once, and a
//! host with no room is left out of the next claim, so its backlog stays untouched in the
//! database instead of being claimed and written back.

use paygate_domain::concurrency::{AdaptiveLimit, Answer, LimitPolicy};
use paygate_store::NotificationRecord;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// A host's learned limit is forgotten this long after it last had work.
const IDLE_FORGET: Duration = Duration::from_secs(600);

struct Host {
    limit: AdaptiveLimit,
    in_flight: usize,
    queue: VecDeque<NotificationRecord>,
    last_active_ms: u64,
}

impl Host {
    fn limit(&self) -> usize {
        self.limit.limit() as usize
    }

    fn is_full(&self) -> bool {
        self.in_flight + self.queue.len() >= 2 * self.limit()
    }
}

pub(super) struct HostTable {
    policy: LimitPolicy,
    /// Deliveries in flight across all hosts may not exceed this.
    in_flight_max: usize,
    hosts: HashMap<String, Host>,
    /// Claimed but not to be delivered by us (a host's limit shrank under its queue); the
    /// dispatcher gives them back to the database in one statement.
    to_release: Vec<i64>,
}

impl HostTable {
    pub(super) fn new(policy: LimitPolicy, in_flight_max: usize) -> HostTable {
        HostTable {
            policy,
            in_flight_max: in_flight_max.max(1),
            hosts: HashMap::new(),
            to_release: Vec::new(),
        }
    }

    pub(super) fn in_flight(&self) -> usize {
        self.hosts.values().map(|h| h.in_flight).sum()
    }

    /// Notifications this process holds: in flight or queued.
    pub(super) fn held(&self) -> usize {
        self.hosts
            .values()
            .map(|h| h.in_flight + h.queue.len())
            .sum()
    }

    /// How many more notifications a claim may take: the table holds at most twice the
    /// in-flight bound.
    pub(super) fn room(&self) -> usize {
        (2 * self.in_flight_max).saturating_sub(self.held() + self.to_release.len())
    }

    /// Hosts that can take nothing more now, to leave out of the next claim.
    pub(super) fn busy_hosts(&self) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|(_, host)| host.is_full())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Takes in what a claim returned: each notification starts now, waits in its host's queue,
    /// or (past the host's room) is to be released. Returns those to start now.
    pub(super) fn admit(
        &mut self,
        claimed: Vec<NotificationRecord>,
        now_ms: u64,
    ) -> Vec<NotificationRecord> {
        let mut in_flight = self.in_flight();
        let mut start = Vec::new();
        for notification in claimed {
            let policy = self.policy;
            let host = self
                .hosts
                .entry(notification.notify_host.clone())
                .or_insert_with(|| Host {
                    limit: AdaptiveLimit::new(policy),
                    in_flight: 0,
                    queue: VecDeque::new(),
                    last_active_ms: now_ms,
                });
            host.last_active_ms = now_ms;
            if host.in_flight < host.limit() && in_flight < self.in_flight_max {
                host.in_flight += 1;
                in_flight += 1;
                start.push(notification);
            } else if host.in_flight + host.queue.len() < 2 * host.limit() {
                host.queue.push_back(notification);
            } else {
                self.to_release.push(notification.id);
            }
        }
        start
    }

    /// Queued notifications whose hosts now have a free slot, marked in flight.
    pub(super) fn startable(&mut self, now_ms: u64) -> Vec<NotificationRecord> {
        let mut in_flight = self.in_flight();
        let mut start = Vec::new();
        for host in self.hosts.values_mut() {
            while in_flight < self.in_flight_max && host.in_flight < host.limit() {
                let Some(notification) = host.queue.pop_front() else {
                    break;
                };
                host.in_flight += 1;
                host.last_active_ms = now_ms;
                in_flight += 1;
                start.push(notification);
            }
        }
        start
    }

    /// A delivery to `host` ended: its slot frees and the host's limit learns from the answer.
    /// A queue longer than the new limit gives its tail back.
    pub(super) fn finish(&mut self, host: &str, answer: Option<Answer>, now_ms: u64) {
        let Some(entry) = self.hosts.get_mut(host) else {
            return;
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        entry.last_active_ms = now_ms;
        if let Some(answer) = answer {
            entry.limit.observe(answer, now_ms);
        }
        while entry.queue.len() > entry.limit() {
            if let Some(notification) = entry.queue.pop_back() {
                self.to_release.push(notification.id);
            }
        }
    }

    /// Everything queued, to release (at shutdown, or at the end of a test's step).
    pub(super) fn drain_queues(&mut self) {
        for host in self.hosts.values_mut() {
            self.to_release
                .extend(host.queue.drain(..).map(|notification| notification.id));
        }
    }

    pub(super) fn take_releases(&mut self) -> Vec<i64> {
        std::mem::take(&mut self.to_release)
    }

    /// Forgets hosts idle for a while, so the table is bounded by the hosts seen recently.
    pub(super) fn forget_idle(&mut self, now_ms: u64) {
        let forget_ms = IDLE_FORGET.as_millis() as u64;
        self.hosts.retain(|_, host| {
            host.in_flight > 0
                || !host.queue.is_empty()
                || now_ms.saturating_sub(host.last_active_ms) < forget_ms
        });
    }

    /// The current limit of `host` (`Notifier::host_limit`).
    pub(super) fn limit_of(&self, host: &str) -> Option<usize> {
        self.hosts.get(host).map(Host::limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::schedule::NotificationStatus;
    use paygate_domain::{MerchantId, TradeNo};

    fn to(host: &str, id: i64) -> NotificationRecord {
        NotificationRecord {
            id,
            merchant_id: MerchantId::parse("M100000001").unwrap(),
            trade_no: TradeNo::parse("P2026112900000000000001").unwrap(),
            kind: "PAY".into(),
            notify_url: format!("http://{host}/n"),
            notify_host: host.into(),
            payload: "{}".into(),
            status: NotificationStatus::Pending,
            attempts: 0,
            next_attempt_at: 0,
            created_at: 0,
            last_error: None,
            finished_at: None,
        }
    }

    fn ids(list: &[NotificationRecord]) -> Vec<i64> {
        list.iter().map(|n| n.id).collect()
    }

    #[test]
    fn a_host_starts_up_to_its_limit_queues_as_many_again_and_releases_the_rest() {
        let mut table = HostTable::new(LimitPolicy::new(2, 8), 64);
        let started = table.admit((1..=6).map(|id| to("a:1", id)).collect(), 0);
        assert_eq!(ids(&started), [1, 2]);
        assert_eq!(table.held(), 4);
        assert_eq!(table.take_releases(), [5, 6]);
        assert_eq!(table.busy_hosts(), ["a:1"]);

        table.finish("a:1", Some(Answer::Answered { latency_ms: 1 }), 1);
        assert_eq!(ids(&table.startable(1)), [3]);
        assert!(
            table.busy_hosts().is_empty(),
            "one queue place is free again"
        );
    }

    #[test]
    fn a_failing_host_gives_back_what_its_smaller_limit_cannot_hold() {
        let mut table = HostTable::new(LimitPolicy::new(4, 8), 64);
        table.admit((1..=8).map(|id| to("slow:1", id)).collect(), 0);
        table.finish("slow:1", Some(Answer::Failed), 10);
        assert_eq!(table.limit_of("slow:1"), Some(2));
        assert_eq!(table.take_releases(), [8, 7], "the queue keeps only two");
        assert_eq!(table.held(), 5);
    }

    #[test]
    fn the_total_in_flight_bound_holds_across_hosts() {
        let mut table = HostTable::new(LimitPolicy::new(4, 8), 3);
        let started = table.admit(
            vec![to("a:1", 1), to("b:1", 2), to("c:1", 3), to("d:1", 4)],
            0,
        );
        assert_eq!(ids(&started), [1, 2, 3]);
        assert_eq!(table.in_flight(), 3);
        assert_eq!(table.held(), 4, "the fourth waits in its host's queue");
        assert_eq!(table.room(), 2);
    }

    #[test]
    fn idle_hosts_are_forgotten_and_busy_ones_kept() {
        let mut table = HostTable::new(LimitPolicy::new(1, 8), 64);
        table.admit(vec![to("a:1", 1), to("b:1", 2)], 0);
        table.finish("a:1", None, 0);
        table.forget_idle(IDLE_FORGET.as_millis() as u64 + 1);
        assert_eq!(table.limit_of("a:1"), None);
        assert_eq!(table.limit_of("b:1"), Some(1));
    }
}
