//! Parse stage: one audit record's bytes (a JSON object, or a CSV row) -> one normalized
//! [`Record`], or the reason it is malformed.
//!
//! The record may be bare AuditData, an export wrapper whose `AuditData` is an object or a
//! JSON string (Search-UnifiedAuditLog, Purview CSV, Extractor-Suite JSON/JSONL), a Graph
//! `auditLogRecord` with `auditData`, a Sentinel `OfficeActivity` row, a Defender
//! `CloudAppEvents` row with `RawEventData`, or a flat Search-MailboxAuditLog CSV row. Each
//! object is scanned once into `Slots`; the AuditData's own fields win, the wrapper's fill
//! the gaps. See: ../shared/docs/formats.md, "Field variants".

pub mod fields;
mod json;

pub use json::{JsonParser, Malformed, MalformedKind, MessageIds, NeedsContext, is_unterminated};

use crate::model::{AccessType, Folder, Item, MAIL_ITEMS_ACCESSED, MailAccess, Record, RecordId};
use crate::sym::Sym;
use fields::*;
use simd_json::{Node, StaticNode};
use std::borrow::Cow;

/// A JSON value (from a simd-json tape) or a CSV cell, seen through one interface.
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Obj(Obj<'a>),
    Arr(TapeArr<'a>),
}

/// An object: a JSON object on a tape, or a CSV row as (header, cell) pairs.
#[derive(Clone, Copy, Debug)]
pub enum Obj<'a> {
    Tape(TapeObj<'a>),
    Flat(&'a [(&'a str, &'a str)]),
}

/// Number of tape nodes a value takes, its header included.
fn node_count(n: &Node<'_>) -> usize {
    match n {
        Node::Object { count, .. } | Node::Array { count, .. } => *count + 1,
        _ => 1,
    }
}

/// A JSON object on a simd-json tape: its header node and everything inside it.
#[derive(Clone, Copy, Debug)]
pub struct TapeObj<'a>(&'a [Node<'a>]);

/// A JSON array on a simd-json tape.
#[derive(Clone, Copy, Debug)]
pub struct TapeArr<'a>(&'a [Node<'a>]);

impl<'a> TapeObj<'a> {
    /// The (key, value nodes) pairs, in document order, the values not yet read.
    fn entries(self) -> impl Iterator<Item = (&'a str, &'a [Node<'a>])> {
        let mut rest = self.0.get(1..).unwrap_or_default();
        std::iter::from_fn(move || {
            let (k, tail) = rest.split_first()?;
            let Node::String(k) = k else { return None };
            let n = node_count(tail.first()?);
            let (v, tail) = tail.split_at(n.min(tail.len()));
            rest = tail;
            Some((*k, v))
        })
    }

    /// The (key, value) pairs, in document order.
    pub fn iter(self) -> impl Iterator<Item = (&'a str, Field<'a>)> {
        self.entries().map(|(k, v)| (k, Field::from_nodes(v)))
    }

    /// Calls `f` with the value of every key that `pick` knows, and what `pick` said of it.
    /// The values of other keys are skipped over without being read.
    #[inline]
    pub fn visit_known<T>(
        self,
        pick: impl Fn(&'a str) -> Option<T>,
        mut f: impl FnMut(T, Field<'a>),
    ) {
        for (k, v) in self.entries() {
            if let Some(t) = pick(k) {
                f(t, Field::from_nodes(v));
            }
        }
    }
}

impl<'a> TapeArr<'a> {
    /// Number of elements.
    pub fn len(self) -> usize {
        match self.0.first() {
            Some(Node::Array { len, .. }) => *len,
            _ => 0,
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Field<'a>> {
        let mut rest = self.0.get(1..).unwrap_or_default();
        std::iter::from_fn(move || {
            let n = node_count(rest.first()?);
            let (v, tail) = rest.split_at(n.min(rest.len()));
            rest = tail;
            Some(Field::from_nodes(v))
        })
    }
}

impl<'a> Field<'a> {
    /// The value whose nodes start at `nodes[0]`.
    pub fn from_nodes(nodes: &'a [Node<'a>]) -> Field<'a> {
        match nodes.first() {
            Some(Node::String(s)) => Field::Str(s),
            Some(Node::Object { .. }) => Field::Obj(Obj::Tape(TapeObj(nodes))),
            Some(Node::Array { .. }) => Field::Arr(TapeArr(nodes)),
            Some(Node::Static(StaticNode::I64(i))) => Field::Int(*i),
            Some(Node::Static(StaticNode::U64(u))) => match i64::try_from(*u) {
                Ok(i) => Field::Int(i),
                Err(_) => Field::Float(*u as f64),
            },
            Some(Node::Static(StaticNode::F64(f))) => Field::Float(*f),
            Some(Node::Static(StaticNode::Bool(b))) => Field::Bool(*b),
            _ => Field::Null,
        }
    }

    /// The value as text: strings as they are, numbers and booleans written out.
    fn text(&self) -> Option<Cow<'a, str>> {
        match *self {
            Field::Str(s) => Some(Cow::Borrowed(s)),
            Field::Int(i) => Some(Cow::Owned(i.to_string())),
            Field::Float(f) => Some(Cow::Owned(f.to_string())),
            Field::Bool(b) => Some(Cow::Borrowed(if b { "True" } else { "False" })),
            _ => None,
        }
    }

    fn text_or_empty(&self) -> Cow<'a, str> {
        self.text().unwrap_or(Cow::Borrowed(""))
    }

    fn as_u64(&self) -> Option<u64> {
        match *self {
            Field::Int(i) if i >= 0 => Some(i as u64),
            Field::Float(f) if f.is_finite() && f >= 0.0 => Some(f as u64),
            Field::Str(s) => parse_u64_text(s),
            _ => None,
        }
    }
}

impl<'a> Obj<'a> {
    /// Calls `f` with every key (trimmed: one published sample has `"ExternalAccess "`) and
    /// value. Empty CSV cells are absent values.
    pub fn visit(&self, mut f: impl FnMut(&'a str, Field<'a>)) {
        match *self {
            Obj::Tape(o) => {
                for (k, v) in o.iter() {
                    f(k.trim_ws(), v);
                }
            }
            Obj::Flat(pairs) => {
                for &(k, v) in pairs {
                    if !v.is_empty() {
                        f(k.trim_ws(), Field::Str(v));
                    }
                }
            }
        }
    }

    /// The value of the first key that matches one of `names` (ASCII case-insensitively).
    pub fn get_ci(&self, names: &[&str]) -> Option<Field<'a>> {
        let mut found = None;
        self.visit(|k, v| {
            if found.is_none() && names.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                found = Some(v);
            }
        });
        found
    }
}

/// The outcome of parsing one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Record(Record),
    Malformed(Malformed),
}

macro_rules! slots {
    ($($name:ident),* $(,)?) => {
        /// The known fields of one object, each with the priority of the key it came from
        /// (lower wins when an object has several spellings).
        #[derive(Default, Clone, Copy)]
        struct Slots<'a> { $($name: Option<(u8, Field<'a>)>,)* }

        /// Names a field of [`Slots`].
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Slot { $($name,)* }

        impl<'a> Slots<'a> {
            /// Fills the gaps of `self` from `other` (the export wrapper).
            fn fill_from(&mut self, other: &Slots<'a>) {
                $(if self.$name.is_none() { self.$name = other.$name; })*
            }

            fn slot_mut(&mut self, slot: Slot) -> &mut Option<(u8, Field<'a>)> {
                match slot { $(Slot::$name => &mut self.$name,)* }
            }
        }
    };
}

