//! Field-value normalization: times, IP addresses, message ids, logon types and the
//! PowerShell-flattened text forms. Every variant listed in ../shared/docs/formats.md and
//! ../shared/samples/SOURCES.md is handled here, once.

use crate::model::{LOGON_TYPE_NAMES, Nanos};
use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

/// `str::trim` with a fast path: most keys and values of an export start and end with a
/// printable ASCII character, and then there is nothing to trim (every character Unicode calls
/// white space is either ASCII at or below the space or not ASCII at all).
pub trait TrimWs {
    fn trim_ws(&self) -> &str;
}

impl TrimWs for str {
    #[inline]
    fn trim_ws(&self) -> &str {
        let plain = |c: u8| c > b' ' && c < 0x80;
        match self.as_bytes() {
            [] => self,
            [first, .., last] if plain(*first) && plain(*last) => self,
            [only] if plain(*only) => self,
            _ => self.trim(),
        }
    }
}

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

fn to_nanos(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, frac: i64) -> Option<Nanos> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + (h * 3600 + mi * 60 + s) as i64;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)
}

/// Formats a time as RFC 3339 UTC, with a fraction only when there is one.
pub fn format_time(t: Nanos) -> String {
    let mut out = Vec::with_capacity(30);
    write_time(t, &mut out);
    // Only ASCII digits and separators were written.
    out.into_iter().map(char::from).collect()
}

/// Appends [`format_time`]'s text to `out` (output writers format two times per row of
/// `contexts`, with no `String` each).
pub fn write_time(t: Nanos, out: &mut Vec<u8>) {
    let secs = t.div_euclid(NANOS_PER_SEC);
    let frac = t.rem_euclid(NANOS_PER_SEC);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let (h, mi, s) = (sod / 3600, sod % 3600 / 60, sod % 60);
    // Digits written directly: output writes two of these per row of `contexts`, and
    // `format!` spent most of the time of a whole row on them. Nanoseconds in an i64 span the
    // years 1677 to 2262, always four digits.
    let mut b = [0u8; 30];
    let mut n = 0;
    let mut put = |v: u64, width: u32, sep: u8| {
        for i in (0..width).rev() {
            b[n] = b'0' + (v / 10u64.pow(i) % 10) as u8;
            n += 1;
        }
        if sep != 0 {
            b[n] = sep;
            n += 1;
        }
    };
    put(y as u64, 4, b'-');
    put(m as u64, 2, b'-');
    put(d as u64, 2, b'T');
    put(h as u64, 2, b':');
    put(mi as u64, 2, b':');
    put(s as u64, 2, 0);
    if frac != 0 {
        let mut digits = 9;
        let mut f = frac as u64;
        while f.is_multiple_of(10) {
            f /= 10;
            digits -= 1;
        }
        put(0, 0, b'.');
        put(f, digits, 0);
    }
    put(0, 0, b'Z');
    out.extend_from_slice(&b[..n]);
}

/// A small cursor over ASCII digits.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut v: u32 = 0;
        while self.i < self.b.len() && self.i - start < max && self.b[self.i].is_ascii_digit() {
            v = v * 10 + (self.b[self.i] - b'0') as u32;
            self.i += 1;
        }
        (self.i - start >= min).then_some(v)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn rest(&self) -> &[u8] {
        &self.b[self.i..]
    }
}

/// The one shape nearly every record's time has, `YYYY-MM-DDTHH:MM:SS` with `Z` or nothing
/// after it (AuditData's `CreationTime`; Graph's times without a fraction), read at its fixed
/// places: `parse_any_time` then ran about 270 instructions per time instead of 470
/// (callgrind), and gives what the general reading below gives for such a text
/// (`fast_time_reading_is_the_general_one`). Anything else is left to the general reading.
fn iso_seconds(b: &[u8]) -> Option<Nanos> {
    let b = match b {
        [head @ .., b'Z' | b'z'] => head,
        _ => b,
    };
    let b: &[u8; 19] = b.try_into().ok()?;
    let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| b[i] != c) || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let two = |i: usize| {
        let (hi, lo) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
        (hi < 10 && lo < 10).then_some(u32::from(hi) * 10 + u32::from(lo))
    };
    let year = two(0)? * 100 + two(2)?;
    to_nanos(
        i64::from(year),
        two(5)?,
        two(8)?,
        two(11)?,
        two(14)?,
        two(17)?,
        0,
    )
}

