//! The table's server identities: names interned to small dense integers.
//!
//! HAProxy 1.5 stored the server's *name* in each entry (`asession->serverid`, a copy of
//! `srv->id`) and resolved it by walking the server list on every hit
//! (src/proto_http.c `manage_client_side_appsession()`), so an entry survives a reordered
//! or edited server list. An interned name keeps that property in 4 bytes per entry: the
//! same name always gets the same ref, and refs are never reused.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// A server as the table knows it: an interned name. Refs are small dense integers handed
/// out by the table's own interner; the same name always gets the same ref (append-only),
/// so entries keep pointing at a server by name even if the server list is reordered.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ServerRef(u32);

impl ServerRef {
    /// Position in the interner (and in the per-server counts).
    pub(super) fn index(self) -> usize {
        self.0 as usize
    }

    pub(super) fn from_index(index: usize) -> Self {
        // 2^32 distinct server names cannot fit in memory; saturate rather than wrap.
        ServerRef(u32::try_from(index).unwrap_or(u32::MAX))
    }
}

/// Append-only name interner. Written at startup (and when restoring), read by the admin
/// API: a lock is fine here, the request path never touches it.
#[derive(Default)]
pub(super) struct Interner {
    inner: RwLock<Names>,
}

#[derive(Default)]
struct Names {
    by_ref: Vec<Arc<str>>,
    by_name: HashMap<Arc<str>, ServerRef>,
}

impl Interner {
    /// The ref of `name`, interning it on first use.
    pub(super) fn intern(&self, name: &str) -> ServerRef {
        if let Some(found) = self.read(|names| names.by_name.get(name).copied()) {
            return found;
        }
        let mut names = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have interned it between the two locks.
        if let Some(&found) = names.by_name.get(name) {
            return found;
        }
        let server = ServerRef::from_index(names.by_ref.len());
        let name: Arc<str> = Arc::from(name);
        names.by_ref.push(Arc::clone(&name));
        names.by_name.insert(name, server);
        server
    }

    pub(super) fn name(&self, server: ServerRef) -> Option<Arc<str>> {
        self.read(|names| names.by_ref.get(server.index()).cloned())
    }

    /// How many names were interned.
    pub(super) fn len(&self) -> usize {
        self.read(|names| names.by_ref.len())
    }

    fn read<T>(&self, f: impl FnOnce(&Names) -> T) -> T {
        // Nothing panics while holding the lock; a poisoned lock still holds valid names.
        f(&self.inner.read().unwrap_or_else(PoisonError::into_inner))
    }
}
