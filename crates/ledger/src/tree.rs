//! The RFC 9162 Merkle tree: streaming roots, proof generation from stored
//! complete subtrees, and proof verification.
//!
//! Proofs are generated from *perfect* subtrees (a node at `level` covering
//! leaves `[index << level, (index + 1) << level)`), which never change once
//! written. RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF recurse into at most
//! one incomplete right-hand subtree per proof, so a proof reads at most about
//! 2·log2(n) stored nodes and hashes at most log2(n) of them: no rehashing of
//! the log. Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 in the
//! formulation of transparency-dev/merkle `proof/verify.go`, including its two
//! refusals that a literal reading of the RFC would accept: proof hashes must be
//! exactly 32 bytes, and a consistency proof from size 0 is refused.

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, empty_root, hash_children};

/// Names a perfect subtree: the node at `level` covering leaves
/// `[index << level, (index + 1) << level)`. Level 0 is the leaf hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId {
    /// Height above the leaves (0 = leaf).
    pub level: u8,
    /// Position among the nodes of that level, from the left.
    pub index: u64,
}

impl NodeId {
    /// A node id.
    pub fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }
}

/// Why a proof was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not inside a tree of size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The sizes of a consistency proof are not `0 < size1 <= size2`.
    #[error(
        "no consistency proof exists from size {size1} to size {size2}; sizes must satisfy 0 < size1 <= size2"
    )]
    BadSizes {
        /// The older size.
        size1: u64,
        /// The newer size.
        size2: u64,
    },
    /// The proof does not have the number of hashes the sizes imply.
    #[error("the proof has {got} hashes but {want} are required for these sizes")]
    WrongLength {
        /// Hashes received.
        got: usize,
        /// Hashes the sizes require.
        want: usize,
    },
    /// A hash inside the proof, or the leaf hash, was not 32 bytes.
    #[error("hash {position} of the proof is {len} bytes; every hash must be exactly 32 bytes")]
    BadHashLength {
        /// Which hash (0-based; the leaf hash is reported as position 0 of an empty proof).
        position: usize,
        /// Its length.
        len: usize,
    },
    /// The leaf hash is not 32 bytes.
    #[error("the leaf hash is {0} bytes; it must be exactly 32 bytes")]
    BadLeafHash(usize),
    /// The proof is well formed but leads to a different root.
    #[error("the proof leads to root {computed}, not the expected {expected}")]
    RootMismatch {
        /// What the proof computes.
        computed: String,
        /// What the caller expected (hex).
        expected: String,
    },
}

fn mismatch(computed: &[u8], expected: &[u8]) -> ProofError {
    ProofError::RootMismatch {
        computed: hex::encode(computed),
        expected: hex::encode(expected),
    }
}

/// A streaming tree builder: the compact range `[0, size)` as a stack of
/// perfect-subtree roots, largest first. Memory is O(log n) whatever the size,
/// which is what lets a 10-million-entry audit run in constant space.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeBuilder {
    size: u64,
    stack: Vec<Hash>,
}

impl TreeBuilder {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from the perfect-subtree roots that cover `[0, size)`, largest
    /// first, as returned by [`compact_range_ids`]. Returns `None` if the
    /// number of roots does not match the size.
    pub fn from_parts(size: u64, roots: Vec<Hash>) -> Option<Self> {
        (roots.len() == size.count_ones() as usize).then_some(TreeBuilder { size, stack: roots })
    }

    /// Number of leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash; `emit` sees every perfect node this completes,
    /// the leaf itself first, so that a store can persist them.
    pub fn push_with(&mut self, leaf: Hash, mut emit: impl FnMut(NodeId, Hash)) {
        let mut index = self.size;
        let mut level = 0u8;
        let mut hash = leaf;
        emit(NodeId::new(0, index), hash);
        // Each trailing one bit of the old size is a left sibling waiting on
        // the stack; merging climbs one level per bit.
        while index & 1 == 1 {
            let Some(left) = self.stack.pop() else { break };
            hash = hash_children(&left, &hash);
            index >>= 1;
            level += 1;
            emit(NodeId::new(level, index), hash);
        }
        self.stack.push(hash);
        self.size += 1;
    }

