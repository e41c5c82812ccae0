//! `balance roundrobin`: HAProxy's fast weighted round robin, ported from v2.6.0
//! `src/lb_fwrr.c` (docs/haproxy-compatibility.md §13.2).
//!
//! Each group (active, backup) has a "current" tree ordered by next position and two weight
//! trees, "init" and "next", that swap when a window is consumed. Every arithmetic detail is
//! kept, with C's types: server positions (`npos`, `lpos`, `rweight`) are `unsigned` and the
//! group counters are `int`, so comparisons between them are unsigned and all arithmetic
//! wraps. The picked sequence then equals HAProxy's, including after a server leaves, comes
//! back or changes weight at runtime.

use super::pool::{dynamic_eweight, Census, LbEvents, SrvState, Target, SRV_EWGHT_MAX};
use super::tree::Tree;
use super::ServerView;

/// `SRV_UWGHT_RANGE`: multiplier of a position in the current tree's key.
const SRV_UWGHT_RANGE: u32 = 256;

/// Which tree a server's `lb_tree` points to, or where its node is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Nowhere,
    Curr,
    T0,
    T1,
}

#[derive(Debug, Clone)]
struct Srv {
    cur: SrvState,
    /// `srv->lb_tree`: the tree the server logically belongs to.
    lb_tree: Where,
    /// Where its node is physically linked (`lb_node.node.leaf_p`); `eb32_delete()` is a
    /// no-op on an unlinked node, and `lb_tree` may differ while a pick holds it out.
    linked: Where,
    npos: u32,
    lpos: u32,
    rweight: u32,
}

/// `struct fwrr_group`.
#[derive(Debug, Clone, Default)]
struct Group {
    curr: Tree,
    t: [Tree; 2],
    /// Index in `t` of the "init" tree; the other one is "next".
    init: usize,
    curr_pos: u32,
    curr_weight: u32,
    next_weight: u32,
}

impl Group {
    /// Same position and same trees (ignoring insertion counters).
    fn same_as(&self, o: &Group) -> bool {
        let same_tree = |a: &Tree, b: &Tree| a.entries().eq(b.entries());
        self.curr_pos == o.curr_pos
            && self.curr_weight == o.curr_weight
            && self.next_weight == o.next_weight
            && self.init == o.init
            && same_tree(&self.curr, &o.curr)
            && same_tree(&self.t[0], &o.t[0])
            && same_tree(&self.t[1], &o.t[1])
    }

    fn new(n: usize, tot: u32) -> Self {
        Self {
            curr: Tree::with_capacity(n),
            t: [Tree::with_capacity(n), Tree::with_capacity(n)],
            init: 0,
            curr_pos: tot,
            curr_weight: tot,
            next_weight: tot,
        }
    }
    fn init_id(&self) -> Where {
        if self.init == 0 {
            Where::T0
        } else {
            Where::T1
        }
    }
    fn next_id(&self) -> Where {
        if self.init == 0 {
            Where::T1
        } else {
            Where::T0
        }
    }
    fn tree(&mut self, w: Where) -> Option<&mut Tree> {
        match w {
            Where::Nowhere => None,
            Where::Curr => Some(&mut self.curr),
            Where::T0 => Some(&mut self.t[0]),
            Where::T1 => Some(&mut self.t[1]),
        }
    }
    /// `fwrr_switch_trees()`.
    fn switch_trees(&mut self) {
        self.init = 1 - self.init;
        self.curr_weight = self.next_weight;
        self.curr_pos = self.curr_weight;
    }
}

/// The fwrr state of one backend.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fwrr {
    srv: Vec<Srv>,
    committed: Vec<SrvState>,
    act: Group,
    bck: Group,
    census: Census,
    allbackups: bool,
    /// Scratch list of servers held out during a pick (`next_full` chain), reused.
    held: Vec<usize>,
}

impl Fwrr {
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

    /// Whether `other` is exactly this state (every position, tree and order), so that
    /// both produce the same future picks.
    pub(crate) fn same_state(&self, other: &Fwrr) -> bool {
        self.act.same_as(&other.act)
            && self.bck.same_as(&other.bck)
            && self.census == other.census
            && self.srv.len() == other.srv.len()
            && self.srv.iter().zip(&other.srv).all(|(a, b)| {
                (a.cur, a.lb_tree, a.linked, a.npos, a.lpos, a.rweight)
                    == (b.cur, b.lb_tree, b.linked, b.npos, b.lpos, b.rweight)
            })
    }

