//! Interned strings for the fields of normalized records.
//!
//! An audit export repeats a few thousand distinct values (users, mailboxes, IP addresses,
//! client strings, sessions, folders, app ids) millions of times. Every such field is a
//! [`Sym`]: a pointer to the one stored copy of its text and the text's hash. Equal strings are
//! the same `Sym`, so comparing two is comparing pointers and hashing one reads a stored
//! number, which is what the de-duplication and aggregation stages do most. Order is the
//! text's order, so sorted output never depends on which thread interned a value first.
//!
//! Message ids are the exception: nearly every one is distinct, so looking each up in the
//! shared store only costs cache misses. They are unshared `Sym`s ([`Sym::new_unshared`]):
//! the same header and text, copied into per-thread blocks and tagged, compared by hash and
//! text instead of by pointer. A command that only counts distinct messages keeps a digest of
//! each id instead of its text ([`Sym::new_digest`]).
//!
//! The store is process-wide and only grows: a command reads its evidence once and exits (see
//! `cmd::release`). Its size is the distinct text of the evidence plus the text (or digest) of
//! every listed message id, measured in the README.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{LazyLock, Mutex};

/// The header of one stored string; its UTF-8 bytes follow it in the same block, so reading
/// a `Sym`'s hash, length and text touches one place in memory.
#[repr(C, align(8))]
struct Interned {
    hash: u64,
    len: u64,
}

/// An interned string: `Copy`, compared and hashed in constant time, ordered by its text.
#[derive(Clone, Copy)]
pub struct Sym(std::ptr::NonNull<Interned>);

// SAFETY: a `Sym` points at a header and text that are written once, before the `Sym` exists,
// and never changed or freed; sharing read-only 'static data between threads is sound.
unsafe impl Send for Sym {}
unsafe impl Sync for Sym {}

const SHARDS: usize = 64;
/// Strings are copied into leaked blocks of this many 8-byte words (longer ones get their own).
const BLOCK_WORDS: usize = 32 * 1024;
const HEADER_WORDS: usize = std::mem::size_of::<Interned>() / 8;

/// Leaked blocks that strings are copied into, with their header.
struct Blocks {
    /// The unused rest of the current block.
    free: *mut u64,
    free_words: usize,
}

impl Blocks {
    const fn new() -> Blocks {
        Blocks {
            free: std::ptr::null_mut(),
            free_words: 0,
        }
    }

    /// Copies `s` with its header into the current block (a new one when it is full).
    fn store(&mut self, hash: u64, s: &str) -> std::ptr::NonNull<Interned> {
        let words = HEADER_WORDS + s.len().div_ceil(8);
        let at = if words > BLOCK_WORDS / 8 {
            new_block(words)
        } else {
            if self.free_words < words {
                self.free = new_block(BLOCK_WORDS);
                self.free_words = BLOCK_WORDS;
            }
            let at = self.free;
            // SAFETY: `words` <= `free_words`, so the new `free` stays within the block.
            self.free = unsafe { self.free.add(words) };
            self.free_words -= words;
            at
        };
        // SAFETY: `at` starts `words` unused, leaked, 8-aligned words: room for the header and
        // the text right after it. The pointer comes from the block's own pointer, so it may
        // reach the text.
        unsafe {
            let header = at.cast::<Interned>();
            header.write(Interned {
                hash,
                len: s.len() as u64,
            });
            std::ptr::copy_nonoverlapping(s.as_ptr(), header.add(1).cast::<u8>(), s.len());
            std::ptr::NonNull::new_unchecked(header)
        }
    }
}

/// A zeroed block of `words` words that is never freed. Its address is also kept in a list,
/// so the block stays reachable (leak checkers, such as the fuzz targets' LeakSanitizer, see
/// memory kept on purpose, not lost) even when no `Sym` into it is left.
fn new_block(words: usize) -> *mut u64 {
    static ALL: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let block = Box::leak(vec![0u64; words].into_boxed_slice()).as_mut_ptr();
    ALL.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(block as usize);
    block
}