/// Parses an ISO 8601 / RFC 3339 time. No zone means UTC (AuditData `CreationTime` has none).
pub fn parse_iso_time(s: &str) -> Option<Nanos> {
    let s = s.trim_ws();
    iso_seconds(s.as_bytes()).or_else(|| iso_time_general(s))
}

/// [`parse_iso_time`] for every shape: fractions, zone offsets, dates without a time.
fn iso_time_general(s: &str) -> Option<Nanos> {
    let mut c = Cur {
        b: s.as_bytes(),
        i: 0,
    };
    let y = c.digits(4, 4)? as i64;
    if !c.eat(b'-') {
        return None;
    }
    let mo = c.digits(1, 2)?;
    if !c.eat(b'-') {
        return None;
    }
    let d = c.digits(1, 2)?;
    if c.rest().is_empty() {
        return to_nanos(y, mo, d, 0, 0, 0, 0);
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return None;
    }
    let h = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let mi = c.digits(2, 2)?;
    let s_ = if c.eat(b':') { c.digits(2, 2)? } else { 0 };
    let mut frac: i64 = 0;
    if c.eat(b'.') || c.eat(b',') {
        let start = c.i;
        let mut scale = NANOS_PER_SEC;
        while let Some(&ch) = c.b.get(c.i) {
            if !ch.is_ascii_digit() {
                break;
            }
            if scale > 1 {
                scale /= 10;
                frac += (ch - b'0') as i64 * scale;
            }
            c.i += 1;
        }
        if c.i == start {
            return None;
        }
    }
    let mut t = to_nanos(y, mo, d, h, mi, s_, frac)?;
    match c.rest() {
        [] | [b'Z'] | [b'z'] => {}
        [sign @ (b'+' | b'-'), ..] => {
            let neg = *sign == b'-';
            c.i += 1;
            let oh = c.digits(2, 2)? as i64;
            c.eat(b':');
            let om = c.digits(2, 2)? as i64;
            if !c.rest().is_empty() {
                return None;
            }
            let off = (oh * 3600 + om * 60) * NANOS_PER_SEC;
            t = if neg { t + off } else { t - off };
        }
        _ => return None,
    }
    Some(t)
}

/// Why a time value could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    Unparseable,
    /// `3/12/2025`: day-first or month-first cannot be told apart.
    AmbiguousLocale,
}

/// Which way to read an ambiguous locale date such as `5/6/2024`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOrder {
    /// `5/6/2024` is 6 May (US, the Exchange Online PowerShell default).
    MonthFirst,
    /// `5/6/2024` is 5 June.
    DayFirst,
}

/// Like [`parse_any_time`], but reads an ambiguous locale date in the given order.
pub fn parse_time_ordered(s: &str, order: DateOrder) -> Result<Nanos, TimeError> {
    match parse_any_time(s) {
        Err(TimeError::AmbiguousLocale) => {
            let t = s.trim_ws();
            let (a, rest) = t.split_once('/').ok_or(TimeError::Unparseable)?;
            let (b, rest) = rest.split_once('/').ok_or(TimeError::Unparseable)?;
            // Make the day unambiguous by swapping into the other order when needed.
            let swapped = match order {
                DateOrder::MonthFirst => format!("{b}/{a}/{rest}"),
                DateOrder::DayFirst => t.to_string(),
            };
            // Day-first text with a day above 12 is unambiguous; for a day of 12 or less,
            // write it with a dot, which parse_locale_time reads day-first.
            parse_locale_time(&swapped.replacen('/', ".", 2))
        }
        other => other,
    }
}

/// Parses any time text an export may hold: ISO 8601, .NET `/Date(ms)/`, and the locale
/// text of export wrappers (`9/20/2023 4:05:03 AM`). A locale date is accepted only when it
/// is unambiguous (one of the first two numbers is above 12, or both are equal).
/// See: ../shared/samples/d-search-ual-exportcsv-AU-locale-fixture.csv (3/12/2025 is 3 December).
pub fn parse_any_time(s: &str) -> Result<Nanos, TimeError> {
    let t = s.trim_ws();
    if let Some(v) = parse_iso_time(t) {
        return Ok(v);
    }
    if let Some(v) = parse_dotnet_date(t) {
        return Ok(v);
    }
    parse_locale_time(t)
}

