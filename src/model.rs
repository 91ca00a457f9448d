//! The normalized records every later stage works on.
//!
//! Whatever the export shape (NDJSON, CSV, Graph, Sentinel, Defender, ...), the parse stage
//! turns one audit record into one [`Record`]; a `MailItemsAccessed` record also carries a
//! [`MailAccess`]. Strings that are keys (mailboxes, users, message ids) are normalized here
//! once, so the analysis never has to care how an export spelled them.

use crate::sym::Sym;
use serde::Serialize;
use std::fmt;

/// Nanoseconds since the Unix epoch, UTC.
pub type Nanos = i64;

/// How a `MailItemsAccessed` record says the mail was read.
/// See: ../shared/docs/forensics.md, "The record".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AccessType {
    /// Individual messages were opened; their ids are listed.
    Bind,
    /// A desktop Outlook client synced a whole folder; no message ids.
    Sync,
    /// The record does not say (no `MailAccessType` property).
    Unknown,
}

impl AccessType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessType::Bind => "Bind",
            AccessType::Sync => "Sync",
            AccessType::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for AccessType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `LogonType`, in the Management Activity API schema's numbering.
pub const LOGON_TYPE_NAMES: [&str; 7] = [
    "Owner",
    "Admin",
    "Delegated",
    "Transport",
    "SystemService",
    "BestAccess",
    "DelegatedAdmin",
];

/// `LogonType` as its schema name, or its number when the schema has no name for it.
pub fn logon_type_label(t: Option<u8>) -> std::borrow::Cow<'static, str> {
    match t {
        None => "".into(),
        Some(n) => LOGON_TYPE_NAMES
            .get(n as usize)
            .map_or_else(|| n.to_string().into(), |s| (*s).into()),
    }
}

/// One message listed in a bind record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Item {
    /// InternetMessageId without angle brackets or surrounding space, lowercased
    /// (compared case-insensitively, printed as `<id>`).
    pub internet_message_id: Sym,
    pub size_bytes: Option<u64>,
}

/// A folder named by a record, with the messages the record lists in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Folder {
    pub id: Sym,
    /// Folder path as Exchange writes it, e.g. `\Inbox`.
    pub path: Sym,
    pub items: Vec<Item>,
}

/// The mail-access part of a `MailItemsAccessed` record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MailAccess {
    pub access: AccessType,
    /// `IsThrottled` = `True`: Exchange stopped auditing binds for 24 hours.
    pub throttled: bool,
    /// Number of bind operations aggregated into the record (`OperationCount`).
    pub operation_count: u64,
    pub logon_type: Option<u8>,
    /// Client IP, normalized: no brackets, port or `::ffff:` prefix.
    pub client_ip: Sym,
    /// Client IP as the record wrote it.
    pub client_ip_raw: Sym,
    pub client_info: Sym,
    pub session_id: Sym,
    pub app_id: Sym,
    pub client_app_id: Sym,
    pub folders: Vec<Folder>,
    /// The folder a sync record synced (`Item.ParentFolder`, or the one item-less `Folders[]`).
    /// Boxed: only sync records have one, and inline it took a third of every record's mail
    /// part.
    pub synced_folder: Option<Box<Folder>>,
}

impl MailAccess {
    pub fn logon_type_name(&self) -> String {
        logon_type_label(self.logon_type).into_owned()
    }

    /// All listed messages with their folder path.
    pub fn items(&self) -> impl Iterator<Item = (&Folder, &Item)> {
        self.folders
            .iter()
            .flat_map(|f| f.items.iter().map(move |i| (f, i)))
    }
}

/// A record id (`Id` = `RecordId` = `Identity` = `OfficeId`), lowercased. Ids in the GUID
/// form every Microsoft 365 export uses are held as their 128 bits (no allocation, compared
/// in one step); anything else as text. Order, equality and display are the text's.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum RecordId {
    /// The 128 bits, high half first: two `u64`s rather than a `u128`, whose 16-byte
    /// alignment made every id (and so every record) 8 bytes larger.
    Guid(u64, u64),
    Text(Box<str>),
}

