//! The learned session table: session id (bytes) → the server that owns it. HAProxy 1.5's
//! `appsession` table (docs/haproxy-compatibility.md §15), concurrent and bounded.
//!
//! Shape:
//! - A `quick_cache::sync::Cache` keyed by the id: fixed shards, each behind its own
//!   read-write lock. A lookup is one shared-lock read of a `Copy` value (`Owner`: server
//!   ref and last-seen second, 8 bytes). A hit writes (exclusive lock, in place) only when
//!   its last-seen time is `refresh_every` seconds stale (see `idle.rs`), so steady traffic
//!   on an id is read-only between refreshes.
//! - Entries name their server by an interned name ([`ServerRef`]), never by an index into
//!   the current server list, as HAProxy 1.5 stored `srv->id` in each entry.
//! - Idle expiry without a timer per entry: a lookup that finds a dead entry removes it,
//!   and one background task per table calls [`SessionTable::sweep`] every few seconds, as
//!   HAProxy 1.5's `appsession_refresh()` task did every 5 s (src/appsession.c).
//!
//! # Eviction: which entries go when the table is full, and why
//! `max_entries` is a hard bound on the entries held. quick_cache evicts with a CLOCK-Pro
//! variant close to S3-FIFO. Each shard keeps two rings and a ghost list:
//! - *hot*, the protected part (90% of a shard here). A new id enters hot only while hot
//!   has room (as the table fills up, or after sweeps emptied it); a cold entry that was
//!   hit gets promoted into it. Hot entries are evicted only when a promotion overflows
//!   hot, by a CLOCK hand that passes over (and ages) every entry hit since the hand's
//!   last visit: an entry in use keeps its place.
//! - *cold*, probation (the other 10%): where new ids land once hot is full. When room is
//!   needed, the oldest cold entry is evicted, unless it was hit since it arrived, in
//!   which case it is promoted to hot instead.
//! - *ghosts*: hashes of recently evicted cold ids (up to half the capacity; each takes a
//!   slab slot but no key). An evicted id that is learned again goes straight to hot.
//!
//! A flood of one-time ids (a scan, clients that never keep their cookie, an attacker
//! minting ids) therefore cycles through the cold ring only: each flooding id evicts an
//! earlier flooding id, never an entry that was looked up. A plain LRU would instead evict
//! every entry not touched during the last `max_entries` insertions: in the flood test
//! (10^6 one-time ids into a 10^4 table, the 10^3 ids in use looked up every 2 * 10^4
//! insertions) this table keeps 100% of the ids in use where an LRU keeps 0%. The price is
//! paid by ids that arrive during a flood: they share probation with it, and are kept only
//! if looked up before `cold size / flood rate` seconds; hence 10% of probation (S3-FIFO's
//! small queue) rather than quick_cache's default 3%. Flooding ids that are looked up while
//! on probation do get promoted, and then push out the hot entries idle the longest.
//!
//! Capacity is split evenly across shards (64 at most, 256 entries each at least) and each
//! shard is bounded on its own: the table holds at most `max_entries` rounded down to a
//! multiple of the shard count (at most 63 fewer), and a full shard evicts even while
//! others have room (about 0.3% of a 10^6 table filled once with random ids).

mod displaced;
mod idle;
mod key;
mod servers;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use quick_cache::sync::{Cache, EntryAction};
use quick_cache::{DefaultHashBuilder, OptionsBuilder, UnitWeighter};

use displaced::CollectDisplaced;
use idle::IdleRule;
use key::SessionKey;
use servers::Interner;
pub use servers::ServerRef;

/// Most shards a table uses: enough for short sweep pauses (each shard is locked for
/// 1/64th of a sweep) and little contention on many cores.
const MAX_SHARDS: u64 = 64;
/// Fewest entries per shard: smaller shards would make the per-shard bound evict early.
const MIN_SHARD_ENTRIES: u64 = 256;
/// Share of each shard for entries that proved themselves (see the module docs).
const HOT_SHARE: f64 = 0.9;

/// The value of an entry: who owns the id and when it was last recorded as seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    server: ServerRef,
    /// Unix seconds, written at most once per refresh granularity.
    last_seen: u32,
}

/// What [`SessionTable::learn`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// The id was unknown (or its entry had expired): a new entry.
    Inserted,
    /// The id belonged to another server; it now belongs to the new one.
    Repointed { from: ServerRef },
    /// The id already belonged to this server; it counts as seen now.
    Refreshed,
    /// The id belongs to another server, which keeps it; it counts as seen now.
    Kept { owner: ServerRef },
}

/// One live entry, for the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: Box<[u8]>,
    pub server: ServerRef,
    /// Seconds since the entry was last recorded as seen (hits are recorded at most once
    /// per refresh granularity, so this may lag the last hit by that much).
    pub idle_secs: u32,
}