/// `/Date(1621952909000)/`, `\/Date(1621952909000+0000)\/`.
fn parse_dotnet_date(t: &str) -> Option<Nanos> {
    let t = t.trim_matches('\\').trim_matches('/').trim_matches('\\');
    let inner = t.strip_prefix("Date(")?.strip_suffix(')')?;
    let end = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map(|(i, _)| i)
        .unwrap_or(inner.len());
    let ms: i64 = inner[..end].parse().ok()?;
    ms.checked_mul(1_000_000)
}

fn parse_locale_time(t: &str) -> Result<Nanos, TimeError> {
    let mut c = Cur {
        b: t.as_bytes(),
        i: 0,
    };
    let a = c.digits(1, 2).ok_or(TimeError::Unparseable)?;
    let sep = *c.b.get(c.i).ok_or(TimeError::Unparseable)?;
    if sep != b'/' && sep != b'.' {
        return Err(TimeError::Unparseable);
    }
    c.i += 1;
    let b = c.digits(1, 2).ok_or(TimeError::Unparseable)?;
    if !c.eat(sep) {
        return Err(TimeError::Unparseable);
    }
    let y = c.digits(4, 4).ok_or(TimeError::Unparseable)? as i64;
    let (mut h, mut mi, mut s) = (0, 0, 0);
    if c.eat(b' ') {
        h = c.digits(1, 2).ok_or(TimeError::Unparseable)?;
        if !c.eat(b':') {
            return Err(TimeError::Unparseable);
        }
        mi = c.digits(2, 2).ok_or(TimeError::Unparseable)?;
        if c.eat(b':') {
            s = c.digits(2, 2).ok_or(TimeError::Unparseable)?;
        }
        let rest = std::str::from_utf8(c.rest()).unwrap_or("").trim_ws();
        match rest.to_ascii_uppercase().as_str() {
            "" => {}
            "AM" if (1..=12).contains(&h) => h %= 12,
            "PM" if (1..=12).contains(&h) => h = h % 12 + 12,
            _ => return Err(TimeError::Unparseable),
        }
    } else if !c.rest().is_empty() {
        return Err(TimeError::Unparseable);
    }
    let (mo, d) = if sep == b'.' || a > 12 {
        (b, a) // day-first (the dotted form is always day-first)
    } else if b > 12 || a == b {
        (a, b)
    } else {
        return Err(TimeError::AmbiguousLocale);
    };
    to_nanos(y, mo, d, h, mi, s, 0).ok_or(TimeError::Unparseable)
}

/// Normalizes a client address: strips `[` `]`, a `:port`, a `::ffff:` prefix and spaces;
/// writes IPv6 in its canonical compressed lowercase form; lowercases host names.
/// See: ../shared/samples/ip-address-variants.txt
///
/// ```
/// use mailscope::parse::fields::normalize_ip;
/// assert_eq!(normalize_ip("[2001:DB8:0::1]:443"), "2001:db8::1");
/// assert_eq!(normalize_ip("10.11.12.13:12345"), "10.11.12.13");
/// assert_eq!(normalize_ip("::ffff:10.11.12.13"), "10.11.12.13");
/// ```
pub fn normalize_ip(raw: &str) -> String {
    normalize_ip_cow(raw).into_owned()
}

/// [`normalize_ip`] without a copy when the address is already in its canonical form.
pub fn normalize_ip_cow(raw: &str) -> Cow<'_, str> {
    let s = raw.trim_ws();
    if s.is_empty() {
        return Cow::Borrowed("");
    }
    // "[x]" or "[x]:port"
    let host = if let Some(rest) = s.strip_prefix('[') {
        match rest.find(']') {
            Some(end) => &rest[..end],
            None => rest,
        }
    } else if s.bytes().filter(|&b| b == b':').count() == 1 {
        // "v4:port" or "host:port"; a bare IPv6 address always has two or more colons.
        let (h, port) = s.split_once(':').unwrap_or((s, ""));
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            s
        }
    } else {
        s
    };
    // Ipv4Addr's parser takes only the canonical dotted form (no leading zeros).
    if host.parse::<Ipv4Addr>().is_ok() {
        return Cow::Borrowed(host);
    }
    if let Ok(v6) = host.parse::<Ipv6Addr>() {
        if let Some(v4) = v6.to_ipv4_mapped() {
            return Cow::Owned(v4.to_string());
        }
        let mut buf = [0u8; IPV6_TEXT_MAX];
        let canonical = ipv6_text(&v6, &mut buf);
        return if canonical == host {
            Cow::Borrowed(host)
        } else {
            Cow::Owned(canonical.to_string())
        };
    }
    ascii_lower(host)
}

