//! The balancer's committed picture of the servers, and HAProxy's server census.
//!
//! HAProxy's LB modules keep, per server, the *current* (committed) usability and effective
//! weight, and react to `set_server_status_up/down` and `update_server_eweight` events. The
//! balancer sees a [`ServerView`] instead, so on every generation change it compares the
//! view with its committed [`SrvState`]s and replays the matching event per changed server,
//! in declaration order.

use super::ServerView;

/// HAProxy `BE_WEIGHT_SCALE` (`include/haproxy/backend-t.h`): eweight = uweight * 16 for the
/// dynamic algorithms.
pub(crate) const BE_WEIGHT_SCALE: u32 = 16;
/// HAProxy `SRV_UWGHT_MAX`: the largest user weight.
pub(crate) const SRV_UWGHT_MAX: u32 = 256;
/// HAProxy `SRV_EWGHT_RANGE` / `SRV_EWGHT_MAX` (`include/haproxy/server-t.h`).
pub(crate) const SRV_EWGHT_MAX: u32 = SRV_UWGHT_MAX * BE_WEIGHT_SCALE;

/// One server as an LB module last committed it (`cur_state`, `cur_admin`, `cur_eweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SrvState {
    /// `srv_currently_usable()`: eligible for new traffic and eweight > 0.
    pub usable: bool,
    pub backup: bool,
    /// User weight (`uweight`), 0..=256.
    pub uweight: u32,
    /// Effective weight (`cur_eweight`).
    pub eweight: u32,
}

impl SrvState {
    /// Reads server `i` from the view. `eweight_of` maps the user weight (clamped to
    /// 0..=256) to the algorithm's effective weight.
    pub(crate) fn read(view: &impl ServerView, i: usize, eweight_of: impl Fn(u32) -> u32) -> Self {
        let uweight = view.weight(i).min(SRV_UWGHT_MAX);
        let eweight = eweight_of(uweight);
        Self {
            usable: eweight > 0 && view.eligible(i),
            backup: view.is_backup(i),
            uweight,
            eweight,
        }
    }
}

/// Effective weight of the dynamic algorithms (`fwrr`, `fwlc`, `fas`, `chash`):
/// `(uweight * wdiv + wmult - 1) / wmult` with `wdiv = BE_WEIGHT_SCALE`, `wmult = 1`.
pub(crate) fn dynamic_eweight(uweight: u32) -> u32 {
    uweight * BE_WEIGHT_SCALE
}

/// Which servers an LB lookup works on (the head of every HAProxy `*_get_next_server()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// At least one active server is usable (`srv_act`).
    Active,
    /// No active server; the first usable backup (`lbprm.fbck`, without `allbackups`).
    FirstBackup(usize),
    /// No active server; all usable backups (`allbackups`).
    Backups,
    /// Nothing usable.
    Nothing,
}

/// `recount_servers()` + `update_backend_weight()` (`src/backend.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Census {
    pub srv_act: u32,
    pub srv_bck: u32,
    pub tot_wact: u32,
    pub tot_wbck: u32,
    /// First usable backup in declaration order, only without `allbackups`.
    pub fbck: Option<usize>,
    pub tot_weight: u32,
    pub tot_used: u32,
}

impl Census {
    pub(crate) fn count(servers: &[SrvState], allbackups: bool) -> Self {
        let mut c = Census::default();
        for (i, s) in servers.iter().enumerate() {
            if !s.usable {
                continue;
            }
            if s.backup {
                if c.srv_bck == 0 && !allbackups {
                    c.fbck = Some(i);
                }
                c.srv_bck += 1;
                c.tot_wbck = c.tot_wbck.wrapping_add(s.eweight);
            } else {
                c.srv_act += 1;
                c.tot_wact = c.tot_wact.wrapping_add(s.eweight);
            }
        }
        // update_backend_weight()
        if c.srv_act > 0 {
            c.tot_weight = c.tot_wact;
            c.tot_used = c.srv_act;
        } else if let Some(b) = c.fbck {
            c.tot_weight = servers.get(b).map_or(0, |s| s.eweight);
            c.tot_used = 1;
        } else {
            c.tot_weight = c.tot_wbck;
            c.tot_used = c.srv_bck;
        }
        c
    }