slots!(
    time,
    id,
    op,
    user,
    mailbox,
    ip,
    client_info,
    session,
    app_ctx,
    app_id,
    client_app_id,
    logon,
    op_props,
    op_count,
    folders,
    item,
    nested,
    value,
);

/// Every key [`scan`] reads: the field it fills, and its priority there (lower wins when an
/// object has several spellings).
const KEYS: &[(&str, Slot, u8)] = &[
    ("CreationTime", Slot::time, 0),
    ("createdDateTime", Slot::time, 1),
    ("TimeGenerated", Slot::time, 2),
    ("Timestamp", Slot::time, 3),
    ("CreationDate", Slot::time, 4),
    ("LastAccessed", Slot::time, 5),
    ("Id", Slot::id, 0),
    ("RecordId", Slot::id, 1),
    ("Identity", Slot::id, 2),
    ("id", Slot::id, 3),
    ("OfficeId", Slot::id, 4),
    ("SourceRecordId", Slot::id, 5),
    ("Operation", Slot::op, 0),
    ("Operations", Slot::op, 1),
    ("operation", Slot::op, 2),
    ("ActionType", Slot::op, 3),
    ("UserId", Slot::user, 0),
    ("UserIds", Slot::user, 1),
    ("userPrincipalName", Slot::user, 2),
    ("userId", Slot::user, 3),
    ("UserId_", Slot::user, 4),
    ("LogonUserDisplayName", Slot::user, 5),
    ("MailboxOwnerUPN", Slot::mailbox, 0),
    ("ClientIPAddress", Slot::ip, 0),
    ("Client_IPAddress", Slot::ip, 1),
    ("ClientIP", Slot::ip, 2),
    ("clientIp", Slot::ip, 3),
    ("IPAddress", Slot::ip, 4),
    ("ActorIpAddress", Slot::ip, 5),
    ("ClientInfoString", Slot::client_info, 0),
    ("UserAgent_string", Slot::client_info, 1),
    ("SessionId", Slot::session, 0),
    ("AppAccessContext", Slot::app_ctx, 0),
    ("AppId", Slot::app_id, 0),
    ("ClientAppId", Slot::client_app_id, 0),
    ("LogonType", Slot::logon, 0),
    ("Logon_Type", Slot::logon, 1),
    ("OperationProperties", Slot::op_props, 0),
    ("OperationCount", Slot::op_count, 0),
    ("AuditOperationsCountInAggregatedRecord", Slot::op_count, 1),
    ("Folders", Slot::folders, 0),
    ("AggregatedRecordFoldersData", Slot::folders, 1),
    ("Item", Slot::item, 0),
    ("AuditData", Slot::nested, 0),
    ("auditData", Slot::nested, 1),
    ("RawEventData", Slot::nested, 2),
    ("value", Slot::value, 0),
];

/// Finds a key of [`KEYS`] with one table probe and one comparison. An object has some 30
/// keys, most of them unknown; comparing each with every known key in turn was 8% of the CPU
/// time of `contexts`. The table is indexed by a multiplicative hash of the key's length and
/// its first and last eight bytes, with a multiplier chosen once, deterministically, so that
/// no two known keys share an entry.
struct KeyTable {
    mul: u64,
    /// Index into [`KEYS`] plus one; 0: no known key hashes here.
    entries: [u8; KeyTable::SIZE],
    /// The first and last eight bytes of each known key, as [`KeyTable::words`] reads them:
    /// comparing these two words compares a key of up to 16 bytes whole, with no call to
    /// `memcmp` (which was a fifth of the lookups' time, for keys of 2 to 19 bytes).
    words: [(u64, u64); KEYS.len()],
}

impl KeyTable {
    const BITS: u32 = 9;
    const SIZE: usize = 1 << Self::BITS;

    /// What the hash reads: the length and the first and last eight bytes (overlapping in a
    /// key of 8 to 15 bytes; a shorter key is read whole, padded with zeros). No two known
    /// keys agree on all of these (`CreationTime` and `CreationDate` agree on length, first,
    /// middle and last byte).
    #[inline]
    fn words(k: &[u8]) -> (u64, u64) {
        let n = k.len();
        if n >= 8 {
            let word = |at: usize| u64::from_le_bytes(k[at..at + 8].try_into().unwrap());
            (word(0), word(n - 8))
        } else {
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(k);
            (u64::from_le_bytes(b), 0)
        }
    }

    #[inline]
    fn index(mul: u64, (head, tail): (u64, u64), n: usize) -> usize {
        let signature = head ^ tail.rotate_left(31).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ n as u64;
        (signature.wrapping_mul(mul) >> (64 - Self::BITS)) as usize
    }

    fn build() -> KeyTable {
        let mut mul: u64 = 0xc2b2_ae3d_27d4_eb4f;
        for _ in 0..100_000 {
            let mut entries = [0u8; Self::SIZE];
            let placed = KEYS.iter().enumerate().all(|(i, (k, _, _))| {
                let k = k.as_bytes();
                let e = &mut entries[Self::index(mul, Self::words(k), k.len())];
                let free = *e == 0;
                *e = i as u8 + 1;
                free
            });
            if placed {
                let words = std::array::from_fn(|i| Self::words(KEYS[i].0.as_bytes()));
                return KeyTable {
                    mul,
                    entries,
                    words,
                };
            }
            // The next odd multiplier of a fixed sequence.
            mul = mul.wrapping_add(0x6a09_e667_f3bc_c909) | 1;
        }
        panic!("no multiplier gives every known key an entry of its own");
    }

    #[inline]
    fn find(&self, k: &str) -> Option<(Slot, u8)> {
        let (k, n) = (k.as_bytes(), k.len());
        let words = Self::words(k);
        let i = (self.entries[Self::index(self.mul, words, n)] as usize).checked_sub(1)?;
        let &(name, slot, prio) = KEYS.get(i)?;
        // The two words hold every byte of a key of up to 16 bytes; a longer one also has
        // the bytes between them compared.
        let same = name.len() == n
            && self.words[i] == words
            && (n <= 16 || name.as_bytes()[8..n - 8] == k[8..n - 8]);
        same.then_some((slot, prio))
    }
}

