//! Interned strings for the fields of normalized records.
//!
//! An audit export repeats a few thousand distinct values (users, mailboxes, IP addresses,
//! client strings, sessions, folders, app ids) millions of times. Every such field is a
//! [`Sym`]: a pointer to the one stored copy of its text and the text's hash. Equal strings are
//! the same `Sym`, so comparing two is comparing pointers and hashing one reads a stored
//! number, which is what the de-duplication and aggregation stages do most. Order is the
//! text's order, so sorted output never depends on which thread interned a value first.
//!
//! The store is process-wide and only grows: a command reads its evidence once and exits (see
//! `cmd::release`). Its size is the distinct text of the evidence, measured in the README.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{LazyLock, Mutex};

/// One stored string with the hash every [`Sym`] of it reports.
pub struct Interned {
    hash: u64,
    text: &'static str,
}

/// An interned string: `Copy`, compared and hashed in constant time, ordered by its text.
#[derive(Clone, Copy)]
pub struct Sym(&'static Interned);

const SHARDS: usize = 64;
/// Text is copied into leaked blocks of this size (longer strings get their own).
const BLOCK: usize = 256 * 1024;

struct Shard {
    /// (hash, entry): the hash is kept beside the pointer so probing and growing the table
    /// never read the entries themselves.
    table: hashbrown::HashTable<(u64, &'static Interned)>,
    block: &'static mut [u8],
    entries: &'static mut [std::mem::MaybeUninit<Interned>],
}

impl Shard {
    fn store_text(&mut self, s: &str) -> &'static str {
        if s.len() > BLOCK / 8 {
            return Box::leak(s.to_owned().into_boxed_str());
        }
        if self.block.len() < s.len() {
            self.block = Box::leak(vec![0u8; BLOCK].into_boxed_slice());
        }
        let block = std::mem::take(&mut self.block);
        let (head, rest) = block.split_at_mut(s.len());
        head.copy_from_slice(s.as_bytes());
        self.block = rest;
        std::str::from_utf8(head).expect("copied from a str")
    }

    fn store(&mut self, hash: u64, s: &str) -> &'static Interned {
        let text = self.store_text(s);
        if self.entries.is_empty() {
            self.entries = Box::leak(Box::new_uninit_slice(BLOCK / 16));
        }
        let entries = std::mem::take(&mut self.entries);
        let (head, rest) = entries.split_at_mut(1);
        self.entries = rest;
        head[0].write(Interned { hash, text })
    }
}

static STORE: LazyLock<Vec<Mutex<Shard>>> = LazyLock::new(|| {
    (0..SHARDS)
        .map(|_| {
            Mutex::new(Shard {
                table: hashbrown::HashTable::new(),
                block: &mut [],
                entries: &mut [],
            })
        })
        .collect()
});

const FRONT_SLOTS: usize = 1 << 16;

thread_local! {
    static FRONT: std::cell::RefCell<Vec<Option<&'static Interned>>> =
        std::cell::RefCell::new(vec![None; FRONT_SLOTS]);
}

static EMPTY: Interned = Interned { hash: 0, text: "" };

/// Fixed seeds: hashes (and so shard assignments downstream) are the same in every run.
fn hash_text(s: &str) -> u64 {
    static STATE: LazyLock<ahash::RandomState> =
        LazyLock::new(|| ahash::RandomState::with_seeds(0x5eed, 0xa11ce, 0xb0b, 0xca7));
    STATE.hash_one(s.as_bytes()) | 1
}

impl Sym {
    /// The empty string.
    pub const EMPTY: Sym = Sym(&EMPTY);

    /// The `Sym` of `s`, storing `s` the first time it is seen.
    pub fn new(s: &str) -> Sym {
        if s.is_empty() {
            return Sym::EMPTY;
        }
        let hash = hash_text(s);
        // Most values repeat: a per-thread table of recent ones answers without the lock.
        let slot = (hash as usize >> 7) % FRONT_SLOTS;
        if let Some(found) = FRONT.with_borrow(|f| f[slot])
            && found.hash == hash
            && found.text == s
        {
            return Sym(found);
        }
        let sym = Sym::new_shared(hash, s);
        FRONT.with_borrow_mut(|f| f[slot] = Some(sym.0));
        sym
    }

    /// [`Sym::new`] for values that seldom repeat close together (message ids): straight to
    /// the shared store, so they do not push the repeating values out of the per-thread table.
    pub fn new_rare(s: &str) -> Sym {
        if s.is_empty() {
            return Sym::EMPTY;
        }
        Sym::new_shared(hash_text(s), s)
    }

    fn new_shared(hash: u64, s: &str) -> Sym {
        let shard = &STORE[(hash >> 58) as usize % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&(_, found)) = shard.table.find(hash, |&(h, e)| h == hash && e.text == s) {
            return Sym(found);
        }
        let entry = shard.store(hash, s);
        shard.table.insert_unique(hash, (hash, entry), |&(h, _)| h);
        Sym(entry)
    }

    pub fn as_str(self) -> &'static str {
        self.0.text
    }

    /// A total order that is cheap to compute (hash, then text): for sorting where only
    /// grouping and determinism matter, not alphabetical order.
    pub fn hash_order(&self, other: &Sym) -> std::cmp::Ordering {
        self.0.hash.cmp(&other.0.hash).then_with(|| self.cmp(other))
    }

    /// The stored hash of the text (fixed seeds).
    pub fn hash_value(self) -> u64 {
        self.0.hash
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
        self.0.text
    }
}

impl AsRef<str> for Sym {
    fn as_ref(&self) -> &str {
        self.0.text
    }
}

impl PartialEq for Sym {
    fn eq(&self, other: &Sym) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for Sym {}

impl PartialEq<str> for Sym {
    fn eq(&self, other: &str) -> bool {
        self.0.text == other
    }
}
impl PartialEq<&str> for Sym {
    fn eq(&self, other: &&str) -> bool {
        self.0.text == *other
    }
}
impl PartialEq<Sym> for &str {
    fn eq(&self, other: &Sym) -> bool {
        *self == other.0.text
    }
}

impl PartialEq<String> for Sym {
    fn eq(&self, other: &String) -> bool {
        self.0.text == other.as_str()
    }
}

impl From<Sym> for String {
    fn from(s: Sym) -> String {
        s.0.text.to_owned()
    }
}
impl From<&Sym> for String {
    fn from(s: &Sym) -> String {
        s.0.text.to_owned()
    }
}

impl Hash for Sym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash)
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
            self.0.text.cmp(other.0.text)
        }
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.text, f)
    }
}
impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.text)
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
        s.serialize_str(self.0.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_text_is_one_sym_and_order_is_text_order() {
        let a = Sym::new("alice@contoso.com");
        let b = Sym::new(&String::from("alice@contoso.com"));
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a.hash_value(), b.hash_value());
        let c = Sym::new("bob@contoso.com");
        assert_ne!(a, c);
        assert!(a < c && c > a);
        assert_eq!(Sym::new(""), Sym::EMPTY);
        assert!(Sym::EMPTY < a);
        assert_eq!(format!("{a:?}"), "\"alice@contoso.com\"");
        let long = "x".repeat(BLOCK);
        assert_eq!(Sym::new(&long).as_str(), long);
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