    pub(crate) fn target(&self) -> Target {
        if self.srv_act > 0 {
            Target::Active
        } else if let Some(b) = self.fbck {
            Target::FirstBackup(b)
        } else if self.srv_bck > 0 {
            Target::Backups
        } else {
            Target::Nothing
        }
    }
}

/// Replays the view's changes as HAProxy LB events. Implemented by each stateful module.
pub(crate) trait LbEvents {
    /// The module's effective weight for a user weight.
    fn eweight_of(&self, uweight: u32) -> u32;
    /// Committed states, indexed by server.
    fn committed(&self) -> &[SrvState];
    /// (Re)builds everything from scratch, as the module's `*_init_server_*()` does at
    /// startup.
    fn init(&mut self, servers: Vec<SrvState>, view: &impl ServerView);
    /// Server `i` changes from its committed state to `next` (both differ). The module
    /// applies `set_server_status_up/down` or `update_server_eweight` and commits.
    fn change(&mut self, i: usize, next: SrvState, view: &impl ServerView);
    /// Called once after a batch of changes.
    fn changes_done(&mut self) {}
}

/// Brings `lb` up to date with `view`: a full init the first time (or when the server count
/// or a backup flag changed), else one event per changed server in declaration order.
pub(crate) fn sync(lb: &mut impl LbEvents, view: &impl ServerView) {
    let n = view.count();
    let needs_init = lb.committed().len() != n
        || (0..n).any(|i| lb.committed().get(i).map(|s| s.backup) != Some(view.is_backup(i)));
    if needs_init {
        let servers = (0..n)
            .map(|i| SrvState::read(view, i, |w| lb.eweight_of(w)))
            .collect();
        lb.init(servers, view);
        return;
    }
    let mut changed = false;
    for i in 0..n {
        let next = SrvState::read(view, i, |w| lb.eweight_of(w));
        if lb.committed().get(i) != Some(&next) {
            lb.change(i, next, view);
            changed = true;
        }
    }
    if changed {
        lb.changes_done();
    }
}

/// Applies server `i`'s change alone (HAProxy handles each state or weight change as it
/// happens). Falls back to a full [`sync`] when the state was never built or the servers
/// changed shape.
pub(crate) fn sync_one(lb: &mut impl LbEvents, view: &impl ServerView, i: usize) {
    let n = view.count();
    if i >= n {
        return;
    }
    let same_shape = lb.committed().len() == n
        && lb.committed().get(i).map(|s| s.backup) == Some(view.is_backup(i));
    if !same_shape {
        sync(lb, view);
        return;
    }
    let next = SrvState::read(view, i, |w| lb.eweight_of(w));
    if lb.committed().get(i) != Some(&next) {
        lb.change(i, next, view);
        lb.changes_done();
    }
}

/// An LB module with the view generation it was last synced to.
#[derive(Debug)]
pub(crate) struct Synced<T> {
    pub lb: T,
    pub generation: Option<u64>,
}

impl<T: LbEvents> Synced<T> {
    pub(crate) fn new(lb: T) -> Self {
        Self {
            lb,
            generation: None,
        }
    }
    pub(crate) fn is_current(&self, view: &impl ServerView, gen: u64) -> bool {
        self.generation == Some(gen) && self.lb.committed().len() == view.count()
    }
    pub(crate) fn refresh(&mut self, view: &impl ServerView, gen: u64) {
        if !self.is_current(view, gen) {
            sync(&mut self.lb, view);
            self.generation = Some(gen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(usable: bool, backup: bool, eweight: u32) -> SrvState {
        SrvState {
            usable,
            backup,
            uweight: eweight / 16,
            eweight,
        }
    }

    #[test]
    fn census_prefers_actives_then_first_backup() {
        let servers = [s(false, false, 16), s(true, true, 32), s(true, true, 16)];
        let c = Census::count(&servers, false);
        assert_eq!(c.target(), Target::FirstBackup(1));
        assert_eq!((c.tot_weight, c.tot_used, c.srv_bck), (32, 1, 2));
        let c = Census::count(&servers, true);
        assert_eq!(c.target(), Target::Backups);
        assert_eq!((c.tot_weight, c.tot_used), (48, 2));
        let servers = [s(true, false, 16), s(true, true, 16)];
        let c = Census::count(&servers, false);
        assert_eq!(c.target(), Target::Active);
        assert_eq!((c.tot_weight, c.tot_used), (16, 1));
        assert_eq!(Census::count(&[], false).target(), Target::Nothing);
    }
}