static KEY_TABLE: std::sync::LazyLock<KeyTable> = std::sync::LazyLock::new(KeyTable::build);

/// Stores `v`, the value of a key of priority `prio` for `slot`, in `slot_value`. A null and
/// an empty or blank string are absent values, as an empty CSV cell is: another spelling of
/// the field (`ClientIP` beside an empty `Client_IPAddress`, a Sentinel row), or the
/// wrapper's, is read instead, in JSON as in CSV. Except in AuditData: an empty one is a
/// record whose content is missing (see `normalize_slots`), kept below any other spelling.
#[inline]
fn put<'a>(slot_value: &mut Option<(u8, Field<'a>)>, slot: Slot, prio: u8, v: Field<'a>) {
    let prio = match v {
        Field::Null => return,
        // `trim_ws` looks at the first and last bytes of most strings only.
        Field::Str(s) if s.trim_ws().is_empty() => match slot {
            Slot::nested => u8::MAX,
            _ => return,
        },
        _ => prio,
    };
    if slot_value.is_none_or(|(p, _)| prio < p) {
        *slot_value = Some((prio, v));
    }
}

fn scan(obj: Obj<'_>) -> Slots<'_> {
    let table = &*KEY_TABLE;
    let mut s = Slots::default();
    let mut on = |(slot, prio), v| put(s.slot_mut(slot), slot, prio, v);
    match obj {
        Obj::Tape(o) => o.visit_known(|k| table.find(k.trim_ws()), on),
        // Empty cells too (`Obj::visit` leaves them out): `put` tells them apart.
        Obj::Flat(pairs) => {
            for &(k, v) in pairs {
                if let Some(found) = table.find(k.trim_ws()) {
                    on(found, Field::Str(v))
                }
            }
        }
    }
    s
}

fn val<'a>(slot: Option<(u8, Field<'a>)>) -> Option<Field<'a>> {
    slot.map(|(_, f)| f)
}

fn text<'a>(slot: Option<(u8, Field<'a>)>) -> Cow<'a, str> {
    val(slot).map(|f| f.text_or_empty()).unwrap_or_default()
}

/// The records of a Graph audit-log query page (`{"value":[record, ...],
/// "@odata.nextLink":...}`): an object with no operation and no time of its own whose
/// `value` is an array. `None` for anything else.
fn page_items<'a>(s: &Slots<'a>) -> Option<TapeArr<'a>> {
    match (s.op, s.time, val(s.value)) {
        (None, None, Some(Field::Arr(items))) => Some(items),
        _ => None,
    }
}

/// True when `root` is a Graph page (whose records may be none at all).
pub fn is_page(root: Field<'_>) -> bool {
    matches!(root, Field::Obj(obj) if page_items(&scan(obj)).is_some())
}

/// Parses one top-level JSON value of an export into outcomes (a Graph page holds many
/// records; anything else holds one).
pub fn normalize_top(root: Field<'_>, parser: &mut JsonParser, out: &mut Vec<Outcome>) {
    match root {
        Field::Obj(obj) => {
            let s = scan(obj);
            if let Some(items) = page_items(&s) {
                for item in items.iter() {
                    normalize_top(item, parser, out);
                }
                return;
            }
            out.push(normalize_slots(s, parser));
        }
        Field::Arr(items) => {
            for item in items.iter() {
                normalize_top(item, parser, out);
            }
        }
        _ => out.push(Outcome::Malformed(Malformed::new(
            MalformedKind::NotARecord,
            "a JSON value that is not an object where a record was expected",
        ))),
    }
}

/// Parses one record object (JSON object or CSV row).
pub fn normalize_object(obj: Obj<'_>, parser: &mut JsonParser) -> Outcome {
    normalize_slots(scan(obj), parser)
}

/// Parses one CSV row: `pairs` are its cells with the names `header` gives them. A row with
/// fewer cells than its header was cut (a line cut mid-record; the `csv` crate and
/// [`frame_csv`](crate::input::frame::frame_csv) split rows without looking at their length):
/// when AuditData is among the cells it lacks, the record is `truncated`, not read from the
/// wrapper's columns alone. A row that lacks only other cells is read: Excel leaves out the
/// empty cells at the end of a row (the `AssociatedAdminUnits` columns of a Purview export).
pub fn normalize_row(
    pairs: &[(&str, &str)],
    header: &[String],
    parser: &mut JsonParser,
) -> Outcome {
    let lacks = header.get(pairs.len()..).unwrap_or_default();
    let is_audit_data = |h: &&String| {
        KEY_TABLE
            .find(h.trim_ws())
            .is_some_and(|(slot, _)| slot == Slot::nested)
    };
    if let Some(name) = lacks.iter().find(is_audit_data) {
        return Outcome::Malformed(Malformed::new(
            MalformedKind::Truncated,
            format!(
                "the row ends after {} of the header's {} cells, before {}: the line was cut",
                pairs.len(),
                header.len(),
                name.trim_ws()
            ),
        ));
    }
    normalize_object(Obj::Flat(pairs), parser)
}

fn normalize_slots(wrapper: Slots<'_>, parser: &mut JsonParser) -> Outcome {
    match val(wrapper.nested) {
        Some(Field::Obj(inner)) => build(scan(inner), Some(&wrapper), parser),
        // An export wrapper (CSV row or JSON) with an empty AuditData: the record itself is
        // missing. Its Operation column may say MailItemsAccessed, but without the AuditData
        // there is no access type, client, session nor message id: reading the wrapper alone
        // would give an access of unknown type that looks whole.
        Some(Field::Str(text)) if text.trim_ws().is_empty() => Outcome::Malformed(Malformed::new(
            MalformedKind::Truncated,
            "AuditData is empty: the record's content is missing",
        )),
        Some(Field::Str(text)) => {
            let res = parser.parse_str(text, |root, p| match root {
                Field::Obj(inner) => build(scan(inner), Some(&wrapper), p),
                Field::Str(again) => {
                    // Double-encoded AuditData: a JSON string literal holding the JSON.
                    p.parse_str(again, |root2, p2| match root2 {
                        Field::Obj(inner) => build(scan(inner), Some(&wrapper), p2),
                        _ => not_an_object("AuditData"),
                    })
                    .unwrap_or_else(|m| Outcome::Malformed(m.context("AuditData")))
                }
                _ => not_an_object("AuditData"),
            });
            res.unwrap_or_else(|m| Outcome::Malformed(m.context("AuditData")))
        }
        _ => build(wrapper, None, parser),
    }
}

