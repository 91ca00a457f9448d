//! simd-json with reused buffers, and the classification of what makes a record malformed.

use super::Field;
use simd_json::{Buffers, ErrorType, INPUT_PADDING, Tape, fill_tape_padded};
use std::fmt;

/// Why a record could not be used. Every kind is counted and reported with its place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MalformedKind {
    /// Not valid JSON (syntax).
    InvalidJson,
    /// The JSON ends early: a line cut mid-record, or AuditData cut at Excel's 32,767 characters;
    /// or the AuditData is missing: a CSV row cut before its AuditData cell, an empty AuditData.
    Truncated,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// NUL bytes (a crashed or pre-allocated file).
    NulBytes,
    /// A record longer than the limit.
    TooLong,
    /// PowerShell-stringified fields (`System.Object[]`): the message ids, the access type or
    /// a sync's folder are lost.
    LossyPowershell,
    /// No time field at all.
    NoTime,
    /// A time field that is not a date, or an ambiguous locale date.
    BadTime,
    /// Valid JSON that is not an audit record (no `Operation`, or not an object).
    NotARecord,
}

impl MalformedKind {
    pub const ALL: [MalformedKind; 9] = [
        MalformedKind::InvalidJson,
        MalformedKind::Truncated,
        MalformedKind::InvalidUtf8,
        MalformedKind::NulBytes,
        MalformedKind::TooLong,
        MalformedKind::LossyPowershell,
        MalformedKind::NoTime,
        MalformedKind::BadTime,
        MalformedKind::NotARecord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MalformedKind::InvalidJson => "invalid-json",
            MalformedKind::Truncated => "truncated",
            MalformedKind::InvalidUtf8 => "invalid-utf8",
            MalformedKind::NulBytes => "nul-bytes",
            MalformedKind::TooLong => "too-long",
            MalformedKind::LossyPowershell => "lossy-powershell",
            MalformedKind::NoTime => "no-time",
            MalformedKind::BadTime => "bad-time",
            MalformedKind::NotARecord => "not-a-record",
        }
    }
}

impl fmt::Display for MalformedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A malformed record: its kind and a lowercase explanation naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub kind: MalformedKind,
    pub why: String,
}

impl Malformed {
    pub fn new(kind: MalformedKind, why: impl Into<String>) -> Self {
        Malformed {
            kind,
            why: why.into(),
        }
    }

    /// A record of `len` bytes, longer than the limit of `max`.
    pub fn too_long(len: usize, max: usize) -> Self {
        let why = format!("record of {len} bytes is longer than the limit of {max} bytes");
        Malformed::new(MalformedKind::TooLong, why)
    }

    /// Names the field the problem was found in.
    pub fn context(mut self, field: &str) -> Self {
        self.why = format!("{field}: {}", self.why);
        self
    }
}

/// Classifies bytes that simd-json rejected.
pub fn classify(bytes: &[u8], err: &simd_json::Error) -> Malformed {
    if memchr::memchr(0, bytes).is_some() {
        return Malformed::new(MalformedKind::NulBytes, "record contains NUL bytes");
    }
    let starts_late = || {
        Malformed::new(
            MalformedKind::Truncated,
            format!(
                "JSON starts after the record does ({} bytes, the line begins mid-record, as \
                 the first line of a piece of a split file does)",
                bytes.len()
            ),
        )
    };
    let ends_early = |how: &str| {
        Malformed::new(
            MalformedKind::Truncated,
            format!(
                "JSON ends before the record does ({} bytes, cut {how})",
                bytes.len()
            ),
        )
    };
    let utf8 = std::str::from_utf8(bytes);
    if matches!(err.error(), ErrorType::InvalidUtf8) || utf8.is_err() {
        let at = match utf8 {
            Err(e) => e.valid_up_to(),
            Ok(_) => err.index(),
        };
        // A cut inside a character: at the end (the rest of a character missing), or at the
        // start (continuation bytes where a line should begin), of text otherwise valid.
        if let Err(e) = utf8 {
            if e.error_len().is_none() && is_unterminated(&bytes[..at]) {
                return ends_early("inside a character");
            }
            let lead = bytes.iter().take_while(|&&b| b & 0xC0 == 0x80).count();
            if (1..=3).contains(&lead)
                && std::str::from_utf8(&bytes[lead..]).is_ok()
                && starts_mid_record(&bytes[lead..])
            {
                return starts_late();
            }
        }
        return Malformed::new(
            MalformedKind::InvalidUtf8,
            format!("invalid UTF-8 at byte {at}"),
        );
    }
    if starts_mid_record(bytes) {
        return starts_late();
    }
    if is_unterminated(bytes) {
        return ends_early("mid-record");
    }
    // simd-json reports some errors (a bad escape) at byte 0; find the place ourselves.
    let at = locate_string_error(bytes).unwrap_or(err.index());
    Malformed::new(
        MalformedKind::InvalidJson,
        format!("invalid JSON near byte {at}: {:?}", err.error()),
    )
}

/// The first byte of an invalid escape or a raw control character inside a JSON string.
fn locate_string_error(bytes: &[u8]) -> Option<usize> {
    let mut in_str = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !in_str {
            in_str = b == b'"';
        } else if b == b'"' {
            in_str = false;
        } else if b < 0x20 {
            return Some(i);
        } else if b == b'\\' {
            match bytes.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 1,
                Some(b'u')
                    if bytes
                        .get(i + 2..i + 6)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                {
                    i += 5
                }
                _ => return Some(i),
            }
        }
        i += 1;
    }
    None
}