    /// The candidate state period `P` (twice the group's total eweight) and pick period
    /// `L` (sum of user weights over their GCD) of the steady state, for the fast path.
    /// A single backup (`fbck`) is returned without any state change: (1, 1).
    pub(crate) fn cycle_hint(&self) -> Option<(u32, usize)> {
        let backup = match self.census.target() {
            Target::Active => false,
            Target::FirstBackup(_) => return Some((1, 1)),
            Target::Backups => true,
            Target::Nothing => return None,
        };
        let g = if backup { &self.bck } else { &self.act };
        let weights = self
            .srv
            .iter()
            .filter(|s| s.cur.usable && s.cur.backup == backup)
            .map(|s| s.cur.uweight);
        let (sum, gcd) = weights.fold((0u32, 0u32), |(sum, g), w| {
            let (mut a, mut b) = (g, w);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            (sum.wrapping_add(w), a)
        });
        let period = g.next_weight.checked_mul(2)?;
        Some((period, (sum / gcd.max(1)) as usize))
    }

    fn grp(&mut self, i: usize) -> &mut Group {
        let backup = self.srv.get(i).is_some_and(|s| s.cur.backup);
        if backup {
            &mut self.bck
        } else {
            &mut self.act
        }
    }

    /// `fwrr_dequeue_srv()`.
    fn dequeue(&mut self, i: usize) {
        let linked = self.srv[i].linked;
        if let Some(t) = self.grp(i).tree(linked) {
            t.remove(i);
        }
        self.srv[i].linked = Where::Nowhere;
    }

    fn link(&mut self, i: usize, w: Where, key: u32) {
        if self.srv[i].linked != Where::Nowhere {
            self.dequeue(i);
        }
        if let Some(t) = self.grp(i).tree(w) {
            t.insert(key, i);
        }
        let s = &mut self.srv[i];
        s.linked = w;
        s.lb_tree = w;
    }

    /// `fwrr_queue_by_weight()`: heavy servers first.
    fn queue_by_weight(&mut self, i: usize, w: Where, next_eweight: u32) {
        self.link(i, w, SRV_EWGHT_MAX.wrapping_sub(next_eweight));
    }

    /// `fwrr_queue_srv()`.
    fn queue_srv(&mut self, i: usize, next: SrvState) {
        let g = self.grp(i);
        let (curr_weight, next_weight, next_id) = (g.curr_weight, g.next_weight, g.next_id());
        let s = &mut self.srv[i];
        if !next.usable {
            s.lb_tree = Where::Nowhere;
        } else if next.eweight == 0
            || s.npos >= curr_weight.wrapping_mul(2)
            || s.npos >= curr_weight.wrapping_add(next_weight)
        {
            s.npos = s.npos.wrapping_sub(curr_weight);
            self.queue_by_weight(i, next_id, next.eweight);
        } else {
            let key = SRV_UWGHT_RANGE.wrapping_mul(s.npos).wrapping_add(
                SRV_EWGHT_MAX
                    .wrapping_add(s.rweight)
                    .wrapping_sub(next.eweight)
                    / super::pool::BE_WEIGHT_SCALE,
            );
            self.link(i, Where::Curr, key);
        }
    }

    /// `fwrr_get_srv()`: prepares a server extracted from its tree.
    fn get_srv(&mut self, i: usize) {
        let g = self.grp(i);
        let (init, next, curr_weight, curr_pos) =
            (g.init_id(), g.next_id(), g.curr_weight, g.curr_pos);
        let s = &mut self.srv[i];
        if s.lb_tree == init {
            s.npos = 0;
            s.rweight = 0;
        } else if s.lb_tree == next {
            s.npos = s.npos.wrapping_add(curr_weight);
        } else if s.lb_tree == Where::Nowhere {
            s.npos = curr_pos;
        }
    }