/// The longest text of an IPv6 address in [`ipv6_text`]'s form (eight groups of four digits).
const IPV6_TEXT_MAX: usize = 39;

/// `v6` as `Ipv6Addr`'s `Display` writes an address that is not IPv4-mapped (RFC 5952:
/// lowercase hex groups without leading zeros, the first longest run of two or more zero
/// groups as `::`), written into `buf` without the formatting machinery, which took most of
/// the time of normalizing an IPv6 address (`ipv6_text_is_display`).
fn ipv6_text<'b>(v6: &Ipv6Addr, buf: &'b mut [u8; IPV6_TEXT_MAX]) -> &'b str {
    let groups = v6.segments();
    // The first longest run of zero groups: (start, length).
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, &g) in groups.iter().enumerate() {
        run = if g == 0 {
            (if run.1 == 0 { i } else { run.0 }, run.1 + 1)
        } else {
            (0, 0)
        };
        if run.1 > best.1 {
            best = run;
        }
    }
    let mut n = 0;
    let mut put = |b: u8| {
        buf[n] = b;
        n += 1;
    };
    let mut i = 0;
    while i < 8 {
        if best.1 > 1 && i == best.0 {
            put(b':');
            if i == 0 {
                put(b':');
            }
            i += best.1;
            continue;
        }
        let g = groups[i];
        let digits = (4 - g.leading_zeros() / 4).max(1);
        for k in (0..digits).rev() {
            put(b"0123456789abcdef"[usize::from((g >> (4 * k)) & 0xf)]);
        }
        if i < 7 {
            put(b':');
        }
        i += 1;
    }
    std::str::from_utf8(&buf[..n]).expect("hex digits and colons are ASCII")
}

/// `s` in ASCII lowercase, copied only when it has an uppercase letter.
pub fn ascii_lower(s: &str) -> Cow<'_, str> {
    // A fold without an early exit: the compiler checks many bytes per instruction.
    if s.bytes()
        .fold(false, |upper, b| upper | b.is_ascii_uppercase())
    {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` lowercased (Unicode), copied only when that changes it.
fn lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        ascii_lower(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// Normalizes an InternetMessageId for comparison: surrounding space and angle brackets
/// removed, lowercased. Print it as `<id>`.
///
/// ```
/// use mailscope::parse::fields::normalize_message_id;
/// assert_eq!(normalize_message_id(" <AB12@Mail.Example.COM> "), "ab12@mail.example.com");
/// assert_eq!(normalize_message_id("ab12@mail.example.com"), "ab12@mail.example.com");
/// ```
pub fn normalize_message_id(raw: &str) -> String {
    normalize_message_id_cow(raw).into_owned()
}

/// [`normalize_message_id`] without a copy when the id has no uppercase letter.
pub fn normalize_message_id_cow(raw: &str) -> Cow<'_, str> {
    lower(message_id_core(raw))
}

/// An InternetMessageId without surrounding space and angle brackets, case kept: empty
/// exactly when its normalized form is.
pub fn message_id_core(raw: &str) -> &str {
    let s = raw.trim_ws();
    let s = s.strip_prefix('<').unwrap_or(s);
    let s = s.strip_suffix('>').unwrap_or(s);
    s.trim_ws()
}

/// Parses a `LogonType` given as a number, a numeric string or a name (`Owner`).
pub fn parse_logon_type(s: &str) -> Option<u8> {
    let s = s.trim_ws();
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    if s.eq_ignore_ascii_case("Delegate") {
        return Some(2);
    }
    LOGON_TYPE_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .map(|p| p as u8)
}

/// Lowercases an identity when it is a UPN or mail address (case-insensitive in M365);
/// leaves SIDs, GUIDs and display names as they are.
pub fn normalize_identity(s: &str) -> String {
    normalize_identity_cow(s).into_owned()
}

/// [`normalize_identity`] without a copy when nothing changes.
pub fn normalize_identity_cow(s: &str) -> Cow<'_, str> {
    let s = s.trim_ws();
    if s.contains('@') {
        lower(s)
    } else {
        Cow::Borrowed(s)
    }
}