struct Shard {
    /// (hash, entry): the hash is kept beside the pointer so probing and growing the table
    /// never read the entries themselves.
    table: hashbrown::HashTable<(u64, Sym)>,
    blocks: Blocks,
}

// SAFETY: the blocks' `free` points into a leaked block only this shard writes, under its
// mutex.
unsafe impl Send for Shard {}

/// A shard on cache lines of its own: threads locking neighbouring shards do not contend for
/// one line.
#[repr(align(128))]
struct Padded(Mutex<Shard>);

static STORE: LazyLock<Vec<Padded>> = LazyLock::new(|| {
    (0..SHARDS)
        .map(|_| {
            Padded(Mutex::new(Shard {
                table: hashbrown::HashTable::new(),
                blocks: Blocks::new(),
            }))
        })
        .collect()
});

const FRONT_SLOTS: usize = 1 << 16;

thread_local! {
    static FRONT: std::cell::RefCell<Vec<Option<Sym>>> =
        std::cell::RefCell::new(vec![None; FRONT_SLOTS]);
}

thread_local! {
    /// Where this thread stores the strings of [`Sym::new_unshared`].
    static UNSHARED: std::cell::RefCell<Blocks> = const { std::cell::RefCell::new(Blocks::new()) };
}

/// The low bit of an unshared `Sym`'s pointer (headers are 8-aligned, so it is otherwise 0).
const UNSHARED_TAG: usize = 1;

/// The empty string's header (no text follows: its length is 0).
static EMPTY: Interned = Interned { hash: 0, len: 0 };

/// Asks for the cache line at `p` without waiting for it (a no-op off x86-64).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Fixed seeds: hashes (and so shard assignments downstream) are the same in every run.
fn hash_text(s: &str) -> u64 {
    static STATE: LazyLock<ahash::RandomState> =
        LazyLock::new(|| ahash::RandomState::with_seeds(0x5eed, 0xa11ce, 0xb0b, 0xca7));
    STATE.hash_one(s.as_bytes()) | 1
}

impl Sym {
    /// The empty string.
    pub const EMPTY: Sym = Sym(std::ptr::NonNull::from_ref(&EMPTY));

    /// The header's address, without the tag of an unshared `Sym`.
    fn ptr(self) -> *const Interned {
        self.0.as_ptr().map_addr(|a| a & !UNSHARED_TAG)
    }