fn not_an_object(what: &str) -> Outcome {
    Outcome::Malformed(Malformed::new(
        MalformedKind::NotARecord,
        format!("{what} is not a JSON object"),
    ))
}

fn parse_time_field(f: Field<'_>, order: Option<DateOrder>) -> Result<i64, String> {
    let t = match f {
        // PowerShell 5.1 date object: {"value":"/Date(ms)/","DateTime":"Wednesday, ..."}
        Field::Obj(o) => o
            .get_ci(&["value"])
            .and_then(|v| v.text())
            .unwrap_or_default(),
        other => other.text_or_empty(),
    };
    let parsed = match order {
        Some(o) => parse_time_ordered(&t, o),
        None => parse_any_time(&t),
    };
    parsed.map_err(|e| match e {
        TimeError::AmbiguousLocale => format!(
            "time '{t}' is ambiguous (day-first or month-first; say which with --date-order)"
        ),
        TimeError::Unparseable => format!("time '{t}' is not a date"),
    })
}

fn build<'a>(mut a: Slots<'a>, wrapper: Option<&Slots<'a>>, parser: &mut JsonParser) -> Outcome {
    // The AuditData's own time first; the wrapper's only as a fallback.
    // See: ../shared/docs/formats.md, "Order events by AuditData's own time".
    let order = parser.date_order;
    let own_time = val(a.time).map(|f| parse_time_field(f, order));
    let time = match (own_time, wrapper.and_then(|w| val(w.time))) {
        (Some(Ok(t)), _) => Ok(t),
        (own, Some(wt)) => parse_time_field(wt, order).map_err(|e| match own {
            Some(Err(own_err)) => own_err,
            _ => e,
        }),
        (Some(Err(e)), None) => Err(e),
        (None, None) => Err(String::new()),
    };
    if let Some(w) = wrapper {
        a.fill_from(w);
    }
    let operation_text = text(a.op);
    let operation = operation_text.trim_ws();
    if operation.is_empty() {
        return Outcome::Malformed(Malformed::new(
            MalformedKind::NotARecord,
            "no Operation field: not an audit record",
        ));
    }
    let time = match time {
        Ok(t) => t,
        Err(e) if e.is_empty() => {
            return Outcome::Malformed(Malformed::new(MalformedKind::NoTime, "no time field"));
        }
        Err(e) => return Outcome::Malformed(Malformed::new(MalformedKind::BadTime, e)),
    };
    let id_text = text(a.id);
    let id = ascii_lower(id_text.trim_ws());
    // A record without an id is told apart by a digest of all its content, message ids
    // included: their text is kept for the digest whatever the parser keeps, so the record
    // gets the same digest (and so the same de-duplication) in every command.
    let keep_ids = match id.is_empty() {
        true => MessageIds::Text,
        false => parser.message_ids,
    };
    let mail = if operation.eq_ignore_ascii_case(MAIL_ITEMS_ACCESSED) {
        match build_mail(&a, parser, keep_ids, id.is_empty()) {
            Ok(m) => Some(m),
            Err(m) => return Outcome::Malformed(m),
        }
    } else {
        None
    };
    static MIA: std::sync::LazyLock<Sym> =
        std::sync::LazyLock::new(|| Sym::new(MAIL_ITEMS_ACCESSED));
    let user_text = text(a.user);
    let user_norm = normalize_identity_cow(&user_text);
    let mailbox_text = text(a.mailbox);
    let mailbox_norm = normalize_identity_cow(&mailbox_text);
    // The owner reading their own mailbox (most records): one lookup for both.
    let own = mailbox_norm == user_norm;
    let mailbox_to_find: &str = if own { "" } else { &mailbox_norm };
    let (user, mailbox, mail) = match mail {
        Some((mut m, Some(t))) => {
            let [
                user,
                mailbox,
                client_info,
                session_id,
                app_id,
                client_app_id,
            ] = Sym::new_all([
                &user_norm,
                mailbox_to_find,
                &t.client_info,
                &t.session_id,
                &t.app_id,
                &t.client_app_id,
            ]);
            m.client_info = client_info;
            m.session_id = session_id;
            m.app_id = app_id;
            m.client_app_id = client_app_id;
            (user, mailbox, Some(Box::new(m)))
        }
        // Not MailItemsAccessed, or its access context left out (see `build_mail`).
        other => {
            let [user, mailbox] = Sym::new_all([&user_norm, mailbox_to_find]);
            (user, mailbox, other.map(|(m, _)| Box::new(m)))
        }
    };
    let mailbox = if own { user } else { mailbox };
    let mut record = Record {
        id: RecordId::new(&id),
        time,
        operation: if mail.is_some() {
            *MIA
        } else {
            Sym::new(operation)
        },
        user,
        mailbox,
        mail,
    };
    if record.id.is_empty() {
        // No record id: de-duplicate by content instead.
        let digest = fnv1a(format!("{record:?}").as_bytes(), 0);
        record.id = RecordId::Text(format!("~{digest:016x}").into());
        keep_message_ids(&mut record, parser.message_ids);
    }
    Outcome::Record(record)
}

/// Turns the InternetMessageId text of every listed message of `record` into what parsing
/// with [`JsonParser::message_ids`] set to `what` gives: the text, its digest, or nothing.
pub fn keep_message_ids(record: &mut Record, what: MessageIds) {
    let to: fn(Sym) -> Sym = match what {
        MessageIds::Text => return,
        MessageIds::Digest => |id| Sym::new_digest(&id),
        MessageIds::Drop => |_| Sym::EMPTY,
    };
    if let Some(m) = record.mail.as_deref_mut() {
        for f in &mut m.folders {
            for it in &mut f.items {
                it.internet_message_id = to(it.internet_message_id);
            }
        }
    }
}

/// Drops the folders of `record` with their listed messages, and a sync record's folder (for
/// a command that never reads them: see `ingest::Options::folders`).
pub fn drop_folders(record: &mut Record) {
    if let Some(m) = record.mail.as_deref_mut() {
        m.folders = Vec::new();
        m.synced_folder = None;
    }
}

fn lossy(what: &str, sample: &str) -> Malformed {
    let mut shown: String = sample.chars().take(80).collect();
    if shown.len() < sample.len() {
        shown.push_str("...");
    }
    let lost = match what {
        "OperationProperties" => "the access type and throttling are lost",
        "Item" => "the synced folder is lost",
        _ => "the message ids are lost",
    };
    Malformed::new(
        MalformedKind::LossyPowershell,
        format!("{what} is PowerShell text ('{shown}'): {lost}"),
    )
}

