//! `balance leastconn` (HAProxy v2.6.0 `src/lb_fwlc.c`) and `balance first`
//! (`src/lb_fas.c`).
//!
//! leastconn keeps usable servers in a tree keyed by `(inflight + 1) * 4096 / eweight`
//! (0 when idle), where inflight = served + queued. Among equal keys the server
//! (re)inserted last comes last, so equally loaded servers take turns. HAProxy repositions
//! a server whenever it takes or drops a connection; here that happens when a server is
//! picked (with the load it is about to have), on [`Fwlc::reposition`] (wired to the
//! pool's load changes) and, lazily, for every server whose key changed when a pick
//! starts.

use super::pool::{dynamic_eweight, Census, LbEvents, SrvState, Target, SRV_EWGHT_MAX};
use super::tree::Tree;
use super::ServerView;

/// `fwlc_queue_srv()`'s key.
fn fwlc_key(inflight: u32, eweight: u32) -> u32 {
    if inflight == 0 {
        0
    } else {
        inflight.wrapping_add(1).wrapping_mul(SRV_EWGHT_MAX) / eweight.max(1)
    }
}

/// The leastconn state of one backend.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fwlc {
    committed: Vec<SrvState>,
    census: Census,
    allbackups: bool,
    act: Tree,
    bck: Tree,
}

impl Fwlc {
    pub(crate) fn new(allbackups: bool) -> Self {
        Self {
            allbackups,
            ..Self::default()
        }
    }

    /// `lbprm.tot_weight`: 0 when no server is usable.
    pub(crate) fn tot_weight(&self) -> u32 {
        self.census.tot_weight
    }

    fn tree(&mut self, i: usize) -> &mut Tree {
        if self.committed.get(i).is_some_and(|s| s.backup) {
            &mut self.bck
        } else {
            &mut self.act
        }
    }

    /// `fwlc_queue_srv()`.
    fn queue(&mut self, i: usize, eweight: u32, view: &impl ServerView) {
        let key = fwlc_key(view.load(i), eweight);
        self.tree(i).insert(key, i);
    }

    /// `fwlc_srv_reposition()`: moves server `i` if its key changed since it was queued.
    pub(crate) fn reposition(&mut self, i: usize, view: &impl ServerView) {
        let Some(s) = self.committed.get(i).copied() else {
            return;
        };
        if !s.usable {
            return;
        }
        let new_key = fwlc_key(view.load(i), s.eweight);
        let tree = self.tree(i);
        if tree.key_of(i) != Some(new_key) {
            tree.remove(i);
            tree.insert(new_key, i);
        }
    }

    /// `fwlc_get_next_server()`: the least loaded server that is not saturated, `avoid`
    /// only as a last resort.
    pub(crate) fn next_server(
        &mut self,
        view: &impl ServerView,
        avoid: Option<usize>,
    ) -> Option<usize> {
        for i in 0..self.committed.len() {
            self.reposition(i, view);
        }
        let tree = match self.census.target() {
            Target::Active => &self.act,
            Target::FirstBackup(b) => return Some(b),
            Target::Backups => &self.bck,
            Target::Nothing => return None,
        };
        let picked = first_available(tree.walk(), view, avoid)?;
        // HAProxy repositions the server as soon as it is assigned (`served++`, then
        // `server_take_conn`): do it now with the load it is about to have, so the order
        // is right even if the pool reports the new load late or not at all.
        let eweight = self.committed.get(picked).map_or(0, |s| s.eweight);
        let key = fwlc_key(view.load(picked).saturating_add(1), eweight);
        let tree = self.tree(picked);
        if tree.key_of(picked).is_some_and(|k| k != key) {
            tree.remove(picked);
            tree.insert(key, picked);
        }
        Some(picked)
    }
}

/// The walk shared by leastconn and first: the first server that is not saturated and not
/// `avoid`, else `avoid` if it was seen available.
fn first_available(
    servers: impl Iterator<Item = usize>,
    view: &impl ServerView,
    avoid: Option<usize>,
) -> Option<usize> {
    let mut avoided = None;
    for s in servers {
        if !view.is_full(s) {
            if Some(s) != avoid {
                return Some(s);
            }
            avoided = Some(s);
        }
    }
    avoided
}

impl LbEvents for Fwlc {
    fn eweight_of(&self, uweight: u32) -> u32 {
        dynamic_eweight(uweight)
    }

    fn committed(&self) -> &[SrvState] {
        &self.committed
    }

    /// `fwlc_init_server_tree()`.
    fn init(&mut self, servers: Vec<SrvState>, view: &impl ServerView) {
        let n = servers.len();
        self.census = Census::count(&servers, self.allbackups);
        self.act = Tree::with_capacity(n);
        self.bck = Tree::with_capacity(n);
        self.committed = servers;
        for i in 0..n {
            let s = self.committed[i];
            if s.usable {
                self.queue(i, s.eweight, view);
            }
        }
    }

    /// `fwlc_set_server_status_up/down()`, `fwlc_update_server_weight()`.
    fn change(&mut self, i: usize, next: SrvState, view: &impl ServerView) {
        let cur = self.committed[i];
        if cur.usable {
            self.tree(i).remove(i);
        }
        self.committed[i] = next;
        if next.usable {
            self.queue(i, next.eweight, view);
        }
    }

    fn changes_done(&mut self) {
        self.census = Census::count(&self.committed, self.allbackups);
    }
}

/// `balance first` (`src/lb_fas.c`): the tree is keyed by server id, i.e. declaration
/// order, and the weight only decides usability.
#[derive(Debug, Clone, Default)]
pub(crate) struct First {
    committed: Vec<SrvState>,
    census: Census,
    allbackups: bool,
}

impl First {
    pub(crate) fn new(allbackups: bool) -> Self {
        Self {
            allbackups,
            ..Self::default()
        }
    }

    /// `lbprm.tot_weight`: 0 when no server is usable.
    pub(crate) fn tot_weight(&self) -> u32 {
        self.census.tot_weight
    }

    /// `fas_get_next_server()`: the lowest-id server that is not saturated.
    pub(crate) fn next_server(
        &self,
        view: &impl ServerView,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let backup = match self.census.target() {
            Target::Active => false,
            Target::FirstBackup(b) => return Some(b),
            Target::Backups => true,
            Target::Nothing => return None,
        };
        let group = self
            .committed
            .iter()
            .enumerate()
            .filter(|(_, s)| s.usable && s.backup == backup)
            .map(|(i, _)| i);
        first_available(group, view, avoid)
    }
}

impl LbEvents for First {
    fn eweight_of(&self, uweight: u32) -> u32 {
        dynamic_eweight(uweight)
    }

    fn committed(&self) -> &[SrvState] {
        &self.committed
    }

    fn init(&mut self, servers: Vec<SrvState>, _view: &impl ServerView) {
        self.census = Census::count(&servers, self.allbackups);
        self.committed = servers;
    }

    fn change(&mut self, i: usize, next: SrvState, _view: &impl ServerView) {
        self.committed[i] = next;
    }

    fn changes_done(&mut self) {
        self.census = Census::count(&self.committed, self.allbackups);
    }
}