    /// Appends a whole perfect subtree of `2^level` leaves with root `hash`.
    /// Only valid when the size is a multiple of `2^level`; returns `false`
    /// (and changes nothing) otherwise.
    pub fn push_subtree(&mut self, level: u8, hash: Hash) -> bool {
        let width = 1u64.checked_shl(u32::from(level)).unwrap_or(0);
        if width == 0 || !self.size.is_multiple_of(width) {
            return false;
        }
        let mut index = self.size >> level;
        let mut hash = hash;
        while index & 1 == 1 {
            let Some(left) = self.stack.pop() else { break };
            hash = hash_children(&left, &hash);
            index >>= 1;
        }
        self.stack.push(hash);
        self.size += width;
        true
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_, _| {});
    }

    /// The root of the tree so far (RFC 9162 MTH).
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| hash_children(left, &acc))
    }
}

/// The perfect subtrees covering `[0, size)`, largest first.
pub fn compact_range_ids(size: u64) -> Vec<NodeId> {
    range_ids(0, size)
}

/// The perfect subtrees covering `[start, end)` where `start` is a multiple of
/// a power of two at least `end - start` (true of every right-hand subtree in
/// RFC 9162 recursion), largest first.
fn range_ids(start: u64, end: u64) -> Vec<NodeId> {
    let mut ids = Vec::with_capacity(64);
    let mut pos = start;
    let len = end.saturating_sub(start);
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if len & width != 0 {
            ids.push(NodeId::new(level, pos >> level));
            pos += width;
        }
    }
    ids
}

/// The root of `[start, end)` computed from stored perfect nodes.
fn range_root<E>(
    start: u64,
    end: u64,
    node: &mut impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Hash, E> {
    let ids = range_ids(start, end);
    let mut acc: Option<Hash> = None;
    for id in ids.iter().rev() {
        let h = node(*id)?;
        acc = Some(match acc {
            None => h,
            Some(right) => hash_children(&h, &right),
        });
    }
    Ok(acc.unwrap_or_else(empty_root))
}

/// The root of the tree of the first `size` leaves, from stored nodes.
pub fn root_from_nodes<E>(
    size: u64,
    mut node: impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Hash, E> {
    range_root(0, size, &mut node)
}

/// Largest power of two strictly below `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Level of the perfect subtree of `width` leaves (a power of two).
fn level_of(width: u64) -> u8 {
    // trailing_zeros of a u64 is at most 64, which fits a u8.
    width.trailing_zeros() as u8
}

/// Errors from proof generation: either the request was impossible or the
/// node source failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError<E> {
    /// The sizes or index were impossible.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// Reading a stored node failed.
    #[error("reading a stored node failed: {0}")]
    Source(E),
}

/// RFC 9162 §2.1.3.1: the inclusion proof for leaf `index` in the tree of the
/// first `size` leaves, reading stored perfect nodes through `node`.
pub fn inclusion_proof<E>(
    index: u64,
    size: u64,
    mut node: impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Vec<Hash>, GenerateError<E>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    let mut out = Vec::with_capacity(64);
    path(index, 0, size, &mut node, &mut out).map_err(GenerateError::Source)?;
    Ok(out)
}

fn path<E>(
    m: u64,
    start: u64,
    n: u64,
    node: &mut impl FnMut(NodeId) -> Result<Hash, E>,
    out: &mut Vec<Hash>,
) -> Result<(), E> {
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < k {
        path(m, start, k, node, out)?;
        out.push(range_root(start + k, start + n, node)?);
    } else {
        path(m - k, start + k, n - k, node, out)?;
        out.push(node(NodeId::new(level_of(k), start >> level_of(k)))?);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.1: the consistency proof from `size1` to `size2`,
/// reading stored perfect nodes through `node`. Requires `0 < size1 <= size2`.
pub fn consistency_proof<E>(
    size1: u64,
    size2: u64,
    mut node: impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Vec<Hash>, GenerateError<E>> {
    if size1 == 0 || size1 > size2 {
        return Err(ProofError::BadSizes { size1, size2 }.into());
    }
    let mut out = Vec::with_capacity(64);
    if size1 < size2 {
        subproof(size1, 0, size2, true, &mut node, &mut out).map_err(GenerateError::Source)?;
    }
    Ok(out)
}

fn subproof<E>(
    m: u64,
    start: u64,
    n: u64,
    whole: bool,
    node: &mut impl FnMut(NodeId) -> Result<Hash, E>,
    out: &mut Vec<Hash>,
) -> Result<(), E> {
    if m == n {
        if !whole {
            out.push(range_root(start, start + n, node)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, start, k, whole, node, out)?;
        out.push(range_root(start + k, start + n, node)?);
    } else {
        subproof(m - k, start + k, n - k, false, node, out)?;
        out.push(node(NodeId::new(level_of(k), start >> level_of(k)))?);
    }
    Ok(())
}

/// Number of hashes in an inclusion proof for `index` in a tree of `size`:
/// the split is where the paths to `index` and `size - 1` diverge.
fn decomp_inclusion(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    (inner, border)
}

fn chain_inner(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        seed = if (index >> i) & 1 == 0 {
            hash_children(&seed, h)
        } else {
            hash_children(h, &seed)
        };
    }
    seed
}

fn chain_inner_right(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = hash_children(h, &seed);
        }
    }
    seed
}

fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, h| hash_children(h, &acc))
}

