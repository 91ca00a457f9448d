//! Numbering the distinct values of a sequence in parallel.
//!
//! Record de-duplication numbers the distinct record ids, and the accesses stage the distinct
//! access contexts. A sequential pass with one hash map numbers them in order of first
//! occurrence; with a million records that pass was half a second of one core while the
//! other waited. Here the positions are split by hash into shards, each shard finds the first
//! occurrence of each of its values on its own, and a count over the first occurrences gives
//! the ids the sequential pass gives: ids (and so the output) do not depend on the thread
//! count.

use rayon::prelude::*;
use std::hash::Hash;

/// Values with the same hash land in the same shard; many more shards than threads keep the
/// work even.
const SHARDS: u64 = 256;

/// The ids of the distinct keys of `items` (`key` of each), numbered 0, 1, ... in order of
/// first occurrence: `(id of each item, index of each id's first item)`. The same as one
/// sequential pass with a hash map. At most `u32::MAX` items.
pub fn first_occurrence_ids<'a, T, K>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K + Sync,
) -> (Vec<u32>, Vec<u32>)
where
    T: Sync,
    K: Hash + Eq,
{
    assert!(
        u32::try_from(items.len()).is_ok(),
        "too many items to number"
    );
    let hasher = ahash::RandomState::with_seeds(7, 11, 13, 17);
    let hashes: Vec<u64> = items.par_iter().map(|t| hasher.hash_one(key(t))).collect();
    // (shard << 32 | position, hash), sorted: each shard's positions together and ascending,
    // each with its hash beside it (read in order, not looked up at random).
    let mut tagged: Vec<(u64, u64)> = hashes
        .par_iter()
        .enumerate()
        .map(|(i, &h)| (((h >> 32) % SHARDS) << 32 | i as u64, h))
        .collect();
    drop(hashes);
    tagged.par_sort_unstable_by_key(|&(t, _)| t);
    // Per shard: (position, position of the first item with the same key).
    let firsts_of: Vec<Vec<(u32, u32)>> = tagged
        .par_chunk_by(|a, b| a.0 >> 32 == b.0 >> 32)
        .map(|shard| {
            // (hash, first position): the stored hash spares hashing a key twice.
            let mut first: hashbrown::HashTable<(u64, u32)> =
                hashbrown::HashTable::with_capacity(shard.len());
            shard
                .iter()
                .map(|&(t, h)| {
                    let i = t as u32;
                    let same = |&(fh, f): &(u64, u32)| {
                        fh == h && key(&items[f as usize]) == key(&items[i as usize])
                    };
                    let f = match first.find(h, same) {
                        Some(&(_, f)) => f,
                        None => {
                            first.insert_unique(h, (h, i), |&(fh, _)| fh);
                            i
                        }
                    };
                    (i, f)
                })
                .collect()
        })
        .collect();
    drop(tagged);
    let mut first_of = vec![0u32; items.len()];
    for (i, f) in firsts_of.into_iter().flatten() {
        first_of[i as usize] = f;
    }
    let firsts: Vec<u32> = first_of
        .par_iter()
        .enumerate()
        .filter_map(|(i, &f)| (f as usize == i).then_some(f))
        .collect();
    // The id of a first occurrence, written at its position (other positions unused).
    let mut id_at = vec![0u32; items.len()];
    for (id, &f) in firsts.iter().enumerate() {
        id_at[f as usize] = id as u32;
    }
    let ids = first_of.par_iter().map(|&f| id_at[f as usize]).collect();
    (ids, firsts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the parallel numbering must equal: one pass with a hash map.
    fn sequential(items: &[u16]) -> (Vec<u32>, Vec<u32>) {
        let mut seen = std::collections::HashMap::new();
        let mut firsts = Vec::new();
        let ids = items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                *seen.entry(*v).or_insert_with(|| {
                    firsts.push(i as u32);
                    (firsts.len() - 1) as u32
                })
            })
            .collect();
        (ids, firsts)
    }

    /// A key whose hash ignores its low two bits: every hash is shared by four keys, so the
    /// numbering must tell them apart by equality, not by hash.
    #[derive(PartialEq, Eq)]
    struct Coarse(u16);

    impl Hash for Coarse {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            (self.0 >> 2).hash(state);
        }
    }

    proptest! {
        /// The same ids as one sequential pass, for keys with distinct hashes and for keys
        /// whose hashes are shared (1 to 3 threads).
        #[test]
        fn numbers_like_one_sequential_pass(
            items in proptest::collection::vec(0u16..300, 0..3000),
            threads in 1usize..4,
        ) {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let plain = pool.install(|| first_occurrence_ids(&items, |&v| v));
            prop_assert_eq!(plain, sequential(&items));
            let coarse = pool.install(|| first_occurrence_ids(&items, |&v| Coarse(v)));
            prop_assert_eq!(coarse, sequential(&items));
        }
    }

    #[test]
    fn keys_are_projections() {
        let items = [(1, 'a'), (2, 'a'), (1, 'b'), (3, 'c'), (2, 'd')];
        let (ids, firsts) = first_occurrence_ids(&items, |&(k, _)| k);
        assert_eq!(ids, [0, 1, 0, 2, 1]);
        assert_eq!(firsts, [0, 1, 3]);
    }
}