/// Parses the PowerShell hashtable text `@{Value=Bind; Name=MailAccessType}` into pairs.
/// Returns `None` when the text is not of that form.
pub fn parse_ps_hashtable(s: &str) -> Option<Vec<(&str, &str)>> {
    let inner = s.trim_ws().strip_prefix("@{")?.strip_suffix('}')?;
    Some(
        inner
            .split("; ")
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim_ws(), v.trim_ws()))
            .collect(),
    )
}

/// The PowerShell hashtable texts of `s` joined with `|`, each as [`parse_ps_hashtable`]
/// reads it: bitpusher2k's `_Processed.csv` joins the `OperationProperties` objects so
/// (`@{Name=MailAccessType; Value=Bind}|@{Name=IsThrottled; Value=True}`). A `|` is a join
/// only between a `}` and a `@{` (white space around it allowed), so a value holding a `|`
/// stays whole. Text with no join is one part. See: ../shared/samples/SOURCES.md.
pub fn split_ps_hashtables(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        let mut from = 0;
        while let Some(i) = r[from..].find('|') {
            let at = from + i;
            if r[..at].trim_end().ends_with('}') && r[at + 1..].trim_start().starts_with("@{") {
                rest = Some(&r[at + 1..]);
                return Some(&r[..at]);
            }
            from = at + 1;
        }
        rest = None;
        Some(r)
    })
}

/// Parses Search-MailboxAuditLog's `Name:Value Name:Value` OperationProperties text.
pub fn parse_name_value_text(s: &str) -> Vec<(&str, &str)> {
    s.split_whitespace()
        .filter_map(|kv| kv.split_once(':'))
        .collect()
}

/// True when a string is PowerShell's stringification of an object or array: the data it
/// stood for is lost. See: ../shared/samples/a-bind-defender-cloudappevents-otrf.json
pub fn is_lossy_powershell(s: &str) -> bool {
    s.contains("System.Object[]") || s.contains("System.Collections.")
}

/// Parses an unsigned count or size given as a number, a numeric string or a float.
pub fn parse_u64_text(s: &str) -> Option<u64> {
    let s = s.trim_ws();
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let f: f64 = s.parse().ok()?;
    (f.is_finite() && f >= 0.0).then_some(f as u64)
}