impl RecordId {
    /// `s` as an id; `s` should already be lowercased.
    pub fn new(s: &str) -> RecordId {
        parse_guid(s).map_or_else(
            || RecordId::Text(s.into()),
            |g| RecordId::Guid((g >> 64) as u64, g as u64),
        )
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, RecordId::Text(t) if t.is_empty())
    }

    /// The id as text.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            RecordId::Guid(hi, lo) => format_guid((u128::from(*hi) << 64) | u128::from(*lo)).into(),
            RecordId::Text(t) => (**t).into(),
        }
    }
}

/// `8-4-4-4-12` lowercase hex digits, the only form [`RecordId::Guid`] stands for.
///
/// Eight digits at a time, with no branch per digit: ids are random hex, so a branch on
/// digit-or-letter was mispredicted half the time (three quarters of building a record, in
/// perf), and a branch-free loop over the digits still took 2% of `contexts`.
fn parse_guid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let half = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes")));
    let words = [
        word(0),
        half(9) | (half(14) << 32),
        half(19) | (half(24) << 32),
        word(28),
    ];
    let mut ok = true;
    let mut v = 0u128;
    for x in words {
        let (digits, good) = hex8(x);
        ok &= good;
        v = (v << 32) | u128::from(digits);
    }
    ok.then_some(v)
}

/// Eight bytes (the first in the lowest byte) read as eight hex digits, the first the most
/// significant; false when any of them is not `0`-`9` or `a`-`f`. Each byte is checked and
/// converted in the lanes of one `u64`. The arithmetic works on the low seven bits of each
/// byte (a byte with the high bit set is rejected by `ascii` alone), so every per-byte sum
/// stays below 0x100: no step carries from one byte into the next, and none overflows (any
/// byte of a non-ASCII id reaches here: the fuzzer found that the sums overflowed on them).
fn hex8(raw: u64) -> (u32, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x80 * ONES;
    let ascii = raw & HIGH == 0;
    let x = raw & !HIGH;
    // '0'..='9' become 0..=9; the high bit of d + 0x76 is set exactly when d >= 10.
    let d = x ^ (0x30 * ONES);
    let digit = !(d + 0x76 * ONES) & HIGH;
    // 'a'..='f' become 1..=6: at least 1 (high bit of l + 0x7f) and not at least 7 (l + 0x79).
    let l = x ^ (0x60 * ONES);
    let letter = (l + 0x7f * ONES) & !(l + 0x79 * ONES) & HIGH;
    let good = ascii && (digit | letter) == HIGH;
    // The low nibble, plus 9 for letters: one digit value per byte.
    let n = ((x & (0x0f * ONES)) + (letter >> 7) * 9) & (0x0f * ONES);
    // Pairs of bytes into one (first digit high), then pairs of those, then the two halves.
    let p = ((n & 0x000f_000f_000f_000f) << 4) | ((n >> 8) & 0x000f_000f_000f_000f);
    let q = ((p & 0x0000_00ff_0000_00ff) << 8) | ((p >> 16) & 0x0000_00ff_0000_00ff);
    let r = ((q & 0xffff) << 16) | ((q >> 32) & 0xffff);
    (r as u32, good)
}

fn format_guid(g: u128) -> String {
    let h = format!("{g:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl Default for RecordId {
    fn default() -> Self {
        RecordId::Text("".into())
    }
}

impl Ord for RecordId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            // Fixed-width lowercase hex: numeric order is text order.
            (RecordId::Guid(a, b), RecordId::Guid(c, d)) => (a, b).cmp(&(c, d)),
            _ => self.text().cmp(&other.text()),
        }
    }
}
impl PartialOrd for RecordId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}
impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text(), f)
    }
}
impl PartialEq<&str> for RecordId {
    fn eq(&self, other: &&str) -> bool {
        self.text() == *other
    }
}
impl From<&str> for RecordId {
    fn from(s: &str) -> RecordId {
        RecordId::new(s)
    }
}
impl From<&RecordId> for String {
    fn from(id: &RecordId) -> String {
        id.text().into_owned()
    }
}
impl Serialize for RecordId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