/// A client IP as written and normalized, `(normalized, raw)`. Addresses repeat, so each
/// thread remembers the last few thousand it normalized instead of parsing them again. The
/// raw text is interned only when it is already normal: with a port (`176.120.48.44:48922`)
/// nearly every raw value is distinct, and looking each up in the shared store (a lock, a
/// table insert, and an entry evicted from the per-thread cache) cost more than the rest of
/// the record's strings. Such a raw value is an unshared `Sym`, equal and ordered like any.
/// The cache is keyed by the address without its port (see [`address_before_port`]), so that an
/// address seen with many ports is normalized once, not once per port.
fn ip_syms(raw: &str) -> (Sym, Sym) {
    const SLOTS: usize = 4096;
    thread_local! {
        static SEEN: std::cell::RefCell<Vec<(Sym, Sym)>> =
            std::cell::RefCell::new(vec![(Sym::EMPTY, Sym::EMPTY); SLOTS]);
    }
    if raw.is_empty() {
        return (Sym::EMPTY, Sym::EMPTY);
    }
    let key = address_before_port(raw).unwrap_or(raw);
    let slot = (Sym::hash_of(key) as usize >> 7) % SLOTS;
    let (norm, key_sym) = SEEN.with_borrow_mut(|seen| {
        let (k, n) = seen[slot];
        if k.as_str() == key {
            return (n, k);
        }
        let norm = normalize_ip_cow(key);
        let pair = if norm == key {
            let s = Sym::new(key);
            (s, s)
        } else {
            (Sym::new(&norm), Sym::new_unshared(key))
        };
        seen[slot] = (pair.1, pair.0);
        pair
    });
    if key.len() == raw.len() {
        (norm, key_sym)
    } else {
        (norm, Sym::new_unshared(raw))
    }
}

/// The address of `ADDRESS:PORT` when the address is only digits and dots and the port only
/// digits, or of `[ADDRESS]` followed by anything when the address is only hex digits, dots
/// and two or more colons (an IPv6 shape): what [`normalize_ip_cow`] makes of such a text is
/// what it makes of the address alone, so both can share one cache entry.
fn address_before_port(raw: &str) -> Option<&str> {
    if let Some(rest) = raw.strip_prefix('[') {
        let (host, _) = rest.split_once(']')?;
        let v6_shape = host
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return (v6_shape && host.bytes().filter(|&b| b == b':').count() >= 2).then_some(host);
    }
    let (host, port) = raw.split_once(':')?;
    let digits_dots = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let digits = port.bytes().all(|b| b.is_ascii_digit());
    (digits_dots && digits).then_some(host)
}

/// The mail part of a MailItemsAccessed record, and the texts of its access context to be
/// interned with the user and the mailbox. A record `JsonParser::context` leaves out gets no
/// client IP and no texts, unless it has no id (`id_less`: its content digest covers them);
/// everything that can make the record malformed is read either way.
fn build_mail<'a>(
    a: &Slots<'a>,
    parser: &mut JsonParser,
    keep_ids: MessageIds,
    id_less: bool,
) -> Result<(MailAccess, Option<MailTexts<'a>>), Malformed> {
    let mut access = AccessType::Unknown;
    let mut throttled = false;
    let mut on_prop = |name: &str, value: &str| {
        let value = value.trim_ws();
        match name.trim_ws() {
            n if n.eq_ignore_ascii_case("MailAccessType") => {
                access = if value.eq_ignore_ascii_case("Bind") {
                    AccessType::Bind
                } else if value.eq_ignore_ascii_case("Sync") {
                    AccessType::Sync
                } else {
                    AccessType::Unknown
                }
            }
            n if n.eq_ignore_ascii_case("IsThrottled") => {
                throttled = value.eq_ignore_ascii_case("True")
            }
            _ => {}
        }
    };
    if let Some(props) = val(a.op_props) {
        visit_properties(props, parser, &mut on_prop)?;
    }

    let mut folders = Vec::new();
    if let Some(f) = val(a.folders) {
        collect_folders(f, parser, keep_ids, &mut folders)?;
    }
    let mut parent = None;
    if let Some(item) = val(a.item) {
        parent = parent_folder(item, parser)?;
    }
    let synced_folder = match access {
        AccessType::Sync => parent
            .or_else(|| folders.iter().find(|f| f.items.is_empty()).cloned())
            .map(Box::new),
        _ => None,
    };
    let listed: u64 = folders.iter().map(|f| f.items.len() as u64).sum();
    let operation_count = val(a.op_count)
        .and_then(|f| f.as_u64())
        .unwrap_or(listed.max(1));

    let context = id_less || (parser.context)(access, throttled);
    let (client_ip, client_ip_raw, texts) = match context {
        true => {
            let (ip, raw, texts) = context_of(a);
            (ip, raw, Some(texts))
        }
        false => (Sym::EMPTY, Sym::EMPTY, None),
    };
    let access = MailAccess {
        access,
        throttled,
        operation_count,
        logon_type: val(a.logon).and_then(logon_type_of),
        client_ip,
        client_ip_raw,
        client_info: Sym::EMPTY,
        session_id: Sym::EMPTY,
        app_id: Sym::EMPTY,
        client_app_id: Sym::EMPTY,
        folders,
        synced_folder,
    };
    Ok((access, texts))
}

/// The access context of a MailItemsAccessed record: its client IP (normalized and as
/// written), and the texts interned with the user and the mailbox.
fn context_of<'a>(a: &Slots<'a>) -> (Sym, Sym, MailTexts<'a>) {
    let ip_text = text(a.ip);
    let (client_ip, client_ip_raw) = ip_syms(ip_text.trim_ws());
    let app_ctx = match val(a.app_ctx) {
        Some(Field::Obj(o)) => Some(o),
        _ => None,
    };
    let from_ctx = |names: &[&str]| {
        app_ctx
            .and_then(|o| o.get_ci(names))
            .map(|f| f.text_or_empty().trim_ws().to_string())
            .unwrap_or_default()
    };
    let mut session_id = trimmed(text(a.session));
    if session_id.is_empty() {
        session_id = Cow::Owned(from_ctx(&["AADSessionId"]));
    }
    let mut client_app_id = lowered(trimmed(text(a.client_app_id)));
    if client_app_id.is_empty() {
        client_app_id = Cow::Owned(from_ctx(&["ClientAppId"]).to_ascii_lowercase());
    }
    let texts = MailTexts {
        client_info: trimmed(text(a.client_info)),
        session_id,
        app_id: lowered(trimmed(text(a.app_id))),
        client_app_id,
    };
    (client_ip, client_ip_raw, texts)
}

/// The text of the fields of a [`MailAccess`] that [`build`] interns together with the user
/// and the mailbox (see [`Sym::new_all`]).
struct MailTexts<'a> {
    client_info: Cow<'a, str>,
    session_id: Cow<'a, str>,
    app_id: Cow<'a, str>,
    client_app_id: Cow<'a, str>,
}