/// True when a record's text begins inside a JSON object: it ends as an object does (`}`) but
/// starts as no JSON value does (`Time":"2024-...}`), or closes a bracket it never opened
/// (see [`begins_inside_value`](crate::input::frame::begins_inside_value)).
fn starts_mid_record(bytes: &[u8]) -> bool {
    let t = bytes.trim_ascii();
    t.last() == Some(&b'}')
        && (!matches!(t.first(), Some(b'{' | b'[')) || crate::input::frame::begins_inside_value(t))
}

/// True when JSON text stops inside a string or with objects or arrays still open.
pub fn is_unterminated(bytes: &[u8]) -> bool {
    let mut depth: i64 = 0;
    let mut strings = crate::input::frame::StrState::default();
    for &b in bytes {
        if strings.step(b) {
            continue;
        }
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            _ => {}
        }
    }
    strings.in_string() || depth > 0
}

/// Whether a MailItemsAccessed record with this access type and throttled flag gets its access
/// context (see [`JsonParser::context`]).
pub type NeedsContext = fn(crate::model::AccessType, bool) -> bool;

/// What a parser keeps of each listed message's InternetMessageId. The items are checked and
/// counted in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageIds {
    /// The normalized id's text, for the commands that print ids.
    Text,
    /// A 127-bit digest of the normalized id instead of its text (see [`Sym::new_digest`]):
    /// for the commands that only count distinct messages (`contexts`, `sessions`). Equal
    /// ids give equal digests; two different ids share one with a probability of 2^-127.
    /// It saves storing the text of every listed id (about 100 bytes each).
    ///
    /// [`Sym::new_digest`]: crate::sym::Sym::new_digest
    Digest,
    /// Nothing: the ids are empty (`stats`, `syncs`, `throttled`).
    Drop,
}

/// A simd-json parser whose buffers are reused from record to record. Nested JSON (AuditData
/// held as a string, Sentinel's `Folders` string) is parsed by a child parser, also reused.
pub struct JsonParser {
    /// How to read ambiguous locale dates (`5/6/2024`); `None`: such a date is malformed.
    pub date_order: Option<crate::parse::fields::DateOrder>,
    /// What to keep of each listed message's InternetMessageId ([`MessageIds::Text`] by
    /// default).
    pub message_ids: MessageIds,
    /// Which MailItemsAccessed records (by access type and throttled flag) get their access
    /// context normalized and interned: client IP, client string, session, AppId, ClientAppId
    /// (all, by default). The others have these fields empty: for the commands that never read
    /// them (`stats`, and `throttled` and `syncs` outside the records they list), about a
    /// tenth of their time. A record without an id gets them all the same, for its content
    /// digest.
    pub context: NeedsContext,
    buf: Vec<u8>,
    buffers: Buffers,
    tape: Option<Tape<'static>>,
    child: Option<Box<JsonParser>>,
}

impl Default for JsonParser {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonParser {
    pub fn new() -> Self {
        JsonParser {
            date_order: None,
            message_ids: MessageIds::Text,
            context: |_, _| true,
            buf: Vec::new(),
            buffers: Buffers::new(4096),
            tape: None,
            child: None,
        }
    }

    /// Parses `bytes` (copied into a padded buffer) and hands the root value to `f`, with a
    /// child parser for any JSON nested in strings.
    pub fn parse<R>(
        &mut self,
        bytes: &[u8],
        f: impl FnOnce(Field<'_>, &mut JsonParser) -> R,
    ) -> Result<R, Malformed> {
        // The buffer is taken out while it is parsed in place (it is borrowed apart from the
        // parser), then put back for the next record.
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf.extend_from_slice(bytes);
        buf.resize(bytes.len() + INPUT_PADDING, 0);
        let r = self.parse_in_place(&mut buf, bytes.len(), bytes, f);
        self.buf = buf;
        r
    }

    pub fn parse_str<R>(
        &mut self,
        text: &str,
        f: impl FnOnce(Field<'_>, &mut JsonParser) -> R,
    ) -> Result<R, Malformed> {
        self.parse(text.as_bytes(), f)
    }

    /// Parses `buf[..len]` in place; `buf[len..]` must hold at least [`INPUT_PADDING`] bytes
    /// (the next records of a chunk, or the chunk's padding). Saves the copy of [`Self::parse`].
    /// `original` is the same bytes untouched, for describing an error.
    pub fn parse_in_place<R>(
        &mut self,
        buf: &mut [u8],
        len: usize,
        original: &[u8],
        f: impl FnOnce(Field<'_>, &mut JsonParser) -> R,
    ) -> Result<R, Malformed> {
        let JsonParser {
            date_order,
            message_ids,
            context,
            buffers,
            tape,
            child,
            ..
        } = self;
        let mut t: Tape<'_> = tape.take().unwrap_or_else(Tape::null).reset();
        // simd-json unescapes strings in place, so errors are described from `original`.
        if let Err(e) = fill_tape_padded(buf, len, buffers, &mut t) {
            *tape = Some(t.reset());
            return Err(classify(original, &e));
        }
        let child = child.get_or_insert_with(|| Box::new(JsonParser::new()));
        child.date_order = *date_order;
        child.message_ids = *message_ids;
        child.context = *context;
        let r = f(Field::from_nodes(&t.0), child);
        *tape = Some(t.reset());
        Ok(r)
    }
}