    fn header(self) -> &'static Interned {
        // SAFETY: a Sym always points at a written, never-freed header (see `Blocks::store`).
        unsafe { &*self.ptr() }
    }

    fn is_unshared(self) -> bool {
        self.0.as_ptr().addr() & UNSHARED_TAG != 0
    }

    /// The `Sym` of `s`, storing `s` the first time it is seen. Most values repeat: a
    /// per-thread table of recent ones answers without the lock (see [`Sym::new_all`]).
    pub fn new(s: &str) -> Sym {
        let [sym] = Sym::new_all([s]);
        sym
    }

    /// The `Sym`s of several strings at once, equal to calling [`Sym::new`] on each. The
    /// per-thread table's slots are read for all of them before any stored text is compared,
    /// and the stored headers are fetched together: the cache misses of a record's five or
    /// six values overlap instead of following one another, which was most of the time spent
    /// interning.
    pub fn new_all<const N: usize>(texts: [&str; N]) -> [Sym; N] {
        let hashes = texts.map(|s| if s.is_empty() { 0 } else { hash_text(s) });
        let slots = hashes.map(|h| (h as usize >> 7) % FRONT_SLOTS);
        FRONT.with_borrow_mut(|front| {
            let found: [Option<Sym>; N] = std::array::from_fn(|i| front[slots[i]]);
            for sym in found.iter().flatten() {
                prefetch(sym.ptr());
            }
            std::array::from_fn(|i| {
                let s = texts[i];
                if s.is_empty() {
                    return Sym::EMPTY;
                }
                // A slot written for an earlier text of this same call is read again.
                if let Some(f) = front[slots[i]]
                    && f.hash_value() == hashes[i]
                    && f.as_str() == s
                {
                    return f;
                }
                let sym = Sym::new_shared(hashes[i], s);
                front[slots[i]] = Some(sym);
                sym
            })
        })
    }

    /// A `Sym` of `s` that is not looked up in the shared store, for values that seldom repeat
    /// (message ids): their text is copied into this thread's own blocks, with no lock and no
    /// table probe. Such a `Sym` equals, hashes and orders like any other of the same text, but
    /// comparing it for equality reads the text when the hashes agree (see `PartialEq`).
    pub fn new_unshared(s: &str) -> Sym {
        if s.is_empty() {
            return Sym::EMPTY;
        }
        let hash = hash_text(s);
        let header = UNSHARED.with_borrow_mut(|b| b.store(hash, s));
        Sym(header.map_addr(|a| a | UNSHARED_TAG))
    }

    /// An unshared `Sym` that stands for `s` by a 127-bit digest instead of holding its text,
    /// for values that are only counted, never shown (message ids in `contexts` and
    /// `sessions`): its hash is `s`'s hash (63 bits, as [`Sym::new_unshared`] stores), its
    /// text the 16 hex digits of a second hash of `s` with other seeds, so it takes 32 bytes
    /// whatever the length of `s`. Digests of equal texts are equal; of two different texts,
    /// equal with a probability of about 2^-127 (ids are not secret and the seeds are fixed,
    /// so ids made on purpose to collide are not ruled out: the commands that list messages
    /// keep their text). Digests are compared with digests only, never with a `Sym` of text.
    pub fn new_digest(s: &str) -> Sym {
        if s.is_empty() {
            return Sym::EMPTY;
        }
        static SECOND: LazyLock<ahash::RandomState> =
            LazyLock::new(|| ahash::RandomState::with_seeds(0xd16e57, 0x5ec0bd, 0x1d5, 0x7e77));
        let second = SECOND.hash_one(s.as_bytes());
        let mut hex = [0u8; 16];
        for (i, d) in hex.iter_mut().enumerate() {
            *d = b"0123456789abcdef"[(second >> (60 - 4 * i)) as usize & 0xf];
        }
        let text = std::str::from_utf8(&hex).expect("hex digits are ASCII");
        let header = UNSHARED.with_borrow_mut(|b| b.store(hash_text(s), text));
        Sym(header.map_addr(|a| a | UNSHARED_TAG))
    }

    fn new_shared(hash: u64, s: &str) -> Sym {
        // Bits 32.. pick the shard: the table itself uses the low bits (bucket) and the top
        // seven (tag), and a shard whose entries all shared their tag bits would compare
        // every entry of a probed group.
        let shard = &STORE[(hash >> 32) as usize % SHARDS];
        let mut shard = shard.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&(_, found)) = shard
            .table
            .find(hash, |&(h, e)| h == hash && e.as_str() == s)
        {
            return found;
        }
        let sym = Sym(shard.blocks.store(hash, s));
        shard.table.insert_unique(hash, (hash, sym), |&(h, _)| h);
        sym
    }

    pub fn as_str(self) -> &'static str {
        let len = self.header().len as usize;
        // SAFETY: `len` UTF-8 bytes copied from a str follow the header (see `Blocks::store`);
        // for the empty string, a zero-length slice just past its header.
        unsafe {
            let text = self.ptr().add(1).cast::<u8>();
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(text, len))
        }
    }

    /// A total order that is cheap to compute (hash, then text): for sorting where only
    /// grouping and determinism matter, not alphabetical order.
    pub fn hash_order(&self, other: &Sym) -> std::cmp::Ordering {
        self.hash_value()
            .cmp(&other.hash_value())
            .then_with(|| self.cmp(other))
    }

    /// The hash a `Sym` of `s` stores (see [`Sym::hash_value`]).
    pub fn hash_of(s: &str) -> u64 {
        hash_text(s)
    }

    /// The stored hash of the text (fixed seeds).
    pub fn hash_value(self) -> u64 {
        self.header().hash
    }
}

