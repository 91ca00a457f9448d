//! Flattening in parallel, in place.
//!
//! The accesses stage turns each record into a few context keys and each listed message into
//! an access: millions of small values. Rayon's `flat_map_iter(..).collect()` gathers them in
//! per-job vectors and then concatenates those, so every value is written twice into memory
//! that is new both times (page faults included): at 2 GB of input that was most of the
//! stage. When the number of values of each item is known beforehand, the result can be
//! written in one pass, each job straight into its own part of one vector ([`flat_collect`]).
//! The record merge joins the parsers' partial results the same way ([`concat()`]).

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Items per job: enough to make a job's bookkeeping negligible, few enough to keep both
/// threads busy to the end.
const ITEMS_PER_JOB: usize = 2048;

/// What `items.iter().enumerate().flat_map(|(i, t)| each(i, t)).collect()` gives, computed in
/// parallel and written in place. `count(i, t)` must be the number of values `each(i, t)`
/// yields; it panics if it is not (nothing is then returned, so no partly written vector is ever
/// seen).
pub fn flat_collect<'a, T, U, I>(
    items: &'a [T],
    count: impl Fn(usize, &'a T) -> usize + Sync,
    each: impl Fn(usize, &'a T) -> I + Sync,
) -> Vec<U>
where
    T: Sync,
    U: Send,
    I: Iterator<Item = U>,
{
    // Where each job's values start.
    let job_counts: Vec<usize> = items
        .par_chunks(ITEMS_PER_JOB)
        .enumerate()
        .map(|(job, chunk)| {
            let first = job * ITEMS_PER_JOB;
            chunk
                .iter()
                .enumerate()
                .map(|(k, t)| count(first + k, t))
                .sum()
        })
        .collect();
    let total: usize = job_counts.iter().sum();
    let mut out: Vec<U> = Vec::with_capacity(total);
    let mut rest = &mut out.spare_capacity_mut()[..total];
    let mut parts: Vec<&mut [MaybeUninit<U>]> = Vec::with_capacity(job_counts.len());
    for &n in &job_counts {
        let (part, tail) = rest.split_at_mut(n);
        parts.push(part);
        rest = tail;
    }
    parts
        .into_par_iter()
        .zip(items.par_chunks(ITEMS_PER_JOB))
        .enumerate()
        .for_each(|(job, (part, chunk))| {
            let mut slots = part.iter_mut();
            for (k, t) in chunk.iter().enumerate() {
                let i = job * ITEMS_PER_JOB + k;
                let expected = count(i, t);
                let mut got = 0;
                for value in each(i, t) {
                    let slot = slots
                        .next()
                        .filter(|_| got < expected)
                        .expect("flat_collect: an item yielded more values than its count");
                    slot.write(value);
                    got += 1;
                }
                assert_eq!(
                    got, expected,
                    "flat_collect: an item yielded fewer values than its count"
                );
            }
            // `count` is called twice per item; one that answers differently the second time
            // must not leave a slot unwritten.
            assert!(
                slots.next().is_none(),
                "flat_collect: a count changed between its two calls"
            );
        });
    // SAFETY: the parts cover the first `total` slots exactly once, and every job either wrote
    // each slot of its part (one value per counted value, checked item by item above, and no
    // slot left over) or panicked, and then the panic propagates out of `for_each` before this
    // line.
    unsafe { out.set_len(total) };
    out
}

/// The parts one after another, moved (not cloned) into one vector in parallel: each part
/// into its own place, so the new memory is touched by both threads, once.
pub fn concat<T: Send>(parts: Vec<Vec<T>>) -> Vec<T> {
    let total: usize = parts.iter().map(Vec::len).sum();
    let mut out: Vec<T> = Vec::with_capacity(total);
    let mut rest = &mut out.spare_capacity_mut()[..total];
    let mut places: Vec<&mut [MaybeUninit<T>]> = Vec::with_capacity(parts.len());
    for part in &parts {
        let (place, tail) = rest.split_at_mut(part.len());
        places.push(place);
        rest = tail;
    }
    parts.into_par_iter().zip(places).for_each(|(part, place)| {
        for (slot, value) in place.iter_mut().zip(part) {
            slot.write(value);
        }
    });
    // SAFETY: the places cover the first `total` slots exactly once, each as long as its part,
    // and moving a part's values into its place cannot fail part-way: every slot is written.
    unsafe { out.set_len(total) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The result is the sequential flat map's, for any counts (zeros included), item
        /// numbers across job boundaries, and 1 to 3 threads.
        #[test]
        fn equals_the_sequential_flat_map(
            counts in proptest::collection::vec(0usize..5, 0..7000),
            threads in 1usize..4,
        ) {
            let each = |i: usize, &n: &usize| (0..n).map(move |j| (i, j));
            let expected: Vec<(usize, usize)> =
                counts.iter().enumerate().flat_map(|(i, n)| each(i, n)).collect();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let got = pool.install(|| flat_collect(&counts, |_, &n| n, each));
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    #[should_panic(expected = "more values than its count")]
    fn a_count_too_small_panics() {
        flat_collect(&[2usize, 3], |_, &n| n - 1, |_, &n| 0..n);
    }

    #[test]
    #[should_panic(expected = "fewer values than its count")]
    fn a_count_too_large_panics() {
        flat_collect(&[2usize, 3], |_, &n| n + 1, |_, &n| 0..n);
    }

    /// A count that is smaller the second time it is asked must not leave a slot unwritten.
    #[test]
    #[should_panic(expected = "a count changed between its two calls")]
    fn a_count_that_changes_panics() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let count = |_: usize, &n: &usize| {
            let first_pass = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 2;
            if first_pass { n } else { n - 1 }
        };
        flat_collect(&[2usize, 3], count, |_, &n| 0..n - 1);
    }

    proptest! {
        /// Concatenating in parallel is concatenating: any part lengths, empty parts
        /// included, 1 to 3 threads.
        #[test]
        fn concat_is_append(
            lens in proptest::collection::vec(0usize..300, 0..40),
            threads in 1usize..4,
        ) {
            let parts: Vec<Vec<String>> = lens
                .iter()
                .enumerate()
                .map(|(p, &n)| (0..n).map(|j| format!("{p}.{j}")).collect())
                .collect();
            let expected: Vec<String> = parts.iter().flatten().cloned().collect();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let got = pool.install(|| concat(parts));
            prop_assert_eq!(got, expected);
        }
    }

    /// Values that own memory are moved in whole: every string arrives, in order.
    #[test]
    fn owned_values_arrive_intact() {
        let items: Vec<usize> = (0..5000).collect();
        let got = flat_collect(
            &items,
            |_, &i| i % 3,
            |i, _| (0..i % 3).map(move |j| format!("{i}.{j}")),
        );
        assert_eq!(got.len(), items.iter().map(|i| i % 3).sum::<usize>());
        assert_eq!(got[0], "1.0");
        assert_eq!(got.last().map(String::as_str), Some("4999.0"));
    }
}