/// Counters of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStats {
    /// Entries held now (expired ones not yet swept included).
    pub entries: u64,
    /// Entries evicted to make room, since the table was created.
    pub evictions: u64,
    /// Entries removed for being idle too long, since the table was created.
    pub expirations: u64,
    /// Live entries per interned server, as of the last sweep, in ref order.
    pub per_server: Vec<(ServerRef, u64)>,
}

type IdCache = Cache<SessionKey, Owner, UnitWeighter, DefaultHashBuilder, CollectDisplaced>;

/// A concurrent, bounded, idle-expiring map from session id to owning server.
pub struct SessionTable {
    cache: IdCache,
    idle: IdleRule,
    servers: Interner,
    evictions: AtomicU64,
    expirations: AtomicU64,
    /// Live entries per server ref, counted by the last sweep.
    per_server: RwLock<Vec<u64>>,
}

impl SessionTable {
    /// `timeout`: idle expiry, rounded up to whole seconds (zero: never). `max_entries`:
    /// hard bound (values below 1 count as 1).
    pub fn new(max_entries: u64, timeout: Duration) -> Self {
        let max_entries = max_entries.max(1);
        let mut shards = MAX_SHARDS;
        while shards > 1 && max_entries / shards < MIN_SHARD_ENTRIES {
            shards /= 2;
        }
        // Equal shards that add up to no more than max_entries.
        let capacity = max_entries / shards * shards;
        let estimated_items = usize::try_from(capacity).unwrap_or(usize::MAX);
        let options = OptionsBuilder::new()
            .shards(shards as usize)
            .hot_allocation(HOT_SHARE)
            .estimated_items_capacity(estimated_items)
            .weight_capacity(capacity)
            .build();
        let hasher = DefaultHashBuilder::default();
        let cache = match options {
            Ok(options) => Cache::with_options(options, UnitWeighter, hasher, CollectDisplaced),
            // build() only fails on a missing capacity, and both are set above.
            Err(_) => Cache::with(
                estimated_items,
                capacity,
                UnitWeighter,
                hasher,
                CollectDisplaced,
            ),
        };
        SessionTable {
            cache,
            idle: IdleRule::new(timeout),
            servers: Interner::default(),
            evictions: AtomicU64::new(0),
            expirations: AtomicU64::new(0),
            per_server: RwLock::new(Vec::new()),
        }
    }

    /// Interns a server name (at startup for every server; also used when restoring).
    pub fn server_ref(&self, name: &str) -> ServerRef {
        self.servers.intern(name)
    }

    /// The name interned as `server`.
    pub fn server_name(&self, server: ServerRef) -> Option<Arc<str>> {
        self.servers.name(server)
    }

    /// The server owning `id`, if present and not expired at `now` (unix seconds). A hit
    /// refreshes the entry's idle timer at most once per refresh granularity (see
    /// `idle.rs`); other hits are a shared-lock read. An expired entry is removed and
    /// counted as an expiration. (HAProxy 1.5 only purged in its 5 s task and could still
    /// use an entry past its expiry; checking on every read makes the answer independent
    /// of when the sweep last ran.)
    pub fn lookup(&self, id: &[u8], now: u32) -> Option<ServerRef> {
        let owner = self.cache.get(id)?;
        if self.idle.is_expired(owner.last_seen, now) {
            self.remove_expired(id, now);
            return None;
        }
        if self.idle.refresh_due(owner.last_seen, now) {
            self.refresh(id, now);
        }
        Some(owner.server)
    }

    /// Records that `id` belongs to `server` at `now`: a new entry, a re-pointed one (the
    /// last server to serve the id owns it), or a refresh of the same owner (written at
    /// most once per refresh granularity, like a hit).
    pub fn learn(&self, id: &[u8], server: ServerRef, now: u32) -> Learned {
        self.learn_unless_kept(id, server, now, |_| false)
    }