/// RFC 9162 §2.1.3.2: the root that an inclusion proof leads to.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decomp_inclusion(index, size);
    if proof.len() != inner + border {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want: inner + border,
        });
    }
    let (lower, upper) = proof.split_at(inner);
    Ok(chain_border_right(chain_inner(*leaf, lower, index), upper))
}

/// Checks that `leaf` is at `index` in the tree of `size` with `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if computed != *root {
        return Err(mismatch(&computed.0, &root.0));
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: checks that the tree of `size2` with `root2` extends the
/// tree of `size1` with `root1`. A proof from size 0 is refused (there is
/// nothing to be consistent with), as the reference implementation does.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size1 == 0 || size2 < size1 {
        return Err(ProofError::BadSizes { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        if root1 != root2 {
            return Err(mismatch(&root1.0, &root2.0));
        }
        return Ok(());
    }
    let computed = root_from_consistency_proof(size1, size2, proof, root1)?;
    if computed != *root2 {
        return Err(mismatch(&computed.0, &root2.0));
    }
    Ok(())
}

/// The new root a consistency proof leads to, after checking it reproduces
/// `root1`. Requires `0 < size1 < size2`.
fn root_from_consistency_proof(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
) -> Result<Hash, ProofError> {
    let Some((first, tail)) = proof.split_first() else {
        return Err(ProofError::WrongLength { got: 0, want: 1 });
    };
    let (inner, border) = decomp_inclusion(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    // shift < inner whenever size1 < size2, so this cannot underflow.
    let inner = inner.saturating_sub(shift);
    // When size1 is itself a perfect subtree its root is the seed; otherwise
    // the proof starts with the root of the largest perfect subtree at its end.
    let (seed, rest) = if size1 == 1u64 << shift {
        (*root1, proof)
    } else {
        (*first, tail)
    };
    if rest.len() != inner + border {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want: proof.len() - rest.len() + inner + border,
        });
    }
    let (lower, upper) = rest.split_at(inner);
    let mask = (size1 - 1) >> shift;
    let hash1 = chain_border_right(chain_inner_right(seed, lower, mask), upper);
    if hash1 != *root1 {
        return Err(mismatch(&hash1.0, &root1.0));
    }
    Ok(chain_border_right(chain_inner(seed, lower, mask), upper))
}

fn parse_proof<T: AsRef<[u8]>>(proof: &[T]) -> Result<Vec<Hash>, ProofError> {
    proof
        .iter()
        .enumerate()
        .map(|(position, h)| {
            Hash::from_slice(h.as_ref())
                .map_err(|e| ProofError::BadHashLength { position, len: e.0 })
        })
        .collect()
}

