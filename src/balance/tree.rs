//! A small ordered multiset of servers keyed by `u32`, walked like HAProxy's `eb32` trees.
//!
//! HAProxy's LB trees (`fwrr`, `leastconn`) are ebtrees that accept duplicate keys and
//! "guarantee that duplicates will be walked in the exact same order they were inserted"
//! (`include/import/ebtree.h`). The order among equal keys decides which server is picked,
//! so this structure orders nodes by `(key, insertion sequence)`.
//!
//! Backend server counts are small (HAProxy caps round-robin at 4095), so a sorted `Vec`
//! with pre-reserved capacity beats a pointer tree and never allocates on the pick path.
//! It is kept in *descending* order so that taking the first node is a `pop`.

/// One server's node.
#[derive(Debug, Clone, Copy)]
struct Node {
    key: u32,
    seq: u64,
    server: usize,
}

/// Servers ordered by `(key, insertion order)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    /// Descending by `(key, seq)`: the first node in walk order is the last element.
    nodes: Vec<Node>,
    next_seq: u64,
}

impl Tree {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            nodes: Vec::with_capacity(n),
            next_seq: 0,
        }
    }

    /// Inserts `server` after every node with the same key (`eb32_insert`).
    pub(crate) fn insert(&mut self, key: u32, server: usize) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        // Descending order: everything strictly greater than (key, seq) stays before it.
        let at = self.nodes.partition_point(|n| (n.key, n.seq) > (key, seq));
        self.nodes.insert(at, Node { key, seq, server });
    }

    /// Removes `server`'s node if it is linked (`eb32_delete`; a no-op otherwise).
    pub(crate) fn remove(&mut self, server: usize) -> bool {
        match self.nodes.iter().rposition(|n| n.server == server) {
            Some(at) => {
                self.nodes.remove(at);
                true
            }
            None => false,
        }
    }

    /// The first server in walk order (`eb32_first`).
    pub(crate) fn first(&self) -> Option<usize> {
        self.nodes.last().map(|n| n.server)
    }

    /// The key of `server`'s node, if linked.
    pub(crate) fn key_of(&self, server: usize) -> Option<u32> {
        self.nodes
            .iter()
            .rev()
            .find(|n| n.server == server)
            .map(|n| n.key)
    }

    /// Servers in walk order (`eb32_first` then `eb32_next`).
    pub(crate) fn walk(&self) -> impl Iterator<Item = usize> + '_ {
        self.nodes.iter().rev().map(|n| n.server)
    }

    /// `(key, server)` pairs in walk order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.nodes.iter().rev().map(|n| (n.key, n.server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_by_key_then_insertion_order() {
        let mut t = Tree::with_capacity(4);
        t.insert(5, 0);
        t.insert(3, 1);
        t.insert(5, 2);
        t.insert(3, 3);
        assert_eq!(t.walk().collect::<Vec<_>>(), vec![1, 3, 0, 2]);
        assert_eq!(t.first(), Some(1));
        assert!(t.remove(1));
        assert!(!t.remove(1), "removing an unlinked node is a no-op");
        t.insert(3, 1);
        // Re-inserted duplicates go after the existing ones.
        assert_eq!(t.walk().collect::<Vec<_>>(), vec![3, 1, 0, 2]);
        assert_eq!(t.key_of(0), Some(5));
        assert_eq!(t.key_of(9), None);
        assert_eq!(t.entries().count(), 4);
    }
}