    /// [`learn`](Self::learn), except that a live entry whose owner `keeps(owner)` stays
    /// with that owner and only counts as seen ([`Learned::Kept`]): HAProxy 1.5's
    /// appsession never re-pointed an entry to another server.
    pub fn learn_unless_kept(
        &self,
        id: &[u8],
        server: ServerRef,
        now: u32,
        keeps: impl Fn(ServerRef) -> bool,
    ) -> Learned {
        // Fast path: a live owner that stays; a read unless the refresh is due.
        if let Some(owner) = self.cache.get(id) {
            let stays = owner.server == server || keeps(owner.server);
            if stays && !self.idle.is_expired(owner.last_seen, now) {
                if self.idle.refresh_due(owner.last_seen, now) {
                    self.refresh(id, now);
                }
                return if owner.server == server {
                    Learned::Refreshed
                } else {
                    Learned::Kept {
                        owner: owner.server,
                    }
                };
            }
        }
        let inserted = Owner {
            server,
            last_seen: now,
        };
        let displaced = self
            .cache
            .insert_with_lifecycle(SessionKey::new(id), inserted);
        let (replaced, evicted) = displaced.split(id);
        if evicted > 0 {
            self.evictions.fetch_add(evicted, Ordering::Relaxed);
        }
        match replaced {
            None => Learned::Inserted,
            Some(old) if self.idle.is_expired(old.last_seen, now) => {
                self.expirations.fetch_add(1, Ordering::Relaxed);
                Learned::Inserted
            }
            // Another thread learned the same pair between the read and the insert.
            Some(old) if old.server == server => Learned::Refreshed,
            // Another thread gave the id an owner that keeps it between the read and the
            // insert (two first requests of one client balanced apart): it stays there.
            Some(old) if keeps(old.server) => {
                self.cache.insert(SessionKey::new(id), old);
                Learned::Kept { owner: old.server }
            }
            Some(old) => Learned::Repointed { from: old.server },
        }
    }

    /// Removes `id`; true when it was held (even if idle past the timeout but not yet
    /// swept: the caller asked for it to go, and it is gone).
    pub fn forget(&self, id: &[u8]) -> bool {
        self.cache.remove(id).is_some()
    }

    /// Entries held now, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// True when the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// One pass over the table: removes expired entries (counted) and recounts entries per
    /// server (kept for [`stats`](Self::stats) and [`sessions_of`](Self::sessions_of)).
    /// Meant to run every few seconds from one background task per table. Each shard is
    /// locked exclusively while it is scanned (1/64th of the table at a time).
    pub fn sweep(&self, now: u32) {
        let expired = Cell::new(0u64);
        let counts = RefCell::new(vec![0u64; self.servers.len()]);
        self.cache.retain(|_, owner| {
            if self.idle.is_expired(owner.last_seen, now) {
                expired.set(expired.get() + 1);
                return false;
            }
            // The only borrow of `counts`: retain calls this closure one entry at a time.
            if let Ok(mut counts) = counts.try_borrow_mut() {
                let index = owner.server.index();
                if index >= counts.len() {
                    counts.resize(index + 1, 0);
                }
                if let Some(count) = counts.get_mut(index) {
                    *count += 1;
                }
            }
            true
        });
        self.expirations
            .fetch_add(expired.into_inner(), Ordering::Relaxed);
        *self
            .per_server
            .write()
            .unwrap_or_else(PoisonError::into_inner) = counts.into_inner();
    }

    /// Counters, with per-server counts as of the last sweep. Cheap: no pass over entries.
    pub fn stats(&self) -> TableStats {
        let counts = self
            .per_server
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let per_server = (0..self.servers.len())
            .map(|index| {
                let count = counts.get(index).copied().unwrap_or(0);
                (ServerRef::from_index(index), count)
            })
            .collect();
        TableStats {
            entries: self.cache.len() as u64,
            evictions: self.evictions.load(Ordering::Relaxed),
            expirations: self.expirations.load(Ordering::Relaxed),
            per_server,
        }
    }

    /// Up to `limit` live entries (for the admin API), in no particular order, with their
    /// idle time at `now`. Expired entries are skipped, not removed.
    pub fn items(&self, limit: usize, now: u32) -> Vec<Item> {
        self.cache
            .iter()
            .filter(|(_, owner)| !self.idle.is_expired(owner.last_seen, now))
            .take(limit)
            .map(|(key, owner)| Item {
                key: Box::from(key.as_bytes()),
                server: owner.server,
                idle_secs: IdleRule::idle(owner.last_seen, now),
            })
            .collect()
    }

    /// Entries pointing at `server`, as of the last sweep.
    pub fn sessions_of(&self, server: ServerRef) -> u64 {
        let counts = self
            .per_server
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        counts.get(server.index()).copied().unwrap_or(0)
    }

    /// Removes `id` if it is still expired at `now` (a concurrent learn may have revived
    /// it since it was read).
    fn remove_expired(&self, id: &[u8], now: u32) {
        let removed = self
            .cache
            .remove_if(id, |owner| self.idle.is_expired(owner.last_seen, now));
        if removed.is_some() {
            self.expirations.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a hit at `now` in place, keeping the owner (which a concurrent learn may
    /// have changed since it was read).
    fn refresh(&self, id: &[u8], now: u32) {
        let key = SessionKey::new(id);
        let result = self.cache.entry(&key, Some(Duration::ZERO), |_, owner| {
            if self.idle.refresh_due(owner.last_seen, now) {
                owner.last_seen = now;
            }
            EntryAction::Retain(())
        });
        // Vacant: the entry went away since it was read; dropping the guard leaves it gone.
        // Timeout: another thread is inserting the id right now; its time is fresh anyway.
        drop(result);
    }
}