/// `c` without white space at either end, copied only when it was already a copy.
fn trimmed(c: Cow<'_, str>) -> Cow<'_, str> {
    match c {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim_ws()),
        Cow::Owned(s) if s.trim_ws().len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim_ws().to_string()),
    }
}

/// `c` in ASCII lowercase, copied only when that changes it.
fn lowered(c: Cow<'_, str>) -> Cow<'_, str> {
    match c {
        Cow::Borrowed(s) => ascii_lower(s),
        Cow::Owned(mut s) => {
            s.make_ascii_lowercase();
            Cow::Owned(s)
        }
    }
}

/// `LogonType` as a number (most exports) without writing it out as text first, or as the
/// text of any other value (see [`parse_logon_type`]).
fn logon_type_of(f: Field<'_>) -> Option<u8> {
    match f {
        Field::Int(i) => u8::try_from(i).ok(),
        other => parse_logon_type(&other.text_or_empty()),
    }
}

/// Visits the `(Name, Value)` pairs of `OperationProperties` in any of its forms: an array of
/// objects (either key order), a JSON string of that array (Sentinel), `@{Value=..; Name=..}`
/// strings (Defender; joined with `|` by bitpusher2k's `_Processed.csv`), or `Name:Value`
/// text (Search-MailboxAuditLog).
fn visit_properties(
    f: Field<'_>,
    parser: &mut JsonParser,
    on: &mut dyn FnMut(&str, &str),
) -> Result<(), Malformed> {
    match f {
        Field::Arr(items) => {
            for it in items.iter() {
                match it {
                    Field::Obj(o) => {
                        // The first `Name` and the first `Value` (any case), in one pass.
                        let (mut name, mut value) = (None, None);
                        o.visit(|k, v| {
                            if name.is_none() && k.eq_ignore_ascii_case("Name") {
                                name = Some(v);
                            } else if value.is_none() && k.eq_ignore_ascii_case("Value") {
                                value = Some(v);
                            }
                        });
                        if let (Some(n), Some(v)) = (name, value) {
                            on(&n.text_or_empty(), &v.text_or_empty());
                        }
                    }
                    Field::Str(s) => visit_property_text(s, on)?,
                    _ => {}
                }
            }
            Ok(())
        }
        Field::Str(s) if s.trim_start().starts_with('[') => parser
            .parse_str(s, |root, p| visit_properties(root, p, on))
            .map_err(|m| m.context("OperationProperties"))?,
        Field::Str(s) => visit_property_text(s, on),
        _ => Ok(()),
    }
}

/// Visits the pairs of `OperationProperties` text; PowerShell's `System.Object[]` (an
/// `-AuditDataOnly` record through `Export-Csv`) is `lossy-powershell`: a sync would pass
/// for an access of unknown type.
fn visit_property_text(s: &str, on: &mut dyn FnMut(&str, &str)) -> Result<(), Malformed> {
    if is_lossy_powershell(s) {
        return Err(lossy("OperationProperties", s));
    }
    if s.trim_start().starts_with("@{") {
        // Defender's `@{Value=Bind; Name=MailAccessType}`, or several joined with `|`.
        for pairs in split_ps_hashtables(s).filter_map(parse_ps_hashtable) {
            let get = |k: &str| pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(k));
            if let (Some((_, n)), Some((_, v))) = (get("Name"), get("Value")) {
                on(n, v);
            }
        }
    } else {
        for (n, v) in parse_name_value_text(s) {
            on(n, v);
        }
    }
    Ok(())
}

fn collect_folders(
    f: Field<'_>,
    parser: &mut JsonParser,
    keep_ids: MessageIds,
    out: &mut Vec<Folder>,
) -> Result<(), Malformed> {
    match f {
        Field::Arr(items) => {
            // Room for exactly the listed folders (most records name one), not four.
            out.reserve_exact(items.len());
            for it in items.iter() {
                match it {
                    Field::Obj(o) => out.push(folder_from_object(o, keep_ids)?),
                    Field::Str(s) if is_lossy_powershell(s) => return Err(lossy("Folders", s)),
                    Field::Str(s) if s.trim_start().starts_with('{') => {
                        collect_folders(Field::Str(s), parser, keep_ids, out)?
                    }
                    Field::Str(s) => match parse_ps_hashtable(s) {
                        Some(pairs) => {
                            let get = |k: &str| {
                                pairs
                                    .iter()
                                    .find(|(n, _)| n.eq_ignore_ascii_case(k))
                                    .map_or(Sym::EMPTY, |(_, v)| Sym::new(v))
                            };
                            out.push(Folder {
                                id: get("Id"),
                                path: get("Path"),
                                items: Vec::new(),
                            });
                        }
                        None => return Err(lossy("Folders", s)),
                    },
                    _ => {}
                }
            }
            Ok(())
        }
        Field::Obj(o) => {
            out.push(folder_from_object(o, keep_ids)?);
            Ok(())
        }
        Field::Str(s) if is_lossy_powershell(s) => Err(lossy("Folders", s)),
        Field::Str(s) if s.trim_ws().is_empty() => Ok(()),
        Field::Str(s) => parser
            .parse_str(s, |root, p| collect_folders(root, p, keep_ids, out))
            .map_err(|m| m.context("Folders"))?,
        _ => Ok(()),
    }
}