    /// The position a server (re)entering the current window gets in `set_server_status_up`.
    fn place_returning(&mut self, i: usize, next_eweight: u32) {
        let g = self.grp(i);
        let (curr_pos, span) = (
            g.curr_pos,
            g.next_weight
                .wrapping_add(g.curr_weight)
                .wrapping_sub(g.curr_pos),
        );
        self.srv[i].npos = curr_pos.wrapping_add(span / next_eweight.max(1));
    }

    fn commit(&mut self, i: usize, next: SrvState) {
        self.srv[i].cur = next;
        self.committed[i] = next;
    }

    /// `fwrr_set_server_status_down()`.
    fn status_down(&mut self, i: usize, next: SrvState) {
        let cur = self.srv[i].cur;
        if cur.usable {
            let g = self.grp(i);
            g.next_weight = g.next_weight.wrapping_sub(cur.eweight);
            self.dequeue(i);
            self.srv[i].lb_tree = Where::Nowhere;
        }
        self.commit(i, next);
    }

    /// `fwrr_set_server_status_up()`.
    fn status_up(&mut self, i: usize, next: SrvState) {
        if !self.srv[i].cur.usable {
            let g = self.grp(i);
            g.next_weight = g.next_weight.wrapping_add(next.eweight);
            self.get_srv(i);
            self.place_returning(i, next.eweight);
            self.queue_srv(i, next);
        }
        self.commit(i, next);
    }

    /// `fwrr_update_server_weight()` for a server usable before and after.
    fn update_weight(&mut self, i: usize, next: SrvState) {
        let cur = self.srv[i].cur;
        let g = self.grp(i);
        g.next_weight = g
            .next_weight
            .wrapping_sub(cur.eweight)
            .wrapping_add(next.eweight);
        let (init, curr_pos, curr_weight, next_weight) =
            (g.init_id(), g.curr_pos, g.curr_weight, g.next_weight);
        let lb_tree = self.srv[i].lb_tree;
        if lb_tree == init {
            self.dequeue(i);
            self.queue_by_weight(i, init, next.eweight);
        } else if lb_tree == Where::Nowhere {
            self.dequeue(i);
            self.get_srv(i);
            self.place_returning(i, next.eweight);
            self.queue_srv(i, next);
        } else {
            self.get_srv(i);
            let s = &mut self.srv[i];
            if let Some(step) = next_weight.checked_div(next.eweight) {
                let prev_next = s.npos;
                s.npos = s.lpos.wrapping_add(step);
                s.rweight = 0;
                if s.npos > prev_next {
                    s.npos = prev_next;
                }
                if s.npos < curr_pos.wrapping_add(2) {
                    s.npos = curr_pos.wrapping_add(step);
                }
            } else {
                // "push it into the next tree"
                s.npos = curr_pos.wrapping_add(curr_weight);
            }
            self.dequeue(i);
            self.queue_srv(i, next);
        }
        self.commit(i, next);
    }

    /// `fwrr_get_server_from_group()`.
    fn server_from_group(&mut self, backup: bool) -> Option<usize> {
        let g = if backup { &self.bck } else { &self.act };
        let s1 = g.curr.first();
        if let Some(s1) = s1 {
            let s = &self.srv[s1];
            if s.cur.eweight > 0 && s.npos <= g.curr_pos {
                return Some(s1);
            }
        }
        let init = g.init;
        if let Some(s2) = g.t[init].first() {
            let s = &mut self.srv[s2];
            if s.cur.eweight > 0 {
                s.npos = 0;
                s.rweight = 0;
                return Some(s2);
            }
        }
        s1
    }

    /// `fwrr_update_position()`.
    fn update_position(&mut self, i: usize) {
        let g = self.grp(i);
        let (curr_pos, next_weight) = (g.curr_pos, g.next_weight);
        let s = &mut self.srv[i];
        let eweight = s.cur.eweight;
        if eweight == 0 {
            return;
        }
        if s.npos == 0 {
            s.npos = curr_pos;
        }
        s.lpos = s.npos;
        s.npos = s.npos.wrapping_add(next_weight / eweight);
        s.rweight = s.rweight.wrapping_add(next_weight % eweight);
        if s.rweight >= eweight {
            s.rweight -= eweight;
            s.npos = s.npos.wrapping_add(1);
        }
    }