/// [`verify_inclusion`] for hashes received as raw bytes from a peer: every
/// length is checked before any hashing.
pub fn verify_inclusion_bytes<T: AsRef<[u8]>>(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[T],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let leaf = Hash::from_slice(leaf).map_err(|e| ProofError::BadLeafHash(e.0))?;
    let proof = parse_proof(proof)?;
    let computed = root_from_inclusion_proof(index, size, &leaf, &proof)?;
    if computed.0.as_slice() != root {
        return Err(mismatch(&computed.0, root));
    }
    Ok(())
}

/// [`verify_consistency`] for hashes received as raw bytes from a peer.
///
/// The checks run in the reference order so that every upstream vector gets
/// the same verdict: sizes first, then equal sizes compare the roots as given,
/// then lengths, then the hashing.
pub fn verify_consistency_bytes<T: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    proof: &[T],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if size1 == 0 || size2 < size1 {
        return Err(ProofError::BadSizes { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        if root1 != root2 {
            return Err(mismatch(root1, root2));
        }
        return Ok(());
    }
    let proof = parse_proof(proof)?;
    let Ok(root1_hash) = Hash::from_slice(root1) else {
        return Err(mismatch(&[], root1));
    };
    let computed = root_from_consistency_proof(size1, size2, &proof, &root1_hash)?;
    if computed.0.as_slice() != root2 {
        return Err(mismatch(&computed.0, root2));
    }
    Ok(())
}

/// An in-memory set of all perfect nodes, level by level: the simplest node
/// source, used by tests and by [`crate::MemoryStorage`].
#[derive(Debug, Clone, Default)]
pub struct NodeTable {
    levels: Vec<Vec<Hash>>,
}

impl NodeTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the table (and nothing else) for a list of leaf hashes.
    pub fn from_leaves(leaves: &[Hash]) -> Self {
        let mut table = NodeTable::new();
        let mut builder = TreeBuilder::new();
        for leaf in leaves {
            builder.push_with(*leaf, |id, h| {
                table.put(id, h);
            });
        }
        table
    }

    /// Stores a node. Nodes of one level must arrive in index order, which
    /// is the order [`TreeBuilder::push_with`] emits them; returns `false`
    /// (and stores nothing) otherwise.
    pub fn put(&mut self, id: NodeId, hash: Hash) -> bool {
        let level = usize::from(id.level);
        while self.levels.len() <= level {
            self.levels.push(Vec::new());
        }
        let Some(row) = self.levels.get_mut(level) else {
            return false;
        };
        if row.len() as u64 != id.index {
            return false;
        }
        row.push(hash);
        true
    }

    /// The next index expected at `level`.
    pub fn next_index(&self, level: u8) -> u64 {
        self.levels
            .get(usize::from(level))
            .map_or(0, |row| row.len() as u64)
    }

    /// A stored node.
    pub fn get(&self, id: NodeId) -> Option<Hash> {
        let row = self.levels.get(usize::from(id.level))?;
        let i = usize::try_from(id.index).ok()?;
        row.get(i).copied()
    }

    /// Drops every node that covers a leaf at or after `size`.
    pub fn truncate(&mut self, size: u64) {
        for (level, row) in self.levels.iter_mut().enumerate() {
            let keep = usize::try_from(size >> level).unwrap_or(usize::MAX);
            row.truncate(keep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_leaf;

    /// RFC 9162 §2.1.1 MTH, written literally and recursively, as an
    /// independent oracle for the streaming and stored-node versions.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                hash_children(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    /// RFC 9162 §2.1.3.1 PATH, literally.
    fn path_oracle(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split_point(n as u64) as usize;
        if m < k {
            let mut p = path_oracle(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path_oracle(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    /// RFC 9162 §2.1.4.1 SUBPROOF, literally.
    fn subproof_oracle(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if b { vec![] } else { vec![mth(leaves)] };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = subproof_oracle(m, &leaves[..k], b);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = subproof_oracle(m - k, &leaves[k..], false);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| hash_leaf(&(i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn builder_root_matches_recursive_definition() {
        let all = leaves(70);
        let mut b = TreeBuilder::new();
        assert_eq!(b.root(), empty_root());
        for (i, leaf) in all.iter().enumerate() {
            b.push(*leaf);
            assert_eq!(b.root(), mth(&all[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn push_subtree_equals_pushing_its_leaves() {
        let all = leaves(48);
        let mut a = TreeBuilder::new();
        let mut b = TreeBuilder::new();
        for leaf in &all[..16] {
            a.push(*leaf);
        }
        assert!(b.push_subtree(4, mth(&all[..16])));
        assert_eq!(a, b);
        for leaf in &all[16..40] {
            a.push(*leaf);
        }
        assert!(b.push_subtree(4, mth(&all[16..32])));
        assert!(b.push_subtree(3, mth(&all[32..40])));
        assert_eq!(a.root(), b.root());
        assert_eq!(a, b);
        // Misaligned: size 40 is not a multiple of 16.
        assert!(!b.push_subtree(4, Hash::default()));
        assert_eq!(a, b);
    }

    #[test]
    fn proofs_from_nodes_match_rfc_definitions_and_verify() {
        let all = leaves(40);
        let table = NodeTable::from_leaves(&all);
        let get = |id: NodeId| table.get(id).ok_or(());
        for n in 1..=all.len() {
            let root = mth(&all[..n]);
            assert_eq!(root_from_nodes(n as u64, get).unwrap(), root);
            for m in 0..n {
                let p = inclusion_proof(m as u64, n as u64, get).unwrap();
                assert_eq!(p, path_oracle(m, &all[..n]), "path {m} of {n}");
                verify_inclusion(m as u64, n as u64, &all[m], &p, &root).unwrap();
                // Any other leaf at this position must fail.
                assert!(
                    verify_inclusion(m as u64, n as u64, &all[(m + 1) % 40], &p, &root).is_err()
                );
            }
            for m in 1..=n {
                let p = consistency_proof(m as u64, n as u64, get).unwrap();
                let want = if m == n {
                    vec![]
                } else {
                    subproof_oracle(m, &all[..n], true)
                };
                assert_eq!(p, want, "consistency {m} to {n}");
                verify_consistency(m as u64, n as u64, &p, &mth(&all[..m]), &root).unwrap();
                if m < n {
                    assert!(
                        verify_consistency(m as u64, n as u64, &p, &mth(&all[..m]), &all[0])
                            .is_err()
                    );
                }
            }
        }
    }

    #[test]
    fn proof_lengths_are_logarithmic() {
        let all = leaves(1000);
        let table = NodeTable::from_leaves(&all);
        let get = |id: NodeId| table.get(id).ok_or(());
        for m in [0u64, 1, 511, 512, 998, 999] {
            let p = inclusion_proof(m, 1000, get).unwrap();
            assert!(p.len() <= 10, "{} hashes for leaf {m}", p.len());
        }
    }

    #[test]
    fn impossible_requests_are_refused() {
        let table = NodeTable::from_leaves(&leaves(4));
        let get = |id: NodeId| table.get(id).ok_or(());
        assert!(matches!(
            inclusion_proof(4, 4, get),
            Err(GenerateError::Proof(ProofError::IndexOutOfRange { .. }))
        ));
        assert!(matches!(
            consistency_proof(0, 4, get),
            Err(GenerateError::Proof(ProofError::BadSizes { .. }))
        ));
        assert!(matches!(
            consistency_proof(3, 2, get),
            Err(GenerateError::Proof(ProofError::BadSizes { .. }))
        ));
        // A missing stored node surfaces as a source error, not a panic.
        assert!(matches!(
            inclusion_proof(0, 8, get),
            Err(GenerateError::Source(()))
        ));
    }

    #[test]
    fn node_table_refuses_out_of_order_and_truncates() {
        let mut t = NodeTable::new();
        assert!(!t.put(NodeId::new(0, 1), Hash::default()));
        assert!(t.put(NodeId::new(0, 0), Hash::default()));
        let mut t = NodeTable::from_leaves(&leaves(8));
        t.truncate(5);
        assert_eq!(t.next_index(0), 5);
        assert_eq!(t.next_index(1), 2);
        assert_eq!(t.next_index(2), 1);
        assert_eq!(t.next_index(3), 0);
    }
}