/// What is kept of a message id's core (see [`message_id_core`]), lowercased like
/// [`normalize_message_id_cow`]: its unshared `Sym`, its digest, or nothing. ASCII ids (all
/// real ones) are lowercased in a reused buffer instead of a new string each.
fn message_id_sym(core: &str, keep: MessageIds) -> Sym {
    let sym = match keep {
        MessageIds::Text => Sym::new_unshared,
        MessageIds::Digest => Sym::new_digest,
        MessageIds::Drop => return Sym::EMPTY,
    };
    if !core.is_ascii() {
        return sym(&core.to_lowercase());
    }
    thread_local! {
        static LOWER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    LOWER.with_borrow_mut(|buf| {
        buf.clear();
        buf.push_str(core);
        buf.make_ascii_lowercase();
        sym(buf)
    })
}

/// A folder object with its listed messages (their ids kept as `keep_ids` says).
fn folder_from_object(o: Obj<'_>, keep_ids: MessageIds) -> Result<Folder, Malformed> {
    let mut folder = Folder::default();
    let mut err = None;
    // Interned together once the object is read (see `Sym::new_all`).
    let (mut id, mut path) = (Cow::Borrowed(""), Cow::Borrowed(""));
    o.visit(|k, v| match k {
        "Id" | "id" => id = trimmed(v.text_or_empty()),
        "Path" | "path" => path = v.text_or_empty(),
        "FolderItems" | "folderItems" => match v {
            Field::Arr(items) => {
                // Exactly as many as listed: pushing one by one would allocate room for
                // four at least, and most records list one to three.
                folder.items.reserve_exact(items.len());
                for it in items.iter() {
                    if let Field::Obj(io) = it {
                        let mut imid = None;
                        let mut size = None;
                        io.visit(|ik, iv| match ik {
                            "InternetMessageId" | "internetMessageId" => {
                                let raw = iv.text_or_empty();
                                let id = message_id_core(&raw);
                                imid = (!id.is_empty()).then(|| message_id_sym(id, keep_ids));
                            }
                            "SizeInBytes" | "sizeInBytes" => size = iv.as_u64(),
                            _ => {}
                        });
                        if let Some(imid) = imid {
                            folder.items.push(Item {
                                internet_message_id: imid,
                                size_bytes: size,
                            });
                        }
                    } else if let Field::Str(s) = it
                        && is_lossy_powershell(s)
                    {
                        err = Some(lossy("FolderItems", s));
                    }
                }
            }
            Field::Str(s) if is_lossy_powershell(s) => err = Some(lossy("FolderItems", s)),
            _ => {}
        },
        _ => {}
    });
    [folder.id, folder.path] = Sym::new_all([&id, &path]);
    // Items stay as the record lists them, repeats included (the Sentinel sample lists one
    // message twice); the access de-duplication collapses repeats, so counts stay honest.
    match err {
        Some(e) => Err(e),
        None => Ok(folder),
    }
}

fn parent_folder(item: Field<'_>, parser: &mut JsonParser) -> Result<Option<Folder>, Malformed> {
    match item {
        Field::Obj(o) => Ok(match o.get_ci(&["ParentFolder"]) {
            Some(Field::Obj(p)) => {
                let get = |k: &str| {
                    p.get_ci(&[k])
                        .map(|f| f.text_or_empty().to_string())
                        .unwrap_or_default()
                };
                let mut path = get("Path");
                if path.is_empty() {
                    path = get("Name");
                }
                Some(Folder {
                    id: Sym::new(get("Id").trim_ws()),
                    path: Sym::new(&path),
                    items: Vec::new(),
                })
            }
            Some(Field::Str(s)) if is_lossy_powershell(s) => return Err(lossy("Item", s)),
            _ => None,
        }),
        Field::Str(s) if s.trim_start().starts_with('{') => parser
            .parse_str(s, parent_folder)
            .map_err(|m| m.context("Item"))?,
        // PowerShell's text for the object (`@{Id=LgAA; ParentFolder=}`: the folder, an
        // object inside it, comes out empty) or for an array: the folder is lost.
        Field::Str(s) if is_lossy_powershell(s) || s.trim_start().starts_with("@{") => {
            Err(lossy("Item", s))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testutil::{bind, record, record_with};

    fn parse_keeping(v: &serde_json::Value, ids: MessageIds) -> Record {
        let mut parser = JsonParser::new();
        parser.message_ids = ids;
        record_with(v, &mut parser)
    }

    /// One address seen with several ports, and bare, in any order: the normalized form is
    /// always the address's, the raw text always the one given (also when the cache entry was
    /// made by another port, or by the bare address).
    #[test]
    fn ip_syms_share_an_address_across_ports() {
        let v4 = ["10.0.0.1", "010.0.0.1", "1..2", ""].map(|host| {
            [":443", "", ":80", ":", ":443", ":8x", ":1:2"].map(|port| format!("{host}{port}"))
        });
        // IPv6, in brackets with and without a port, and bare: canonical, not canonical
        // (uppercase, leading zeros, an uncompressed run), mapped, and not an address.
        let v6 = [
            "2a02:d09::1",
            "2A02:0d09:0:0:0:0:0:1",
            "::ffff:10.0.0.1",
            "1:2",
            "g::1",
        ]
        .map(|host| {
            ["]:443", "", "]", "]:80", "]x", "]:443"].map(|end| match end {
                "" => host.to_string(),
                end => format!("[{host}{end}"),
            })
        });
        let groups = v4.iter().map(|g| &g[..]).chain(v6.iter().map(|g| &g[..]));
        for raws in groups {
            for raw in raws.iter().chain(raws.iter().rev()) {
                let (n, r) = ip_syms(raw);
                assert_eq!(n.as_str(), &*normalize_ip_cow(raw), "{raw}");
                assert_eq!(n, Sym::new(&normalize_ip_cow(raw)), "{raw}");
                assert_eq!(r.as_str(), raw.as_str());
                assert_eq!(r, Sym::new(raw));
            }
        }
    }

    /// The known key a search of [`KEYS`] in order finds (how `scan` matched keys before the
    /// table).
    fn key_by_search(k: &str) -> Option<(Slot, u8)> {
        KEYS.iter()
            .find(|(name, _, _)| *name == k)
            .map(|&(_, slot, prio)| (slot, prio))
    }

    /// Every known key is found with its own field and priority; the same words in another
    /// case, a byte shorter or longer, or with a letter changed are not.
    #[test]
    fn key_table_finds_exactly_the_known_keys() {
        let table = KeyTable::build();
        for &(name, slot, prio) in KEYS {
            assert_eq!(table.find(name), Some((slot, prio)), "{name}");
            let near = [
                name.to_ascii_lowercase(),
                name.to_ascii_uppercase(),
                name[..name.len() - 1].to_string(),
                format!("{name}s"),
                format!("x{name}"),
                name.replacen(|c: char| c.is_ascii_alphabetic(), "_", 1),
            ];
            for k in near {
                assert_eq!(table.find(&k), key_by_search(&k), "{k}");
            }
        }
        for k in [
            "",
            "I",
            "d",
            "Workload",
            "RecordType",
            "OrganizationId",
            "Ié",
            "é",
        ] {
            assert_eq!(table.find(k), key_by_search(k), "{k}");
        }
    }

    /// Only the values of known keys are read, whatever lies between them (nested objects
    /// and arrays, numbers, nulls), and the first spelling in priority order wins.
    #[test]
    fn scan_reads_known_keys_past_any_values() {
        let json = r#"{"Skip":{"Operation":"Nested","a":[1,{"b":null}]},"Operation":"MailItemsAccessed",
            "List":[[],[{}],3.5],"UserIds":"second","UserId":"first","Nothing":null,"Id":null,
            "RecordId":"r1","OperationCount":7}"#;
        let mut parser = JsonParser::new();
        parser
            .parse_str(json, |root, _| {
                let Field::Obj(obj) = root else {
                    panic!("not an object")
                };
                let s = scan(obj);
                let t = |slot: Option<(u8, Field<'_>)>| text(slot).into_owned();
                assert_eq!(t(s.op), "MailItemsAccessed");
                assert_eq!(t(s.user), "first");
                assert_eq!(s.user.map(|(p, _)| p), Some(0));
                assert_eq!(t(s.id), "r1");
                assert_eq!(t(s.op_count), "7");
                assert!(s.time.is_none() && s.folders.is_none());
            })
            .unwrap();
    }

    proptest::proptest! {
        /// Any key, known or not, ASCII or not: the table answers like a search of the list.
        #[test]
        fn key_table_answers_like_a_search(
            k in "\\PC{0,40}|[A-Za-z_]{1,40}",
            known in 0..KEYS.len(),
            at in 0usize..40,
            c in proptest::prelude::any::<char>(),
        ) {
            proptest::prop_assert_eq!(KEY_TABLE.find(&k), key_by_search(&k));
            // A known key with one character replaced.
            let mut chars: Vec<char> = KEYS[known].0.chars().collect();
            let i = at % chars.len();
            chars[i] = c;
            let changed: String = chars.into_iter().collect();
            proptest::prop_assert_eq!(KEY_TABLE.find(&changed), key_by_search(&changed));
        }

        /// The message-id fast path stores what `normalize_message_id_cow` gives, or its
        /// digest, for any text (ASCII or not).
        #[test]
        fn message_id_sym_is_the_normalized_id(raw in "\\PC{0,40}|[ <>a-zA-Z0-9@._-]{0,40}") {
            let want = normalize_message_id_cow(&raw);
            let core = message_id_core(&raw);
            proptest::prop_assert_eq!(message_id_sym(core, MessageIds::Text).as_str(), &*want);
            proptest::prop_assert_eq!(message_id_sym(core, MessageIds::Digest), Sym::new_digest(&want));
            proptest::prop_assert_eq!(message_id_sym(core, MessageIds::Drop), Sym::EMPTY);
        }

        /// A client IP's pair is its normalized form and its text as written, whether it is
        /// looked up for the first time or found in the per-thread cache, and whatever the
        /// IP's form (port, brackets, mapped IPv6, not an IP at all).
        #[test]
        fn ip_syms_are_normalized_and_raw(
            raw in "((\\[?(::ffff:)?[0-9]{1,3}(\\.[0-9]{1,3}){3}\\]?|[0-9a-fA-F:]{2,12})(:[0-9]{1,5})?|\\[[0-9a-fA-F:. ]{0,16}\\](:[0-9]{0,5}|x)?|\\PC{0,12})"
        ) {
            let raw = raw.trim_ws();
            for _ in 0..2 {
                let (n, r) = ip_syms(raw);
                proptest::prop_assert_eq!(n.as_str(), &*normalize_ip_cow(raw));
                proptest::prop_assert_eq!(n, Sym::new(&normalize_ip_cow(raw)));
                proptest::prop_assert_eq!(r.as_str(), raw);
                proptest::prop_assert_eq!(r, Sym::new(raw));
            }
        }

        /// A numeric `LogonType` reads as its text would.
        #[test]
        fn numeric_logon_type_reads_like_its_text(i in proptest::prelude::any::<i64>(), small in -3i64..300) {
            for n in [i, small] {
                proptest::prop_assert_eq!(logon_type_of(Field::Int(n)), parse_logon_type(&n.to_string()));
            }
        }
    }

    /// `OperationProperties` in each of its forms gives the access type and the throttling:
    /// the shapes of ../shared/samples/SOURCES.md, "OperationProperties", among them the
    /// `@{...}` texts joined with `|` of bitpusher2k's `_Processed.csv`.
    #[test]
    fn operation_properties_in_every_form() {
        let forms = [
            serde_json::json!([{"Value": "Bind", "Name": "MailAccessType"}, {"Name": "IsThrottled", "Value": "True"}]),
            serde_json::json!(
                r#"[{"Name":"MailAccessType","Value":"Bind"},{"Name":"IsThrottled","Value":"True"}]"#
            ),
            serde_json::json!([
                "@{Value=Bind; Name=MailAccessType}",
                "@{Value=True; Name=IsThrottled}"
            ]),
            serde_json::json!("MailAccessType:Bind IsThrottled:True"),
            serde_json::json!("@{Name=MailAccessType; Value=Bind}|@{Name=IsThrottled; Value=True}"),
            serde_json::json!(
                "@{Name=MailAccessType; Value=Bind} | @{Value=True; Name=IsThrottled}"
            ),
        ];
        for props in forms {
            let mut v = bind(
                "p",
                "2024-05-01T10:00:00",
                "1.2.3.4",
                "s",
                "\\Inbox",
                &["<m@x>"],
            );
            v["OperationProperties"] = props.clone();
            let r = record(&v);
            let m = r.mail.as_deref().unwrap();
            assert_eq!((m.access, m.throttled), (AccessType::Bind, true), "{props}");
        }
    }

    /// A parsed record's folders and listed messages take exactly their room: pushed one by
    /// one they took room for four each, a third of the memory of all records.
    #[test]
    fn folders_and_items_hold_no_spare_room() {
        for msgs in [
            &["<a@x>"][..],
            &["<a@x>", "<b@x>"],
            &["<a@x>", "<b@x>", "<c@x>", "<d@x>", "<e@x>"],
        ] {
            let r = record(&bind(
                "1",
                "2024-05-01T10:00:00",
                "203.0.113.5",
                "s",
                "\\Inbox",
                msgs,
            ));
            let m = r.mail.as_deref().unwrap();
            assert_eq!((m.folders.len(), m.folders.capacity()), (1, 1));
            let items = &m.folders[0].items;
            assert_eq!((items.len(), items.capacity()), (msgs.len(), msgs.len()));
        }
    }

    /// A record without an id is known by a digest of its content, message ids included,
    /// also when the parser drops the ids or keeps only their digests: records that differ
    /// only in their messages stay two records, with the ids the full parse gives them.
    #[test]
    fn records_without_id_keep_their_digest_without_message_ids() {
        let t = "2024-03-04T10:00:00";
        let mut a = bind("x", t, "198.51.100.1", "s1", "\\Inbox", &["<a@x>", "<b@x>"]);
        let mut b = bind("x", t, "198.51.100.1", "s1", "\\Inbox", &["<a@x>", "<c@x>"]);
        for v in [&mut a, &mut b] {
            v.as_object_mut().unwrap().remove("Id");
        }
        let (full_a, full_b) = (record(&a), record(&b));
        assert_ne!(full_a.id, full_b.id);
        for (v, full) in [(&a, full_a), (&b, full_b)] {
            for ids in [MessageIds::Digest, MessageIds::Drop] {
                let mut expected = full.clone();
                keep_message_ids(&mut expected, ids);
                assert_ne!(expected, full, "{ids:?} changes the ids");
                assert_eq!(parse_keeping(v, ids), expected, "{ids:?}");
            }
        }
    }
}