    /// `fwrr_get_next_server()`: the next server, skipping saturated ones and `avoid`
    /// (which is still returned when nothing else is available).
    pub(crate) fn next_server(
        &mut self,
        view: &impl ServerView,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let backup = match self.census.target() {
            Target::Active => false,
            Target::FirstBackup(b) => return Some(b),
            Target::Backups => true,
            Target::Nothing => return None,
        };
        let mut held = std::mem::take(&mut self.held);
        held.clear();
        let mut switched = false;
        let mut avoided: Option<usize> = None;
        let mut chosen: Option<usize> = None;
        let mut take = false;
        // Each turn holds one server out of the trees, so this ends after at most
        // 2 * servers + 2 turns; the bound only guards against a broken invariant.
        for _ in 0..(2 * self.srv.len() + 4) {
            {
                let g = if backup { &mut self.bck } else { &mut self.act };
                if g.curr_weight == 0 {
                    g.curr_weight = g.next_weight;
                    g.curr_pos = g.next_weight;
                }
            }
            let srv = loop {
                if let Some(s) = self.server_from_group(backup) {
                    break Some(s);
                }
                if switched {
                    if let Some(a) = avoided {
                        chosen = Some(a);
                        take = true;
                    }
                    break None;
                }
                switched = true;
                if backup {
                    self.bck.switch_trees();
                } else {
                    self.act.switch_trees();
                }
            };
            let Some(srv) = srv else { break };
            self.update_position(srv);
            self.dequeue(srv);
            let g = if backup { &mut self.bck } else { &mut self.act };
            g.curr_pos = g.curr_pos.wrapping_add(1);
            if !view.is_full(srv) {
                if Some(srv) != avoid || avoided.is_some() {
                    chosen = Some(srv);
                    take = true;
                    break;
                }
                avoided = Some(srv);
            }
            held.push(srv);
        }
        if let (true, Some(srv)) = (take, chosen) {
            let cur = self.srv[srv].cur;
            self.queue_srv(srv, cur);
        }
        // Requeue held servers, most recently held first (the C list is LIFO).
        for &h in held.iter().rev() {
            if Some(h) == chosen {
                continue;
            }
            if switched {
                // The tree switched: their place was lost, only their weight matters.
                let (init, ew) = (self.grp(h).init_id(), self.srv[h].cur.eweight);
                self.queue_by_weight(h, init, ew);
            } else {
                let cur = self.srv[h].cur;
                self.queue_srv(h, cur);
            }
        }
        self.held = held;
        chosen
    }
}

impl LbEvents for Fwrr {
    fn eweight_of(&self, uweight: u32) -> u32 {
        dynamic_eweight(uweight)
    }

    fn committed(&self) -> &[SrvState] {
        &self.committed
    }

    /// `fwrr_init_server_groups()`.
    fn init(&mut self, servers: Vec<SrvState>, _view: &impl ServerView) {
        let n = servers.len();
        self.census = Census::count(&servers, self.allbackups);
        self.act = Group::new(n, self.census.tot_wact);
        self.bck = Group::new(n, self.census.tot_wbck);
        self.srv = servers
            .iter()
            .map(|&cur| Srv {
                cur,
                lb_tree: Where::Nowhere,
                linked: Where::Nowhere,
                npos: 0,
                lpos: 0,
                rweight: 0,
            })
            .collect();
        self.held = Vec::with_capacity(n);
        for (i, s) in servers.iter().enumerate() {
            if s.usable {
                let init = self.grp(i).init_id();
                self.queue_by_weight(i, init, s.eweight);
            }
        }
        self.committed = servers;
    }

    fn change(&mut self, i: usize, next: SrvState, _view: &impl ServerView) {
        let cur = self.srv[i].cur;
        match (cur.usable, next.usable) {
            (false, true) => self.status_up(i, next),
            (true, false) => self.status_down(i, next),
            (true, true) if cur.eweight != next.eweight => self.update_weight(i, next),
            _ => self.commit(i, next),
        }
    }

    fn changes_done(&mut self) {
        self.census = Census::count(&self.committed, self.allbackups);
    }
}
