//! What one insertion pushed out of the cache: the previous value of the same id (a
//! re-point or refresh) and the entries evicted to make room.
//!
//! quick_cache reports both through `Lifecycle::on_evict` (a replaced value goes through
//! `on_evict_hot`/`on_evict_cold` like an eviction). Within one insertion the replaced
//! value, when there is one, is always reported first, before the eviction loop runs
//! (quick_cache 0.6 shard.rs `insert_existing()`); and no eviction can carry the inserted
//! id, since a key is in the cache at most once. So the first report is the replaced
//! value exactly when its key is the inserted id, and every other report is an eviction.

use quick_cache::Lifecycle;

use super::key::SessionKey;
use super::Owner;

/// The cache's lifecycle hook: it only collects into the request's [`Displaced`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CollectDisplaced;

/// Everything one insertion pushed out. The first report is kept (it may be the replaced
/// value, and its key is freed after the shard lock is released); later ones are counted.
#[derive(Default)]
pub(super) struct Displaced {
    first: Option<(SessionKey, Owner)>,
    others: u64,
}

impl Displaced {
    /// Splits the reports of the insertion of `id`: the value it replaced, if any, and
    /// the number of entries evicted.
    pub(super) fn split(self, id: &[u8]) -> (Option<Owner>, u64) {
        match self.first {
            Some((key, owner)) if key.as_bytes() == id => (Some(owner), self.others),
            Some(_) => (None, self.others + 1),
            None => (None, self.others),
        }
    }
}

impl Lifecycle<SessionKey, Owner> for CollectDisplaced {
    type RequestState = Displaced;

    fn begin_request(&self) -> Displaced {
        Displaced::default()
    }

    fn on_evict(&self, state: &mut Displaced, key: SessionKey, owner: Owner) {
        if state.first.is_none() {
            state.first = Some((key, owner));
        } else {
            state.others += 1;
        }
    }
}