impl Default for Sym {
    fn default() -> Self {
        Sym::EMPTY
    }
}

impl Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Sym {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Sym {
    /// Two shared `Sym`s are equal exactly when they are the same pointer (one stored copy per
    /// text); when either is unshared, equal hash and text decide.
    fn eq(&self, other: &Sym) -> bool {
        self.0 == other.0
            || ((self.is_unshared() || other.is_unshared())
                && self.hash_value() == other.hash_value()
                && self.as_str() == other.as_str())
    }
}
impl Eq for Sym {}

impl PartialEq<str> for Sym {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for Sym {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
impl PartialEq<Sym> for &str {
    fn eq(&self, other: &Sym) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<String> for Sym {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl From<Sym> for String {
    fn from(s: Sym) -> String {
        s.as_str().to_owned()
    }
}
impl From<&Sym> for String {
    fn from(s: &Sym) -> String {
        s.as_str().to_owned()
    }
}

impl Hash for Sym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash_value())
    }
}

impl PartialOrd for Sym {
    fn partial_cmp(&self, other: &Sym) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sym {
    fn cmp(&self, other: &Sym) -> std::cmp::Ordering {
        if self == other {
            std::cmp::Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Sym {
        Sym::new(s)
    }
}
impl From<String> for Sym {
    fn from(s: String) -> Sym {
        Sym::new(&s)
    }
}
impl From<&String> for Sym {
    fn from(s: &String) -> Sym {
        Sym::new(s)
    }
}

impl serde::Serialize for Sym {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two different texts that fall on the same slot of the per-thread table.
    fn same_slot_pair() -> (String, String) {
        let mut seen = std::collections::HashMap::new();
        for i in 0.. {
            let t = format!("slot-{i}");
            let slot = (hash_text(&t) as usize >> 7) % FRONT_SLOTS;
            if let Some(earlier) = seen.insert(slot, t.clone()) {
                return (earlier, t);
            }
        }
        unreachable!()
    }

    /// Interning several at once gives what one at a time gives, also when texts repeat
    /// within one call, are empty, or share a slot of the per-thread table (so that a later
    /// text evicts an earlier one of the same call).
    #[test]
    fn new_all_is_new_on_each() {
        let (a, b) = same_slot_pair();
        let cases: [[&str; 4]; 4] = [
            [&a, &b, &a, &b],
            [&b, "", &b, &a],
            ["", "", "", ""],
            ["x", &a, "x", "y"],
        ];
        for texts in cases {
            let got = Sym::new_all(texts);
            for (sym, text) in got.iter().zip(texts) {
                assert_eq!(sym.as_str(), text);
                assert_eq!(*sym, Sym::new(text));
                assert_eq!(sym.hash_value(), Sym::new(text).hash_value());
            }
        }
    }

    proptest::proptest! {
        /// Any texts, on 1 thread or several at once: the same `Sym`s as `Sym::new`.
        #[test]
        fn new_all_matches_new(texts in proptest::array::uniform6("[a-c]{0,2}|\\PC{0,12}")) {
            let refs: [&str; 6] = std::array::from_fn(|i| texts[i].as_str());
            let on_threads: Vec<[Sym; 6]> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..3).map(|_| scope.spawn(|| Sym::new_all(refs))).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for got in on_threads.into_iter().chain([Sym::new_all(refs)]) {
                for (sym, text) in got.iter().zip(refs) {
                    proptest::prop_assert_eq!(sym.as_str(), text);
                    proptest::prop_assert_eq!(*sym, Sym::new(text));
                }
            }
        }
    }

    #[test]
    fn equal_text_is_one_sym_and_order_is_text_order() {
        let a = Sym::new("alice@contoso.com");
        let b = Sym::new(&String::from("alice@contoso.com"));
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a.hash_value(), b.hash_value());
        let c = Sym::new("bob@contoso.com");
        assert_ne!(a, c);
        assert!(a < c);
        assert!(c > a);
        assert_eq!(Sym::new(""), Sym::EMPTY);
        assert!(Sym::EMPTY < a);
        assert_eq!(format!("{a:?}"), "\"alice@contoso.com\"");
        let long = "x".repeat(BLOCK_WORDS * 8);
        assert_eq!(Sym::new(&long).as_str(), long);
    }

    #[test]
    fn unshared_equals_shared_of_the_same_text() {
        let shared = Sym::new("<m1@contoso.com>");
        let a = Sym::new_unshared("<m1@contoso.com>");
        let b = Sym::new_unshared(&String::from("<m1@contoso.com>"));
        assert!(a.is_unshared() && !shared.is_unshared());
        assert!(!std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert_eq!(a, shared);
        assert_eq!(shared, b);
        assert_eq!(a.cmp(&shared), std::cmp::Ordering::Equal);
        assert_eq!(a.hash_value(), shared.hash_value());
        let hash = |s: Sym| ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(s);
        assert_eq!(hash(a), hash(shared));
        let other = Sym::new_unshared("<m2@contoso.com>");
        assert_ne!(a, other);
        assert_ne!(other, shared);
        assert!(a < other && shared < other);
        assert_eq!(Sym::new_unshared(""), Sym::EMPTY);
        assert_eq!(a.as_str(), "<m1@contoso.com>");
        let set: std::collections::HashSet<Sym> = [a, b, shared, other].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn digests_stand_for_their_text() {
        let a = Sym::new_digest("m1@contoso.com");
        let b = Sym::new_digest(&String::from("m1@contoso.com"));
        assert!(a.is_unshared() && !std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
        assert_eq!(a.hash_value(), Sym::new("m1@contoso.com").hash_value());
        assert_eq!(a.len(), 16);
        assert!(
            a.bytes()
                .all(|d| d.is_ascii_hexdigit() && !d.is_ascii_uppercase())
        );
        assert_ne!(a.as_str(), "m1@contoso.com");
        assert_eq!(Sym::new_digest(""), Sym::EMPTY);
        // Distinct texts, long and short, ASCII or not: distinct digests, and the stored text
        // (the second hash) alone is distinct too.
        let texts: Vec<String> = (0..200_000)
            .map(|i| match i % 3 {
                0 => format!("m{i}@x"),
                1 => format!("<{i:08}.{}@prod.outlook.com>", "a".repeat(i % 90)),
                _ => format!("{}{i}", "\u{e9}".repeat(i % 5)),
            })
            .collect();
        let digests: std::collections::HashSet<Sym> =
            texts.iter().map(|t| Sym::new_digest(t)).collect();
        assert_eq!(digests.len(), texts.len());
        let seconds: std::collections::HashSet<&str> = digests.iter().map(|d| d.as_str()).collect();
        assert_eq!(seconds.len(), texts.len(), "the second hash collides");
    }

    #[test]
    fn threads_agree() {
        let words: Vec<String> = (0..5000).map(|i| format!("w{}", i % 700)).collect();
        let per_thread: Vec<Vec<Sym>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| words.iter().map(|w| Sym::new(w)).collect::<Vec<_>>()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for syms in &per_thread[1..] {
            assert_eq!(syms, &per_thread[0]);
        }
        for (w, s) in words.iter().zip(&per_thread[0]) {
            assert_eq!(s.as_str(), w);
        }
    }
}