/// One well-formed audit record, normalized.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Record {
    /// Record id (`Id` = `RecordId` = `Identity` = `OfficeId`), lowercased. A record without
    /// one gets `~` followed by a digest of its normalized content.
    pub id: RecordId,
    /// Event time from the record's own time field (the export wrapper's only as fallback).
    #[serde(serialize_with = "ser_time")]
    pub time: Nanos,
    pub operation: Sym,
    /// Who acted (`UserId`); lowercased when it is a UPN.
    pub user: Sym,
    /// Mailbox that holds the data (`MailboxOwnerUPN`); lowercased.
    pub mailbox: Sym,
    /// Present exactly when `operation` is `MailItemsAccessed`.
    pub mail: Option<Box<MailAccess>>,
}

pub const MAIL_ITEMS_ACCESSED: &str = "MailItemsAccessed";

fn ser_time<S: serde::Serializer>(t: &Nanos, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::parse::fields::format_time(*t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record is held until the analysis ends: its size is memory per record (README,
    /// "Memory"). A `u128` id made records 80 bytes, an inline synced folder made the mail part
    /// 128.
    #[test]
    fn records_stay_small() {
        assert_eq!(std::mem::size_of::<RecordId>(), 24);
        assert_eq!(std::mem::size_of::<Record>(), 64);
        assert_eq!(std::mem::size_of::<MailAccess>(), 96);
    }

    /// What a GUID id is, said the plain way: 36 characters, dashes at 8, 13, 18 and 23,
    /// lowercase hex digits elsewhere.
    fn guid_by_rule(s: &str) -> Option<u128> {
        let b = s.as_bytes();
        let shape = b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
            });
        shape.then(|| u128::from_str_radix(&s.replace('-', ""), 16).unwrap())
    }

    /// Every byte value in every one of the eight places (the others hex digits): accepted
    /// exactly when it is a lowercase hex digit, with the value `from_str_radix` reads.
    #[test]
    fn hex8_reads_every_byte_value_in_every_place() {
        let base = *b"0123abcd";
        for place in 0..8 {
            for c in 0..=255u8 {
                let mut bytes = base;
                bytes[place] = c;
                let (value, good) = hex8(u64::from_le_bytes(bytes));
                let want = std::str::from_utf8(&bytes)
                    .ok()
                    .filter(|t| {
                        t.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    })
                    .map(|t| u32::from_str_radix(t, 16).unwrap());
                assert_eq!(good, want.is_some(), "byte {c:#x} at {place}");
                if let Some(w) = want {
                    assert_eq!(value, w, "byte {c:#x} at {place}");
                }
            }
        }
    }

    proptest::proptest! {
        /// The branch-free parse accepts exactly the GUID form and reads its value, also for
        /// the characters next to the digit and letter ranges (`/`, `:`, `` ` ``, `g`, upper
        /// case) and dashes out of place.
        #[test]
        fn guids_are_parsed_by_the_rule(
            s in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            at in 0usize..36,
            c in proptest::sample::select(b"/09:`afgAF-G\x00\xff".to_vec()),
        ) {
            proptest::prop_assert_eq!(parse_guid(&s), guid_by_rule(&s));
            proptest::prop_assert!(parse_guid(&s).is_some());
            let mut b = s.clone().into_bytes();
            b[at] = c;
            let t = String::from_utf8_lossy(&b).into_owned();
            proptest::prop_assert_eq!(parse_guid(&t), guid_by_rule(&t), "{}", t);
            let longer = format!("{s}0");
            proptest::prop_assert_eq!(parse_guid(&longer), None);
        }

        /// Ids in the GUID form round-trip, and order and compare like their text, next to
        /// ids that are not GUIDs.
        #[test]
        fn guid_ids_order_like_their_text(
            a in proptest::prelude::any::<u128>(),
            b in proptest::prelude::any::<u128>(),
            other in "[0-9a-f-]{0,40}",
        ) {
            let texts = [format_guid(a), format_guid(b), other];
            let ids: Vec<RecordId> = texts.iter().map(|t| RecordId::new(t)).collect();
            proptest::prop_assert!(matches!(ids[0], RecordId::Guid(..)));
            for (i, x) in ids.iter().enumerate() {
                proptest::prop_assert_eq!(&*x.text(), texts[i].as_str());
                for (j, y) in ids.iter().enumerate() {
                    proptest::prop_assert_eq!(x.cmp(y), texts[i].cmp(&texts[j]));
                    proptest::prop_assert_eq!(x == y, texts[i] == texts[j]);
                }
            }
        }
    }
}
