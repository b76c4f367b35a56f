//! A per-process cache of what is read about a merchant on every request or payment: its opened
//! keys (signature checks) and its fee terms (the fee snapshot of each payment).
//!
//! An entry is trusted for `AppSettings::merchant_cache_ttl_ms` after it was loaded. A change made
//! through this process (a key rotation, an operator's PUT of money settings or fee schedules)
//! forgets the merchant's entries at once; another process sharing the database keeps using its
//! copy until the copy's TTL runs out. Every `forget` also moves a generation counter, and a value
//! loaded while the counter moved is not stored: a payment that read the old settings just before
//! a PUT cannot put them back into the cache after the PUT forgot them.

use paygate_domain::MerchantId;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// The cache's generation when a load started; storing the loaded value needs it unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation(u64);

struct Entries<V> {
    by_merchant: HashMap<MerchantId, (Instant, V)>,
    generation: u64,
}

pub(crate) struct MerchantCache<V>(RwLock<Entries<V>>);

impl<V> Default for MerchantCache<V> {
    fn default() -> Self {
        MerchantCache(RwLock::new(Entries {
            by_merchant: HashMap::new(),
            generation: 0,
        }))
    }
}

impl<V: Clone> MerchantCache<V> {
    /// The merchant's value if it was loaded less than `ttl` ago.
    pub(crate) fn fresh(&self, merchant: &MerchantId, ttl: Duration) -> Option<V> {
        let entries = self.0.read().expect("merchant cache lock");
        match entries.by_merchant.get(merchant) {
            Some((loaded, value)) if loaded.elapsed() < ttl => Some(value.clone()),
            _ => None,
        }
    }

    /// Taken before reading the database, and handed back to `store`.
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.0.read().expect("merchant cache lock").generation)
    }

    /// Keeps `value`, loaded since `loaded_at`, unless something was forgotten meanwhile (the
    /// value may predate that change; the next load reads it again).
    pub(crate) fn store(&self, merchant: &MerchantId, value: V, loaded_at: Generation) {
        let mut entries = self.0.write().expect("merchant cache lock");
        if entries.generation == loaded_at.0 {
            entries
                .by_merchant
                .insert(merchant.clone(), (Instant::now(), value));
        }
    }

    /// Drops the merchant's value: this process changed what it was loaded from.
    pub(crate) fn forget(&self, merchant: &MerchantId) {
        let mut entries = self.0.write().expect("merchant cache lock");
        entries.generation += 1;
        entries.by_merchant.remove(merchant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(30);

    fn merchant(id: &str) -> MerchantId {
        MerchantId::parse(id).unwrap()
    }

    #[test]
    fn a_stored_value_is_fresh_until_forgotten() {
        let cache = MerchantCache::default();
        let m = merchant("M100000000001");
        assert_eq!(cache.fresh(&m, TTL), None);
        cache.store(&m, 7, cache.generation());
        assert_eq!(cache.fresh(&m, TTL), Some(7));
        cache.forget(&m);
        assert_eq!(cache.fresh(&m, TTL), None);
    }

    #[test]
    fn a_zero_ttl_never_serves_from_the_cache() {
        let cache = MerchantCache::default();
        let m = merchant("M100000000001");
        cache.store(&m, 7, cache.generation());
        assert_eq!(cache.fresh(&m, Duration::ZERO), None);
    }

    #[test]
    fn a_value_loaded_before_a_forget_is_not_stored() {
        let cache = MerchantCache::default();
        let m = merchant("M100000000001");
        let before = cache.generation();
        cache.forget(&m);
        cache.store(&m, 7, before);
        assert_eq!(cache.fresh(&m, TTL), None, "the stale load was dropped");
        cache.store(&m, 8, cache.generation());
        assert_eq!(cache.fresh(&m, TTL), Some(8));
    }
}