/// FNV-1a, 64 bits: a stable digest (same on every machine and release) for synthesized ids.
pub fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading a time with the fixed-place fast path gives what the general reading gives;
    /// the fast path gives a time only when the general reading gives the same one, and on a
    /// text of its shape it gives one whenever the general reading does. The texts: every
    /// field a little past its range (month 13, day 32, hour 24, second 61: impossible dates
    /// such as 31 April or 29 February of a common year among them), every separator and zone
    /// letter right or wrong, a month one digit short or long, and other endings.
    #[test]
    fn fast_time_reading_is_the_general_one() {
        use proptest::prelude::*;
        let sep = |right: &'static str, wrong: &'static str| prop_oneof![4 => Just(right), 1 => Just(wrong)];
        // Years mostly where nanoseconds reach (1677 to 2262), some anywhere.
        let year = prop_oneof![4 => 1900u32..2100, 1 => 0u32..10_000];
        let fields = (year, 0u32..14, 0u32..33, 0u32..25, 0u32..61, 0u32..62);
        let seps = (
            (sep("-", "/"), sep("-", ""), sep("T", " ")),
            (sep(":", "."), sep(":", ""), sep("", "Z"), sep("", "z")),
            prop_oneof![Just(""), Just("+"), Just("0"), Just(".5")],
        );
        let widths = prop_oneof![8 => Just(2usize), 1 => Just(1), 1 => Just(3)];
        proptest!(|((y, mo, d, h, mi, s) in fields, ((a, b, t), (c, e, z1, z2), end) in seps, w in widths)| {
            let text = format!("{y:04}{a}{mo:0w$}{b}{d:02}{t}{h:02}{c}{mi:02}{e}{s:02}{z1}{z2}{end}");
            let general = iso_time_general(&text);
            prop_assert_eq!(parse_iso_time(&text), general, "{}", text);
            let fast = iso_seconds(text.as_bytes());
            let shape = w == 2
                && [a, b, c, e] == ["-", "-", ":", ":"]
                && z1.len() + z2.len() <= 1
                && end.is_empty();
            if shape || fast.is_some() {
                prop_assert_eq!(fast, general, "{}", text);
            }
        });
        // Real values: the fixed shape, with and without a zone letter.
        assert_eq!(
            iso_seconds(b"2024-03-04T00:00:12"),
            Some(1_709_510_412 * NANOS_PER_SEC)
        );
        assert_eq!(
            iso_seconds(b"2024-03-04T00:00:12Z"),
            iso_time_general("2024-03-04T00:00:12")
        );
        assert_eq!(iso_seconds(b"2023-02-29T00:00:00"), None);
        assert_eq!(iso_seconds(b"2024-03-04T00:00:12.5Z"), None);
    }

    /// `ipv6_text` writes what `Display` writes, for addresses with zero groups anywhere (runs
    /// of every length and position, ties between runs) and any group values.
    #[test]
    fn ipv6_text_is_display() {
        use proptest::prelude::*;
        let group = prop_oneof![3 => Just(0u16), 1 => 1u16..16, 1 => any::<u16>()];
        proptest!(|(groups in proptest::array::uniform8(group))| {
            let v6 = Ipv6Addr::from(groups);
            prop_assume!(v6.to_ipv4_mapped().is_none());
            let mut buf = [0u8; IPV6_TEXT_MAX];
            prop_assert_eq!(ipv6_text(&v6, &mut buf), v6.to_string());
        });
        for text in [
            "::",
            "::1",
            "1::",
            "1:0:0:1:0:0:0:1",
            "1:0:0:1:0:0:1:0",
            "2a02:d09::1",
        ] {
            let v6: Ipv6Addr = text.parse().unwrap();
            assert_eq!(ipv6_text(&v6, &mut [0u8; IPV6_TEXT_MAX]), v6.to_string());
        }
    }

    #[test]
    fn format_time_matches_format() {
        let reference = |t: Nanos| {
            let secs = t.div_euclid(NANOS_PER_SEC);
            let frac = t.rem_euclid(NANOS_PER_SEC);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            let mut out = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                sod / 3600,
                sod % 3600 / 60,
                sod % 60
            );
            if frac != 0 {
                out.push_str(format!(".{frac:09}").trim_end_matches('0'));
            }
            out + "Z"
        };
        for t in [
            0,
            1,
            -1,
            999_999_999,
            1_000_000_000,
            1_700_000_000_123_400_000,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(format_time(t), reference(t), "{t}");
        }
        proptest::proptest!(|(t in proptest::num::i64::ANY)| {
            proptest::prop_assert_eq!(format_time(t), reference(t));
        });
    }

    #[test]
    fn ps_hashtables_split_at_joins_only() {
        let parts = |s| split_ps_hashtables(s).collect::<Vec<_>>();
        assert_eq!(
            parts("@{Name=A; Value=Bind}|@{Name=B; Value=True}"),
            ["@{Name=A; Value=Bind}", "@{Name=B; Value=True}"]
        );
        assert_eq!(
            parts("@{a=1} | @{b=2}|@{c=3}"),
            ["@{a=1} ", " @{b=2}", "@{c=3}"]
        );
        assert_eq!(parts("@{Name=A; Value=x|y}"), ["@{Name=A; Value=x|y}"]);
        assert_eq!(parts("@{a=1}|b"), ["@{a=1}|b"]);
        assert_eq!(parts(""), [""]);
    }

    #[test]
    fn trim_ws_is_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\r\n",
            "\u{a0}x",
            "x\u{2003}",
            "\u{85}",
            "\u{feff}x",
            "é",
            " é ",
            "Id",
            "\u{3000}Id\u{3000}",
            "a b",
            "\x0b",
            "\x7f",
            "~",
        ] {
            assert_eq!(s.trim_ws(), s.trim(), "{s:?}");
        }
        proptest::proptest!(|(s in "\\PC{0,6}|[ \\t\u{a0}\u{2028}a-z\u{85}]{0,6}")| {
            proptest::prop_assert_eq!(s.trim_ws(), s.trim());
        });
    }

    #[test]
    fn iso_times() {
        let base = parse_iso_time("2020-04-07T23:47:30").unwrap();
        assert_eq!(format_time(base), "2020-04-07T23:47:30Z");
        assert_eq!(parse_iso_time("2020-04-07T23:47:30Z"), Some(base));
        assert_eq!(
            parse_iso_time("2021-08-02T13:32:07.0000000Z"),
            parse_iso_time("2021-08-02T13:32:07")
        );
        assert_eq!(
            parse_any_time("2026-01-24T06:54:24.0000000Z ").unwrap(),
            parse_iso_time("2026-01-24T06:54:24").unwrap()
        );
        assert_eq!(
            format_time(parse_iso_time("2021-08-02T13:11:39.7724491Z").unwrap()),
            "2021-08-02T13:11:39.7724491Z"
        );
        assert_eq!(
            parse_iso_time("2020-04-08T01:47:30+02:00"),
            Some(base),
            "offsets are applied"
        );
        assert_eq!(parse_iso_time("2020-02-30T00:00:00"), None);
        assert_eq!(parse_iso_time("String (timestamp)"), None);
    }

    #[test]
    fn locale_and_dotnet_times() {
        assert_eq!(
            parse_any_time("9/20/2023 4:05:03 AM").unwrap(),
            parse_iso_time("2023-09-20T04:05:03").unwrap()
        );
        assert_eq!(
            parse_any_time("9/20/2023 4:05:03 PM").unwrap(),
            parse_iso_time("2023-09-20T16:05:03").unwrap()
        );
        assert_eq!(
            parse_any_time("20/9/2023 12:05:03 AM").unwrap(),
            parse_iso_time("2023-09-20T00:05:03").unwrap()
        );
        assert_eq!(
            parse_any_time("3/12/2025 7:31:34 AM"),
            Err(TimeError::AmbiguousLocale)
        );
        assert_eq!(
            parse_time_ordered("3/12/2025 7:31:34 AM", DateOrder::DayFirst).unwrap(),
            parse_iso_time("2025-12-03T07:31:34").unwrap()
        );
        assert_eq!(
            parse_time_ordered("5/6/2024 7:01:00 PM", DateOrder::MonthFirst).unwrap(),
            parse_iso_time("2024-05-06T19:01:00").unwrap()
        );
        assert_eq!(
            parse_time_ordered("25/6/2024", DateOrder::MonthFirst).unwrap(),
            parse_iso_time("2024-06-25T00:00:00").unwrap(),
            "an unambiguous date ignores the order"
        );
        assert_eq!(
            parse_any_time("/Date(1621952909000)/").unwrap(),
            parse_iso_time("2021-05-25T14:28:29").unwrap()
        );
        assert_eq!(
            parse_any_time("\\/Date(1621952909000)\\/").unwrap(),
            parse_iso_time("2021-05-25T14:28:29").unwrap()
        );
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn ip_variants_from_the_sample() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/samples/ip-address-variants.txt"
        ))
        .unwrap();
        let got: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(normalize_ip)
            .collect();
        let want = [
            "10.11.12.13",
            "10.11.12.13",
            "10.11.12.13",
            "10.11.12.13",
            "2001:db8::abcd",
            "2001:db8::abcd",
            "2001:db8::abcd",
            "10.11.12.13",
            "10.11.12.13",
            "::1",
            "2001:bb6:5f4f:f058:4163:e14a:1332:27c7",
            "localhost",
            "localhost",
            "localhost",
            "cool.client.local",
            "cool.client.local",
            "cool.client.local",
        ];
        assert_eq!(got, want);
        assert_eq!(normalize_ip("2001:DB8:0:0::ABCD"), "2001:db8::abcd");
    }

    #[test]
    fn message_ids() {
        assert_eq!(normalize_message_id(" <AB@Example.COM> "), "ab@example.com");
        assert_eq!(normalize_message_id("ab@example.com"), "ab@example.com");
    }

    #[test]
    fn logon_types_and_text_forms() {
        assert_eq!(parse_logon_type("0"), Some(0));
        assert_eq!(parse_logon_type("Owner"), Some(0));
        assert_eq!(parse_logon_type("Delegate"), Some(2));
        assert_eq!(parse_logon_type("DelegatedAdmin"), Some(6));
        assert_eq!(
            parse_ps_hashtable("@{Value=Bind; Name=MailAccessType}").unwrap(),
            vec![("Value", "Bind"), ("Name", "MailAccessType")]
        );
        assert_eq!(
            parse_name_value_text("MailAccessType:Bind IsThrottled:False"),
            vec![("MailAccessType", "Bind"), ("IsThrottled", "False")]
        );
        assert_eq!(parse_u64_text("1156492.00"), Some(1_156_492));
    }
}
