//! Sharding an exhaustive check across machines (`check --shard K/N`): a deterministic
//! breadth-first enumeration of the states up to a split depth, and a stable hash that assigns
//! each state at that depth (the frontier) to one of `N` shards.
//!
//! Every shard enumerates the same prefix (the states at depth below the split depth, deduplicated,
//! in breadth-first order) and checks every property on it, so a violation or a `sometimes` goal in
//! the prefix is found by every shard. The frontier states whose [`stable_hash`] is `K` modulo
//! `N` become shard `K`'s initial states; the shard explores their subtrees completely. Every
//! reachable state is in the prefix or below a frontier state, so the shards together explore
//! the whole state space (a state below two frontier states in different shards is explored by
//! both: overlap costs time, never a verdict).
//!
//! The hash is FNV-1a (64 bits) over the bytes the state's `Hash` implementation feeds it, with
//! every integer written little-endian and at its full width (`usize` as 64 bits): it depends on
//! no random key, no platform and no thread count. It does depend on the world's `Hash`
//! implementation, so all shards of one check must be run by the same build; each shard reports
//! the frontier's size and a fingerprint of it ([`Prefix::fingerprint`]), which `merge` compares.
//!
//! The enumeration is generic over the state and the action (the checker supplies the successor
//! function, with its partial-order reduction and symmetry canonicalisation), so this module
//! names neither stateright nor the checker.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

/// Which part of a sharded check to run: shard `index` of `count`, split at `split_depth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: u64,
    pub count: u64,
    /// Depth (in steps from the initial state) of the frontier states that are assigned.
    pub split_depth: usize,
}

/// The split depth `check --shard` uses unless `--split-depth` says otherwise: deep enough that
/// the frontier of the embedded models holds many more states than a batch array has shards,
/// shallow enough that every shard enumerates the prefix in well under a second.
pub const DEFAULT_SPLIT_DEPTH: usize = 6;

/// FNV-1a, 64 bits, with fixed-width little-endian integers: a hash that is the same on every
/// run, platform and Rust release that keeps the value's `Hash` implementation.
#[derive(Clone, Copy, Debug)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }
    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }
    fn write_i8(&mut self, i: i8) {
        self.write(&i.to_le_bytes());
    }
    fn write_i16(&mut self, i: i16) {
        self.write(&i.to_le_bytes());
    }
    fn write_i32(&mut self, i: i32) {
        self.write(&i.to_le_bytes());
    }
    fn write_i64(&mut self, i: i64) {
        self.write(&i.to_le_bytes());
    }
    fn write_i128(&mut self, i: i128) {
        self.write(&i.to_le_bytes());
    }
    fn write_isize(&mut self, i: isize) {
        self.write(&(i as i64).to_le_bytes());
    }
}

/// The stable hash of a value (see [`StableHasher`]).
pub fn stable_hash<T: Hash>(value: &T) -> u64 {
    let mut hasher = StableHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

/// The states up to the split depth, in breadth-first order, each with the path that reached it
/// first.
#[derive(Clone, Debug)]
pub struct Prefix<S, A> {
    /// Every distinct state at depth below the split depth (the initial states first), with its
    /// path from an initial state.
    pub inner: Vec<(S, Vec<A>)>,
    /// Every distinct state first reached at exactly the split depth, with its path and its
    /// stable hash.
    pub frontier: Vec<(S, Vec<A>, u64)>,
}

impl<S, A> Prefix<S, A> {
    /// A fingerprint of the whole frontier (FNV-1a over its states' stable hashes, sorted): the
    /// same for every shard of one check, different when a shard was run with another model,
    /// bug set, option or build.
    pub fn fingerprint(&self) -> u64 {
        let mut hashes: Vec<u64> = self.frontier.iter().map(|(_, _, h)| *h).collect();
        hashes.sort_unstable();
        let mut hasher = StableHasher::default();
        for hash in hashes {
            hasher.write_u64(hash);
        }
        hasher.write_usize(self.inner.len());
        hasher.finish()
    }

    /// The frontier states that fall to `shard`, in breadth-first order.
    pub fn assigned(&self, shard: &ShardSpec) -> impl Iterator<Item = &(S, Vec<A>, u64)> {
        let (index, count) = (shard.index, shard.count.max(1));
        self.frontier
            .iter()
            .filter(move |(_, _, hash)| hash % count == index)
    }
}

/// Enumerates the states reachable from `initial` in at most `split_depth` steps, breadth-first,
/// deduplicated (a state is kept at its first, shallowest, occurrence). `successors` lists a
/// state's successors with the action that leads to each, in a deterministic order.
pub fn split<S, A>(
    initial: Vec<S>,
    split_depth: usize,
    mut successors: impl FnMut(&S) -> Vec<(A, S)>,
) -> Prefix<S, A>
where
    S: Clone + Ord + Hash,
    A: Clone,
{
    let mut seen: BTreeSet<S> = BTreeSet::new();
    let mut layer: Vec<(S, Vec<A>)> = Vec::new();
    for state in initial {
        if seen.insert(state.clone()) {
            layer.push((state, Vec::new()));
        }
    }
    let mut inner = Vec::new();
    for _ in 0..split_depth {
        let mut next = Vec::new();
        for (state, path) in &layer {
            for (action, successor) in successors(state) {
                if seen.insert(successor.clone()) {
                    let mut longer = path.clone();
                    longer.push(action);
                    next.push((successor, longer));
                }
            }
        }
        inner.append(&mut layer);
        layer = next;
        if layer.is_empty() {
            break;
        }
    }
    let frontier = layer
        .into_iter()
        .map(|(state, path)| {
            let hash = stable_hash(&state);
            (state, path, hash)
        })
        .collect();
    Prefix { inner, frontier }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_of_known_bytes() {
        let mut hasher = StableHasher::default();
        hasher.write(b"a");
        assert_eq!(hasher.finish(), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn split_of_a_counter() {
        // States 0..10, each step adds 1 or 2.
        let prefix = split(vec![0u32], 2, |&s| {
            [1, 2]
                .into_iter()
                .filter(|d| s + d < 10)
                .map(|d| (d, s + d))
                .collect()
        });
        let inner: Vec<u32> = prefix.inner.iter().map(|(s, _)| *s).collect();
        assert_eq!(inner, vec![0, 1, 2]);
        let frontier: Vec<u32> = prefix.frontier.iter().map(|(s, _, _)| *s).collect();
        assert_eq!(frontier, vec![3, 4]);
        assert_eq!(prefix.frontier[0].1, vec![1, 2]);
        let a = ShardSpec {
            index: 0,
            count: 2,
            split_depth: 2,
        };
        let b = ShardSpec { index: 1, ..a };
        assert_eq!(prefix.assigned(&a).count() + prefix.assigned(&b).count(), 2);
    }
}
