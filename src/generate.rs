//! Synthetic Unified Audit Log exports, for tests and benchmarks (`mailscope generate`).
//!
//! Not a pipeline stage: it writes what the pipeline reads. A seeded PRNG (splitmix64, no
//! global randomness) drives a tenant of users over a span of days: `MailItemsAccessed` bind
//! records (aggregated per 2-minute interval, 1 to 10 messages each) and sync records (both
//! the `Item.ParentFolder` and the item-less `Folders[]` shape), mixed with the operations
//! that surround them in real exports (UserLoggedIn, FileAccessed, MailboxLogin, Send,
//! SoftDelete, FileModified, New-InboxRule), about 70% of lines `MailItemsAccessed` and
//! ~1.45 KB a line on average, like the file measured in ../shared/docs/performance.md.
//! About 1% of lines repeat an earlier record (same `Id`), as overlapping export windows do;
//! one mailbox is read more than 1,000 times in a day and gets an `IsThrottled` = `True`
//! record; optionally an attacker signs in from a foreign IP and reads two mailboxes.
//!
//! Records follow the field order and value shapes of the samples:
//! ../shared/samples/a-bind-office365itpros.json (bind), b-sync-*.json (sync),
//! c-throttled-*.json, b-exchangeitem-*.jsonl (ExchangeItem), ip-address-variants.txt.
//! Output is streamed (memory stays at a few MiB whatever the size) and depends only on
//! the options: the same options give the same bytes.

use crate::parse::fields::civil_from_days;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};

/// The container written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GenFormat {
    /// One AuditData object per line (SOF-ELK / Extractor-Suite `-AuditDataOnly` shape).
    Ndjson,
    /// The same NDJSON, zstd-compressed (level 3, one frame).
    NdjsonZst,
    /// Purview portal CSV: `RecordId,CreationDate,...,AuditData,...` with CRLF line ends.
    PurviewCsv,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Uncompressed bytes to write; generation stops after the line that reaches it.
    pub size: u64,
    pub seed: u64,
    pub format: GenFormat,
    /// Users (and mailboxes) in the tenant; at least 4.
    pub users: usize,
    /// Days the records span, from `start_day`.
    pub days: u32,
    /// First day, as days since 1970-01-01.
    pub start_day: i64,
    /// Plant an attacker: a foreign IP and session reading a user's and the CEO's mail.
    pub attacker: bool,
    /// Plant a throttled mailbox (needs `size` >= [`THROTTLE_MIN_SIZE`]).
    pub throttle: bool,
    /// Draw a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
}

/// Smallest output in which the throttled mailbox (1,001 records in a day) is planted.
pub const THROTTLE_MIN_SIZE: u64 = 8_000_000;

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            size: 100_000_000,
            seed: 1,
            format: GenFormat::Ndjson,
            users: 500,
            days: 30,
            // 2024-03-04, a Monday.
            start_day: 19_786,
            attacker: false,
            throttle: true,
            progress: false,
        }
    }
}

/// The planted attacker, as an investigator should find it.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct AttackerSummary {
    /// The foreign IP, normalized (records write it with and without a port).
    pub ip: String,
    pub session_id: String,
    /// The compromised account (`UserId` of the attacker's records).
    pub account: String,
    /// Mailboxes the attacker read (`MailboxOwnerUPN`).
    pub mailboxes: Vec<String>,
    /// Unique records written in the attacker's context (all operations).
    pub records: u64,
    /// `MailItemsAccessed` records in the attacker's context (bind and sync).
    pub mail_items_accessed: u64,
    /// Sync records in the attacker's context.
    pub syncs: u64,
    /// Message ids listed in the attacker's bind records (with repeats).
    pub messages_listed: u64,
    pub first_time: String,
    pub last_time: String,
}

/// What was written. Counts are of unique records unless they say otherwise.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct GenerateSummary {
    /// Uncompressed bytes written (header included).
    pub bytes: u64,
    /// Record lines written, repeats included (the CSV header is not a record).
    pub lines: u64,
    /// Unique records (by `Id`).
    pub records: u64,
    /// Lines that repeat an earlier record.
    pub duplicates: u64,
    pub mail_items_accessed: u64,
    pub bind: u64,
    pub sync: u64,
    /// Records with `IsThrottled` = `True`.
    pub throttled: u64,
    pub by_operation: BTreeMap<String, u64>,
    pub users: usize,
    pub first_time: String,
    pub last_time: String,
    pub throttled_mailbox: Option<String>,
    pub attacker: Option<AttackerSummary>,
}

/// Writes a synthetic export to `out` (through a `BufWriter`, and a zstd encoder for
/// [`GenFormat::NdjsonZst`]).
pub fn generate(opts: &GenerateOptions, out: &mut dyn Write) -> io::Result<GenerateSummary> {
    if opts.users < 4 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--users must be at least 4",
        ));
    }
    if opts.days == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--days must be at least 1",
        ));
    }
    let buffered = BufWriter::with_capacity(1 << 20, out);
    match opts.format {
        GenFormat::NdjsonZst => {
            // Level 3, one frame, no worker threads: the default of the `zstd` tool.
            let mut enc = zstd::Encoder::new(buffered, 3)?;
            let summary = Gen::new(opts).run(&mut enc)?;
            enc.finish()?.flush()?;
            Ok(summary)
        }
        _ => {
            let mut w = buffered;
            let summary = Gen::new(opts).run(&mut w)?;
            w.flush()?;
            Ok(summary)
        }
    }
}

/// Parses a size such as `2GB`, `500MB`, `1.5GiB`, `64k` or `12345` (bytes). Decimal units
/// are powers of 1000, binary units (`KiB`, `MiB`, `GiB`, `TiB`) powers of 1024.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (examples: 2GB, 500MB, 1GiB, 12345)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "unknown size unit '{u}' in '{s}' (B, KB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = value * mult;
    if !bytes.is_finite() || !(1.0..=1e15).contains(&bytes) {
        return Err(format!("size '{s}' is out of range (1 byte to 1 PB)"));
    }
    Ok(bytes as u64)
}

// ---------------------------------------------------------------------------------------
// Randomness: splitmix64 for the stream, and a stateless mix for values derived from ids
// (a user's message n always has the same InternetMessageId, whatever came before).

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn guid(&mut self) -> u128 {
        ((self.next() as u128) << 64) | self.next() as u128
    }
    /// Index drawn by integer weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut r = self.below(total as u64) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A value derived from a few numbers (stateless).
fn h(parts: &[u64]) -> u64 {
    let mut acc = 0x243F_6A88_85A3_08D3u64;
    for &p in parts {
        acc = mix(acc ^ p.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    acc
}

fn h128(parts: &[u64]) -> u128 {
    let a = h(parts);
    ((a as u128) << 64) | mix(a ^ 0x5851_F42D_4C95_7F2D) as u128
}

// ---------------------------------------------------------------------------------------
// The tenant.

const DOMAIN: &str = "contoso.com";
const ORG_NAME: &str = "contoso.onmicrosoft.com";

const FIRST: [&str; 40] = [
    "adele", "alex", "allan", "amy", "ben", "carla", "chen", "christie", "dana", "diego", "elena",
    "emily", "enrico", "fatima", "grady", "hana", "henrik", "irvin", "isaiah", "jana", "joni",
    "kenji", "lee", "lidia", "lynne", "marek", "megan", "miriam", "nestor", "nora", "olga",
    "patti", "pradeep", "quinn", "raul", "sofia", "tomas", "umar", "wei", "zoe",
];
const LAST: [&str; 40] = [
    "adams", "baker", "bianchi", "brown", "chen", "cohen", "costa", "davis", "dubois", "evans",
    "fischer", "garcia", "gonzalez", "hall", "hughes", "ito", "jensen", "kim", "kowalski",
    "larsen", "lopez", "martin", "meyer", "moreau", "nakamura", "novak", "nguyen", "obrien",
    "patel", "peralta", "rossi", "sato", "schmidt", "silva", "smith", "tanaka", "vargas", "wagner",
    "wilson", "zhang",
];

/// How a client shows up in `ClientInfoString`, and the apps behind it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    OutlookDesktop,
    Owa,
    OutlookIos,
    OutlookAndroid,
    NewOutlook,
    MacOutlook,
}

impl Client {
    const ALL: [Client; 6] = [
        Client::OutlookDesktop,
        Client::Owa,
        Client::OutlookIos,
        Client::OutlookAndroid,
        Client::NewOutlook,
        Client::MacOutlook,
    ];
    fn info(self) -> &'static str {
        match self {
            Client::OutlookDesktop => "Client=MSExchangeRPC",
            Client::Owa => "Client=OWA;Action=ViaProxy",
            Client::OutlookIos => "Client=OutlookService;Outlook-iOS/2.0;",
            Client::OutlookAndroid => "Client=OutlookService;Outlook-Android/2.0;",
            Client::NewOutlook => "Client=REST;;",
            Client::MacOutlook => {
                "Client=WebServices;Microsoft Office/16.0 (Macintosh; Mac OS X 14.4; Pro);"
            }
        }
    }
    /// `AppId` and `ClientAppId` (None for MAPI, which records neither).
    fn apps(self) -> Option<(&'static str, &'static str, &'static str)> {
        const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";
        match self {
            Client::OutlookDesktop => None,
            Client::Owa => Some((
                EXO,
                "9199bf20-a13f-4107-85dc-02114787ef48",
                "One Outlook Web",
            )),
            Client::OutlookIos | Client::OutlookAndroid => Some((
                EXO,
                "27922004-5251-4030-b22d-91ecd9a37ea4",
                "Outlook Mobile",
            )),
            Client::NewOutlook => Some((
                "00000003-0000-0000-c000-000000000000",
                "5d661950-3475-41cd-a2c3-d671a3162bc1",
                "Microsoft Outlook",
            )),
            Client::MacOutlook => Some((
                EXO,
                "d3590ed6-52b3-4102-aeff-aad2292ab01c",
                "Microsoft Office",
            )),
        }
    }
    fn is_mobile(self) -> bool {
        matches!(self, Client::OutlookIos | Client::OutlookAndroid)
    }
    fn user_agent(self) -> &'static str {
        match self {
            Client::OutlookIos => "Outlook-iOS/2.0",
            Client::OutlookAndroid => "Outlook-Android/2.0",
            Client::MacOutlook => "Microsoft Office/16.0 (Macintosh; Mac OS X 14.4; Pro)",
            Client::OutlookDesktop => {
                "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"
            }
            _ => {
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0"
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Ip {
    V4([u8; 4]),
    V6([u16; 8]),
}

struct User {
    upn: String,
    key: u64,
    object_id: u128,
    sid: String,
    mailbox_guid: u128,
    server: String,
    home: Ip,
    mobile: Ip,
    clients: Vec<Client>,
    /// Messages in the mailbox at the start, and received per day.
    base_messages: u64,
    per_day: u64,
}

const FOLDERS: [(&str, &str, u32); 7] = [
    ("\\Inbox", "Inbox", 66),
    ("\\Sent Items", "Sent Items", 10),
    ("\\Archive", "Archive", 8),
    ("\\Inbox\\Projects", "Projects", 6),
    ("\\Deleted Items", "Deleted Items", 4),
    ("\\Drafts", "Drafts", 3),
    ("\\Inbox\\Finance", "Finance", 3),
];

fn folder_weights() -> [u32; 7] {
    FOLDERS.map(|f| f.2)
}

const SUBJECT_WORDS: [&str; 24] = [
    "Q3",
    "budget",
    "review",
    "invoice",
    "contract",
    "update",
    "meeting",
    "notes",
    "draft",
    "proposal",
    "payroll",
    "offsite",
    "roadmap",
    "urgent",
    "re:",
    "fw:",
    "customer",
    "renewal",
    "status",
    "weekly",
    "plan",
    "signed",
    "approval",
    "follow-up",
];

/// A special (planted) event, scheduled at a time.
#[derive(Clone, Copy)]
enum Special {
    /// A bind by the backup app on the throttled mailbox; `true` marks the throttled record.
    ThrottleBind(bool),
    AttackerLogin,
    AttackerMailboxLogin,
    AttackerRule,
    /// A bind by the attacker on this user's mailbox.
    AttackerBind(usize),
    /// A sync in the attacker's context of this user's inbox; `true` = `Item.ParentFolder`.
    AttackerSync(usize, bool),
    AttackerSend,
}

/// The context a `MailItemsAccessed` record is written in.
struct Access<'a> {
    user: usize,
    mailbox: usize,
    logon_type: u8,
    ip: Ip,
    ip_style: u64,
    client_info: &'a str,
    apps: Option<(&'a str, &'a str, &'a str)>,
    session: u128,
    throttled: bool,
}

struct Meta {
    id: u128,
    time: i64,
    record_type: u32,
    operation: &'static str,
    user: usize,
}

const RING: usize = 512;
/// Average bytes a line, measured (used to spread records over the days).
const AVG_LINE: f64 = 1480.0;

struct Gen<'o> {
    opts: &'o GenerateOptions,
    rng: Rng,
    users: Vec<User>,
    org_id: u128,
    tenant_id: u128,
    /// The assistant (user 1) reads the CEO's (user 0) mailbox as a delegate.
    ceo: usize,
    assistant: usize,
    throttled_user: usize,
    /// Binds on the throttled mailbox are not recorded in `[t, t + 24h)`.
    throttle_until: Option<(i64, i64)>,
    specials: Vec<(i64, Special)>,
    next_special: usize,
    attacker_ip: Ip,
    attacker_session: u128,
    attacker_app: u128,
    j: Json,
    row: Vec<u8>,
    ring: Vec<Vec<u8>>,
    sum: GenerateSummary,
    attacker_sum: AttackerSummary,
    first: Option<i64>,
    last: i64,
}

impl<'o> Gen<'o> {
    fn new(opts: &'o GenerateOptions) -> Self {
        let seed = opts.seed;
        let users = (0..opts.users).map(|i| make_user(seed, i)).collect();
        let mut g = Gen {
            opts,
            rng: Rng(h(&[seed, 1])),
            users,
            org_id: h128(&[seed, 2]),
            tenant_id: h128(&[seed, 2]),
            ceo: 0,
            assistant: 1,
            throttled_user: 3,
            throttle_until: None,
            specials: Vec::new(),
            next_special: 0,
            attacker_ip: Ip::V4([185, 220, 101, 47]),
            attacker_session: h128(&[seed, 3]),
            attacker_app: h128(&[seed, 4]),
            j: Json::default(),
            row: Vec::new(),
            ring: Vec::with_capacity(RING),
            sum: GenerateSummary::default(),
            attacker_sum: AttackerSummary::default(),
            first: None,
            last: 0,
        };
        g.plan();
        g
    }

    fn start(&self) -> i64 {
        self.opts.start_day * 86_400
    }

    fn span(&self) -> i64 {
        self.opts.days as i64 * 86_400
    }

    /// Schedules the planted events.
    fn plan(&mut self) {
        let day0 = self.opts.start_day;
        let days = self.opts.days as i64;
        let mut rng = Rng(h(&[self.opts.seed, 5]));
        if self.opts.throttle && self.opts.size >= THROTTLE_MIN_SIZE {
            // A backup tool reads one mailbox 1,000 times from 06:00: Exchange records a
            // throttled bind and stops auditing binds for that mailbox for 24 hours.
            // See: ../shared/docs/forensics.md, "Throttling".
            let t0 = (day0 + days * 2 / 5) * 86_400 + 6 * 3600;
            let mut t = t0;
            for _ in 0..1000 {
                self.specials.push((t, Special::ThrottleBind(false)));
                t += 40 + rng.below(30) as i64;
            }
            t += 60;
            self.specials.push((t, Special::ThrottleBind(true)));
            self.throttle_until = Some((t, t + 86_400));
            self.sum.throttled_mailbox = Some(self.users[self.throttled_user].upn.clone());
        }
        if self.opts.attacker {
            // 02:13 UTC, two thirds into the span: sign-in, an inbox rule, then reads of the
            // account's own mailbox and the CEO's (the account is the CEO's delegate).
            let mut t = (day0 + days * 2 / 3) * 86_400 + 2 * 3600 + 13 * 60 + 7;
            self.specials.push((t, Special::AttackerLogin));
            t += 20 + rng.below(20) as i64;
            self.specials.push((t, Special::AttackerMailboxLogin));
            t += 60 + rng.below(60) as i64;
            self.specials.push((t, Special::AttackerRule));
            for i in 0..100 {
                t += 90 + rng.below(60) as i64;
                let mailbox = if i < 40 { self.assistant } else { self.ceo };
                self.specials.push((t, Special::AttackerBind(mailbox)));
                if i == 20 {
                    t += 30;
                    self.specials
                        .push((t, Special::AttackerSync(self.assistant, false)));
                }
                if i == 70 {
                    t += 30;
                    self.specials
                        .push((t, Special::AttackerSync(self.ceo, true)));
                }
            }
            t += 120;
            self.specials.push((t, Special::AttackerSend));
        }
        self.specials.sort_by_key(|s| s.0);
    }

    /// The time of the background record after one at `t`: the next arrival of a Poisson
    /// process whose rate follows the hour of the week ([`rate_at_hour`], `mean_gap` seconds
    /// apart at rate 1). An exponential amount of time at rate 1 is spent hour by hour, each
    /// at its own rate. A gap drawn whole at the rate of the hour the previous record fell in
    /// stepped over busy hours from quiet ones, and small exports overshot their span: 2 MB
    /// over `--days 30` spanned 38.6 days.
    fn next_arrival(&mut self, t: f64, mean_gap: f64) -> f64 {
        let mut work = -(1.0 - self.rng.unit()).ln() * mean_gap;
        let mut t = t;
        loop {
            let since = t - self.start() as f64;
            let hour = (since / 3600.0).floor();
            // At least a millisecond, so that rounding at an hour's end cannot stall the loop.
            let left = ((hour + 1.0) * 3600.0 - since).max(1e-3);
            let rate = rate_at_hour((hour as i64).rem_euclid(168));
            if work <= left * rate {
                return t + work / rate;
            }
            work -= left * rate;
            t += left;
        }
    }

    fn run(mut self, out: &mut dyn Write) -> io::Result<GenerateSummary> {
        let progress = crate::progress::Progress::new(self.opts.size, self.opts.progress);
        let size = self.opts.size;
        if self.opts.format == GenFormat::PurviewCsv {
            let header = b"RecordId,CreationDate,RecordType,Operation,UserId,AuditData,\
                           AssociatedAdminUnits,AssociatedAdminUnitsNames\r\n";
            out.write_all(header)?;
            self.sum.bytes += header.len() as u64;
        }
        // Background records arrive at a rate that follows the working day and week; the mean
        // gap is chosen so that `size` bytes span about `days` days.
        let special_bytes = self.specials.len() as f64 * AVG_LINE;
        let expected = ((size as f64 - special_bytes) / AVG_LINE * 0.99).max(1.0);
        // The mean rate over the span's own hours (a span of one weekday is busier than the
        // week's mean: 2 MB over `--days 1` ended at 17:00).
        let hours = (self.span() / 3600).max(1);
        let mean_rate = (0..hours).map(|h| rate_at_hour(h % 168)).sum::<f64>() / hours as f64;
        let mean_gap = self.span() as f64 * mean_rate / expected;
        let mut t_bg = self.start() as f64;
        let mut since_progress = 0u64;
        while self.sum.bytes < size {
            if !self.ring.is_empty() && self.rng.chance(0.01) {
                let i = self.rng.below(self.ring.len() as u64) as usize;
                out.write_all(&self.ring[i])?;
                self.sum.bytes += self.ring[i].len() as u64;
                self.sum.lines += 1;
                self.sum.duplicates += 1;
                continue;
            }
            let t = t_bg as i64;
            let meta = match self.specials.get(self.next_special) {
                Some(&(ts, s)) if ts <= t => {
                    self.next_special += 1;
                    self.special(ts, s)
                }
                _ => {
                    t_bg = self.next_arrival(t_bg, mean_gap);
                    self.background(t)
                }
            };
            self.finish_record(&meta);
            self.encode(&meta);
            out.write_all(&self.row)?;
            self.sum.bytes += self.row.len() as u64;
            self.sum.lines += 1;
            since_progress += self.row.len() as u64;
            if since_progress >= 1 << 20 {
                progress.inc(since_progress);
                since_progress = 0;
            }
            if self.ring.len() < RING {
                self.ring.push(self.row.clone());
            } else {
                let i = self.rng.below(RING as u64) as usize;
                self.ring[i].clear();
                self.ring[i].extend_from_slice(&self.row);
            }
        }
        progress.finish();
        self.sum.users = self.users.len();
        if let Some(first) = self.first {
            self.sum.first_time = iso(first);
            self.sum.last_time = iso(self.last);
        }
        if self.opts.attacker {
            let a = &mut self.attacker_sum;
            a.ip = "185.220.101.47".into();
            a.session_id = guid_string(self.attacker_session);
            a.account = self.users[self.assistant].upn.clone();
            a.mailboxes = vec![
                self.users[self.assistant].upn.clone(),
                self.users[self.ceo].upn.clone(),
            ];
            self.sum.attacker = Some(std::mem::take(a));
        }
        Ok(self.sum)
    }

    fn finish_record(&mut self, m: &Meta) {
        self.sum.records += 1;
        *self
            .sum
            .by_operation
            .entry(m.operation.to_string())
            .or_default() += 1;
        if self.first.is_none_or(|f| m.time < f) {
            self.first = Some(m.time);
        }
        self.last = self.last.max(m.time);
    }

    /// Turns the AuditData in `self.j` into the output line in `self.row`.
    fn encode(&mut self, m: &Meta) {
        self.row.clear();
        match self.opts.format {
            GenFormat::Ndjson | GenFormat::NdjsonZst => {
                self.row.extend_from_slice(&self.j.buf);
                self.row.push(b'\n');
            }
            GenFormat::PurviewCsv => {
                let r = &mut self.row;
                push_guid(r, m.id);
                r.push(b',');
                // CreationDate in the portal's US-locale text: 9/20/2023 4:05:03 AM.
                let (y, mo, d) = civil_from_days(m.time.div_euclid(86_400));
                let sod = m.time.rem_euclid(86_400);
                let (hh, mi, ss) = (sod / 3600, sod % 3600 / 60, sod % 60);
                let (h12, ampm) = match hh {
                    0 => (12, "AM"),
                    1..=11 => (hh, "AM"),
                    12 => (12, "PM"),
                    _ => (hh - 12, "PM"),
                };
                let _ = write!(
                    r,
                    "{mo}/{d}/{y} {h12}:{mi:02}:{ss:02} {ampm},{},{},{},\"",
                    m.record_type, m.operation, self.users[m.user].upn
                );
                for &b in &self.j.buf {
                    if b == b'"' {
                        r.push(b'"');
                    }
                    r.push(b);
                }
                r.extend_from_slice(b"\",,\r\n");
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Background activity.

    fn pick_user(&mut self) -> usize {
        // Mildly skewed: some users read much more mail than others.
        let n = self.users.len() as u64;
        let a = self.rng.below(n);
        if self.rng.chance(0.35) {
            a.min(self.rng.below(n)) as usize
        } else {
            a as usize
        }
    }

    fn pick_client(&mut self, u: usize) -> Client {
        let cs = &self.users[u].clients;
        cs[self.rng.below(cs.len() as u64) as usize]
    }

    /// Where a user's client connects from at time `t`.
    fn ip_for(&mut self, u: usize, c: Client, t: i64) -> Ip {
        if c.is_mobile() && self.rng.chance(0.6) {
            return self.users[u].mobile;
        }
        let hour = t.rem_euclid(86_400) / 3600;
        let weekday = (t.div_euclid(86_400) + 3).rem_euclid(7) < 5; // 1970-01-01 was a Thursday
        if weekday && (7..18).contains(&hour) && self.rng.chance(0.85) {
            // Office egress: a few addresses shared by everyone.
            let k = self.rng.below(4);
            return office_ip(k);
        }
        self.users[u].home
    }

    fn session_for(&self, u: usize, c: Client, t: i64) -> u128 {
        // One session per user, client and (UTC) day.
        h128(&[
            self.opts.seed,
            10,
            u as u64,
            c as u64,
            t.div_euclid(86_400) as u64,
        ])
    }

    fn background(&mut self, t: i64) -> Meta {
        let op = self.rng.weighted(&[700, 90, 70, 50, 40, 30, 19, 1]);
        match op {
            0 => self.background_mail(t),
            1 => {
                let u = self.pick_user();
                let c = self.pick_client(u);
                let ip = self.ip_for(u, c, t);
                self.user_logged_in(
                    t,
                    u,
                    ip,
                    c.user_agent(),
                    c.apps()
                        .map_or("d3590ed6-52b3-4102-aeff-aad2292ab01c", |a| a.1),
                )
            }
            2 => self.file_op(t, "FileAccessed"),
            3 => {
                let u = self.pick_user();
                let c = self.pick_client(u);
                let ip = self.ip_for(u, c, t);
                let s = self.session_for(u, c, t);
                self.mailbox_login(t, u, ip, c.info(), s)
            }
            4 => {
                let u = self.pick_user();
                let c = self.pick_client(u);
                let ip = self.ip_for(u, c, t);
                let s = self.session_for(u, c, t);
                self.send(t, u, ip, c, s)
            }
            5 => self.soft_delete(t),
            6 => self.file_op(t, "FileModified"),
            _ => {
                let u = self.pick_user();
                let ip = self.ip_for(u, Client::Owa, t);
                self.new_inbox_rule(t, u, ip, false)
            }
        }
    }

    fn background_mail(&mut self, t: i64) -> Meta {
        let mut u = self.pick_user();
        let mut c = self.pick_client(u);
        let mut mailbox = u;
        let mut logon_type = 0;
        if u == self.assistant && self.rng.chance(0.25) {
            mailbox = self.ceo;
            logon_type = 2;
        }
        let sync = c == Client::OutlookDesktop && self.rng.chance(0.12);
        if !sync
            && let Some((from, until)) = self.throttle_until
            && (from..until).contains(&t)
            && mailbox == self.throttled_user
        {
            // Binds on a throttled mailbox are not recorded: someone else's record instead.
            u = (self.throttled_user + 1) % self.users.len();
            mailbox = u;
            logon_type = 0;
            c = self.pick_client(u);
        }
        let ip = self.ip_for(u, c, t);
        let ip_style = self.rng.next();
        let a = Access {
            user: u,
            mailbox,
            logon_type,
            ip,
            ip_style,
            client_info: c.info(),
            apps: c.apps(),
            session: self.session_for(u, c, t),
            throttled: false,
        };
        if sync {
            let item_shape = self.rng.chance(0.5);
            let f = self.rng.weighted(&[70, 10, 10, 10]);
            let f = [0, 1, 2, 3][f];
            self.mail_sync(t, &a, f, item_shape)
        } else {
            let n = 1 + self.rng.weighted(&[55, 18, 9, 6, 4, 3, 2, 1, 1, 1]);
            self.mail_bind(t, &a, n)
        }
    }

    // -----------------------------------------------------------------------------------
    // Planted events.

    fn special(&mut self, t: i64, s: Special) -> Meta {
        let victim = self.assistant;
        let ip = self.attacker_ip;
        let session = self.attacker_session;
        let app = guid_string(self.attacker_app);
        let meta = match s {
            Special::ThrottleBind(marked) => {
                let u = self.throttled_user;
                let a = Access {
                    user: u,
                    mailbox: u,
                    logon_type: 0,
                    ip: office_ip(0),
                    ip_style: 0,
                    client_info: "Client=REST;;",
                    apps: Some((
                        "00000003-0000-0000-c000-000000000000",
                        "0f4a8c0e-5a4b-4c6e-9a86-5b1d5e0e3d21",
                        "Contoso Mail Archiver",
                    )),
                    session: h128(&[self.opts.seed, 20, t.div_euclid(86_400) as u64]),
                    throttled: marked,
                };
                let n = 1 + self.rng.below(10) as usize;
                return self.mail_bind(t, &a, n);
            }
            Special::AttackerLogin => self.user_logged_in(
                t,
                victim,
                ip,
                "python-requests/2.31.0",
                "00000003-0000-0000-c000-000000000000",
            ),
            Special::AttackerMailboxLogin => {
                self.mailbox_login(t, victim, ip, "Client=REST;;", session)
            }
            Special::AttackerRule => self.new_inbox_rule(t, victim, ip, true),
            Special::AttackerBind(mailbox) => {
                let ip_style = self.rng.next();
                let a = Access {
                    user: victim,
                    mailbox,
                    logon_type: if mailbox == victim { 0 } else { 2 },
                    ip,
                    ip_style,
                    client_info: "Client=REST;;",
                    apps: Some(("00000003-0000-0000-c000-000000000000", &app, "")),
                    session,
                    throttled: false,
                };
                let n = 1 + self.rng.below(10) as usize;
                let m = self.mail_bind(t, &a, n);
                self.attacker_sum.messages_listed += n as u64;
                self.attacker_sum.mail_items_accessed += 1;
                m
            }
            Special::AttackerSync(mailbox, item_shape) => {
                let a = Access {
                    user: victim,
                    mailbox,
                    logon_type: if mailbox == victim { 0 } else { 2 },
                    ip,
                    ip_style: 0,
                    client_info: "Client=MSExchangeRPC",
                    apps: None,
                    session,
                    throttled: false,
                };
                self.attacker_sum.mail_items_accessed += 1;
                self.attacker_sum.syncs += 1;
                self.mail_sync(t, &a, 0, item_shape)
            }
            Special::AttackerSend => self.send(t, victim, ip, Client::NewOutlook, session),
        };
        let a = &mut self.attacker_sum;
        a.records += 1;
        if a.first_time.is_empty() {
            a.first_time = iso(t);
        }
        a.last_time = iso(t);
        meta
    }

    // -----------------------------------------------------------------------------------
    // Record writers. Field order follows the samples.

    /// The fields every Exchange mailbox-audit record starts with.
    fn exchange_head(&mut self, t: i64, op: &'static str, record_type: u32, u: usize) -> Meta {
        let id = self.rng.guid();
        let user = &self.users[u];
        let j = &mut self.j;
        j.head(Head {
            t,
            id,
            op,
            org: self.org_id,
            record_type: record_type as i64,
            result: Some("Succeeded"),
            user_key: UserKey::Hex(user.key),
            workload: "Exchange",
        });
        j.s("UserId", &user.upn);
        Meta {
            id,
            time: t,
            record_type,
            operation: op,
            user: u,
        }
    }

    fn mailbox_fields(&mut self, a_user: usize, mailbox: usize, logon_type: u8) {
        let (user, owner) = (&self.users[a_user], &self.users[mailbox]);
        let j = &mut self.j;
        j.b("ExternalAccess", false);
        j.n("InternalLogonType", 0);
        j.n("LogonType", logon_type as i64);
        j.s("LogonUserSid", &user.sid);
        j.guid("MailboxGuid", owner.mailbox_guid);
        j.s("MailboxOwnerSid", &owner.sid);
        j.s("MailboxOwnerUPN", &owner.upn);
    }

    fn access_head(&mut self, t: i64, a: &Access<'_>, access_type: &str) -> Meta {
        let meta = self.exchange_head(t, "MailItemsAccessed", 50, a.user);
        self.j.ip("ClientIPAddress", a.ip, a.ip_style);
        self.j.s("ClientInfoString", a.client_info);
        self.mailbox_fields(a.user, a.mailbox, a.logon_type);
        let j = &mut self.j;
        j.key("OperationProperties");
        j.arr();
        j.obj();
        j.s("Name", "MailAccessType");
        j.s("Value", access_type);
        j.end_obj();
        j.obj();
        j.s("Name", "IsThrottled");
        j.s("Value", if a.throttled { "True" } else { "False" });
        j.end_obj();
        j.end_arr();
        j.s("OrganizationName", ORG_NAME);
        j.s("OriginatingServer", &self.users[a.mailbox].server);
        j.guid("SessionId", a.session);
        if let Some((app, client_app, _)) = a.apps {
            j.s("AppId", app);
            j.s("ClientAppId", client_app);
        }
        // Newer records also carry the token context; about half the sessions here do.
        if let Some((_, client_app, name)) = a.apps
            && a.session & 1 == 0
        {
            j.key("AppAccessContext");
            j.obj();
            j.guid("AADSessionId", a.session ^ 0x5A5A);
            j.s("ClientAppId", client_app);
            if !name.is_empty() {
                j.s("ClientAppName", name);
            }
            j.guid("CorrelationId", self.rng.guid());
            j.token("UniqueTokenId", self.rng.next());
            j.end_obj();
            let user = &self.users[a.user];
            j.guid("TokenObjectId", user.object_id);
            j.guid("TokenTenantId", self.tenant_id);
        }
        meta
    }

    fn mail_bind(&mut self, t: i64, a: &Access<'_>, n: usize) -> Meta {
        let meta = self.access_head(t, a, "Bind");
        // Messages: mostly recent ones, so the same message is read again and again.
        let owner = &self.users[a.mailbox];
        let days_in = (t - self.start()).max(0) as u64 / 86_400;
        let newest = owner.base_messages
            + days_in * owner.per_day
            + (t.rem_euclid(86_400) as u64 * owner.per_day / 86_400);
        // A message is (mailbox, folder, number); binds within two minutes mostly stay in
        // one folder.
        let mut msgs: Vec<(usize, u64)> = Vec::with_capacity(n);
        let mut f = self.rng.weighted(&folder_weights());
        for _ in 0..n {
            if !msgs.is_empty() && self.rng.chance(0.2) {
                f = self.rng.weighted(&folder_weights());
            }
            let newest_in_folder = newest * FOLDERS[f].2 as u64 / 100;
            let back = (-(1.0 - self.rng.unit()).ln() * 25.0) as u64;
            msgs.push((f, newest_in_folder.saturating_sub(back)));
        }
        // One Folders[] entry per folder, in order of first appearance.
        let mut order: Vec<usize> = Vec::new();
        for &(f, _) in &msgs {
            if !order.contains(&f) {
                order.push(f);
            }
        }
        let seed = self.opts.seed;
        let j = &mut self.j;
        j.key("Folders");
        j.arr();
        for f in order {
            j.obj();
            j.key("FolderItems");
            j.arr();
            for &(_, k) in msgs.iter().filter(|m| m.0 == f) {
                let hm = h(&[seed, 30, a.mailbox as u64, f as u64, k]);
                j.obj();
                j.message_id("InternetMessageId", hm);
                j.n("SizeInBytes", message_size(hm) as i64);
                j.end_obj();
            }
            j.end_arr();
            j.folder_id("Id", h(&[seed, 31, a.mailbox as u64, f as u64]));
            j.s("Path", FOLDERS[f].0);
            j.end_obj();
        }
        j.end_arr();
        let extra = if self.rng.chance(0.3) {
            self.rng.below(4)
        } else {
            0
        };
        j.n("OperationCount", (n as u64 + extra) as i64);
        j.end_obj();
        self.sum.mail_items_accessed += 1;
        self.sum.bind += 1;
        if a.throttled {
            self.sum.throttled += 1;
        }
        meta
    }

    fn mail_sync(&mut self, t: i64, a: &Access<'_>, f: usize, item_shape: bool) -> Meta {
        let meta = self.access_head(t, a, "Sync");
        let fid = h(&[self.opts.seed, 31, a.mailbox as u64, f as u64]);
        let j = &mut self.j;
        if item_shape {
            // See: ../shared/samples/b-sync-item-parentfolder-RECONSTRUCTED.json
            j.key("Item");
            j.obj();
            j.folder_id("Id", fid);
            j.key("ParentFolder");
            j.obj();
            j.folder_id("Id", fid);
            j.s("Name", FOLDERS[f].1);
            j.s("Path", FOLDERS[f].0);
            j.end_obj();
            j.end_obj();
        } else {
            // See: ../shared/samples/b-sync-folders-variant-RECONSTRUCTED.json
            j.key("Folders");
            j.arr();
            j.obj();
            j.folder_id("Id", fid);
            j.s("Path", FOLDERS[f].0);
            j.end_obj();
            j.end_arr();
        }
        j.end_obj();
        self.sum.mail_items_accessed += 1;
        self.sum.sync += 1;
        meta
    }

    fn mailbox_login(&mut self, t: i64, u: usize, ip: Ip, info: &str, session: u128) -> Meta {
        let meta = self.exchange_head(t, "MailboxLogin", 2, u);
        let style = self.rng.next();
        self.j.ip("ClientIPAddress", ip, style);
        self.j.s("ClientInfoString", info);
        self.mailbox_fields(u, u, 0);
        let j = &mut self.j;
        j.s("OrganizationName", ORG_NAME);
        j.s("OriginatingServer", &self.users[u].server);
        j.guid("SessionId", session);
        j.end_obj();
        meta
    }

    fn send(&mut self, t: i64, u: usize, ip: Ip, c: Client, session: u128) -> Meta {
        let meta = self.exchange_head(t, "Send", 2, u);
        let style = self.rng.next();
        let msg = self.rng.next();
        let subject = self.subject();
        let seed = self.opts.seed;
        self.j.ip("ClientIPAddress", ip, style);
        self.j.s("ClientInfoString", c.info());
        self.mailbox_fields(u, u, 0);
        let j = &mut self.j;
        j.key("Item");
        j.obj();
        j.folder_id("Id", msg);
        j.message_id("InternetMessageId", msg);
        j.key("ParentFolder");
        j.obj();
        j.folder_id("Id", h(&[seed, 31, u as u64, 1]));
        j.s("Path", "\\Sent Items");
        j.end_obj();
        j.n("SizeInBytes", message_size(msg) as i64);
        j.s("Subject", &subject);
        j.end_obj();
        j.s("OrganizationName", ORG_NAME);
        j.s("OriginatingServer", &self.users[u].server);
        j.guid("SessionId", session);
        j.end_obj();
        meta
    }

    fn soft_delete(&mut self, t: i64) -> Meta {
        let u = self.pick_user();
        let c = self.pick_client(u);
        let ip = self.ip_for(u, c, t);
        let meta = self.exchange_head(t, "SoftDelete", 3, u);
        let style = self.rng.next();
        let msg = self.rng.next();
        let subject = self.subject();
        let seed = self.opts.seed;
        let session = self.session_for(u, c, t);
        self.j.ip("ClientIPAddress", ip, style);
        self.j.s("ClientInfoString", c.info());
        self.mailbox_fields(u, u, 0);
        let j = &mut self.j;
        j.s("OrganizationName", ORG_NAME);
        j.s("OriginatingServer", &self.users[u].server);
        j.guid("SessionId", session);
        j.key("AffectedItems");
        j.arr();
        j.obj();
        j.folder_id("Id", msg);
        j.message_id("InternetMessageId", msg);
        j.key("ParentFolder");
        j.obj();
        j.folder_id("Id", h(&[seed, 31, u as u64, 0]));
        j.s("Path", "\\Inbox");
        j.end_obj();
        j.s("Subject", &subject);
        j.end_obj();
        j.end_arr();
        j.b("CrossMailboxOperation", false);
        j.key("Folder");
        j.obj();
        j.folder_id("Id", h(&[seed, 31, u as u64, 0]));
        j.s("Path", "\\Inbox");
        j.end_obj();
        j.end_obj();
        meta
    }

    fn new_inbox_rule(&mut self, t: i64, u: usize, ip: Ip, malicious: bool) -> Meta {
        let id = self.rng.guid();
        let style = self.rng.next();
        let session = self.rng.guid();
        let user = &self.users[u];
        let j = &mut self.j;
        j.head(Head {
            t,
            id,
            op: "New-InboxRule",
            org: self.org_id,
            record_type: 1,
            result: Some("True"),
            user_key: UserKey::Hex(user.key),
            workload: "Exchange",
        });
        j.ip("ClientIP", ip, style);
        let (name, params): (&str, &[(&str, &str)]) = if malicious {
            (
                ".",
                &[
                    ("SubjectOrBodyContainsWords", "invoice;payment;wire;bank"),
                    ("MoveToFolder", "RSS Feeds"),
                    ("MarkAsRead", "True"),
                    ("StopProcessingRules", "True"),
                ],
            )
        } else {
            (
                "Newsletters",
                &[
                    ("FromAddressContainsWords", "newsletter"),
                    ("MoveToFolder", "Newsletters"),
                ],
            )
        };
        let object_id = format!("{}\\{name}", user.upn);
        j.s("ObjectId", &object_id);
        j.s("UserId", &user.upn);
        j.s("AppId", "00000002-0000-0ff1-ce00-000000000000");
        j.s("ClientAppId", "");
        j.b("ExternalAccess", false);
        j.s("OrganizationName", ORG_NAME);
        j.s("OriginatingServer", &user.server);
        j.key("Parameters");
        j.arr();
        j.obj();
        j.s("Name", "AlwaysDeleteOutlookRulesBlob");
        j.s("Value", "False");
        j.end_obj();
        j.obj();
        j.s("Name", "Force");
        j.s("Value", "False");
        j.end_obj();
        j.obj();
        j.s("Name", "Name");
        j.s("Value", name);
        j.end_obj();
        for (k, v) in params {
            j.obj();
            j.s("Name", k);
            j.s("Value", v);
            j.end_obj();
        }
        j.end_arr();
        j.guid("SessionId", session);
        j.end_obj();
        Meta {
            id,
            time: t,
            record_type: 1,
            operation: "New-InboxRule",
            user: u,
        }
    }

    fn user_logged_in(&mut self, t: i64, u: usize, ip: Ip, agent: &str, app: &str) -> Meta {
        let id = self.rng.guid();
        let inter = self.rng.guid();
        let intra = self.rng.guid();
        let user = &self.users[u];
        let j = &mut self.j;
        j.head(Head {
            t,
            id,
            op: "UserLoggedIn",
            org: self.org_id,
            record_type: 15,
            result: Some("Success"),
            user_key: UserKey::Guid(user.object_id),
            workload: "AzureActiveDirectory",
        });
        j.ip("ClientIP", ip, 0);
        j.s("ObjectId", "00000002-0000-0ff1-ce00-000000000000");
        j.s("UserId", &user.upn);
        j.n("AzureActiveDirectoryEventType", 1);
        j.key("ExtendedProperties");
        j.arr();
        for (k, v) in [
            ("ResultStatusDetail", "Redirect"),
            ("UserAgent", agent),
            ("RequestType", "OAuth2:Authorize"),
        ] {
            j.obj();
            j.s("Name", k);
            j.s("Value", v);
            j.end_obj();
        }
        j.end_arr();
        j.key("ModifiedProperties");
        j.arr();
        j.end_arr();
        j.key("Actor");
        j.arr();
        j.obj();
        j.guid("ID", user.object_id);
        j.n("Type", 0);
        j.end_obj();
        j.obj();
        j.s("ID", &user.upn);
        j.n("Type", 5);
        j.end_obj();
        j.end_arr();
        j.guid("ActorContextId", self.tenant_id);
        j.ip("ActorIpAddress", ip, 0);
        j.guid("InterSystemsId", inter);
        j.guid("IntraSystemId", intra);
        j.s("SupportTicketId", "");
        j.key("Target");
        j.arr();
        j.obj();
        j.s("ID", "00000002-0000-0ff1-ce00-000000000000");
        j.n("Type", 0);
        j.end_obj();
        j.end_arr();
        j.guid("TargetContextId", self.tenant_id);
        j.s("ApplicationId", app);
        j.key("DeviceProperties");
        j.arr();
        for (k, v) in [
            (
                "OS",
                if agent.contains("Windows") {
                    "Windows10"
                } else {
                    "Other"
                },
            ),
            (
                "BrowserType",
                if agent.contains("Edg/") {
                    "Edge"
                } else {
                    "Other"
                },
            ),
            ("IsCompliantAndManaged", "False"),
            ("SessionId", "00000000-0000-0000-0000-000000000000"),
        ] {
            j.obj();
            j.s("Name", k);
            j.s("Value", v);
            j.end_obj();
        }
        j.end_arr();
        j.s("ErrorNumber", "0");
        j.end_obj();
        Meta {
            id,
            time: t,
            record_type: 15,
            operation: "UserLoggedIn",
            user: u,
        }
    }

    fn file_op(&mut self, t: i64, op: &'static str) -> Meta {
        let u = self.pick_user();
        let c = self.pick_client(u);
        let ip = self.ip_for(u, c, t);
        let id = self.rng.guid();
        let doc = self.rng.below(5000);
        let ids = [
            self.rng.guid(),
            self.rng.guid(),
            self.rng.guid(),
            self.rng.guid(),
        ];
        let user = &self.users[u];
        let site_user = user.upn.replace(['.', '@'], "_");
        let ext = ["docx", "xlsx", "pptx", "pdf"][(doc % 4) as usize];
        let file = format!("{} {}.{ext}", SUBJECT_WORDS[(doc % 24) as usize], doc);
        let site = format!("https://contoso-my.sharepoint.com/personal/{site_user}/");
        let rel = "Documents/Shared";
        let object = format!("{site}{rel}/{file}");
        let j = &mut self.j;
        j.head(Head {
            t,
            id,
            op,
            org: self.org_id,
            record_type: 6,
            result: None,
            user_key: UserKey::Hex(user.key),
            workload: "OneDrive",
        });
        j.ip("ClientIP", ip, 0);
        j.s("UserId", &user.upn);
        j.guid("CorrelationId", ids[0]);
        j.s("EventSource", "SharePoint");
        j.s("ItemType", "File");
        j.guid("ListId", ids[1]);
        j.guid("ListItemUniqueId", ids[2]);
        j.guid("Site", h128(&[self.opts.seed, 40, u as u64]));
        j.s("UserAgent", c.user_agent());
        j.guid("WebId", ids[3]);
        j.s("ApplicationDisplayName", "Microsoft Office");
        j.s("AuthenticationType", "OAuth");
        j.s("BrowserName", "Edge");
        j.s("DeviceDisplayName", "");
        j.b("DoNotDistributeEvent", true);
        j.b("FromApp", false);
        j.s("GeoLocation", "EUR");
        j.b("IsManagedDevice", false);
        j.s("Platform", "WinDesktop");
        j.s("SourceFileExtension", ext);
        j.s("SiteUrl", &site);
        j.s("SourceFileName", &file);
        j.s("SourceRelativeUrl", rel);
        j.s("ObjectId", &object);
        j.end_obj();
        Meta {
            id,
            time: t,
            record_type: 6,
            operation: op,
            user: u,
        }
    }

    fn subject(&mut self) -> String {
        let n = 2 + self.rng.below(4);
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(SUBJECT_WORDS[self.rng.below(24) as usize]);
        }
        s
    }
}

/// Relative activity in an hour of the week (hour 0 = Monday 00:00 UTC, as `start_day`
/// defaults to a Monday): busy working hours, quiet nights and weekends.
fn rate_at_hour(hour_of_week: i64) -> f64 {
    let day = hour_of_week / 24;
    let hour = hour_of_week % 24;
    let base = match hour {
        0..=5 => 0.15,
        6 | 7 => 0.8,
        8..=17 => 2.0,
        18..=21 => 0.9,
        _ => 0.35,
    };
    if day >= 5 { base * 0.3 } else { base }
}

fn make_user(seed: u64, i: usize) -> User {
    let x = |tag: u64| h(&[seed, 100, i as u64, tag]);
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    let upn = if i < FIRST.len() * LAST.len() {
        format!("{first}.{last}@{DOMAIN}")
    } else {
        format!("{first}.{last}{}@{DOMAIN}", i / (FIRST.len() * LAST.len()))
    };
    let r = x(1);
    let home = if r % 5 == 0 {
        let a = x(2);
        Ip::V6([
            0x2a02,
            0x0c7c + (a & 0xff) as u16,
            (a >> 8) as u16,
            (a >> 24) as u16,
            (a >> 40) as u16,
            (x(3) & 0xffff) as u16,
            (x(3) >> 16) as u16,
            (x(3) >> 32) as u16,
        ])
    } else {
        let a = x(2);
        Ip::V4([
            [81, 86, 92, 109, 176, 213][(a % 6) as usize],
            (a >> 8) as u8,
            (a >> 16) as u8,
            1 + ((a >> 24) as u8 % 254),
        ])
    };
    let m = x(4);
    let mobile = Ip::V6([
        0x2a01,
        0x0598 + (m & 0xf) as u16,
        (m >> 8) as u16,
        (m >> 24) as u16,
        (m >> 40) as u16,
        (x(5) & 0xffff) as u16,
        (x(5) >> 16) as u16,
        (x(5) >> 32) as u16,
    ]);
    let mut clients = vec![Client::OutlookDesktop];
    let c = x(6);
    for (bit, client) in Client::ALL.iter().enumerate().skip(1) {
        if (c >> (bit * 8)) & 0xff < [0, 140, 100, 60, 70, 25][bit] {
            clients.push(*client);
        }
    }
    if c & 0xff < 40 {
        // Some users never use the desktop client (no sync records from them).
        clients.remove(0);
        if clients.is_empty() {
            clients.push(Client::Owa);
        }
    }
    let sid = format!(
        "S-1-5-21-{}-{}-{}-{}",
        1_000_000_000 + seed % 1_000_000_000,
        2_000_000_000 + (seed / 7) % 1_000_000_000,
        3_000_000_000u64 + (seed / 13) % 1_000_000_000,
        26_000_000 + i as u64
    );
    let s = x(7);
    let server = format!(
        "{}PR{:02}MB{:04} (15.20.{}.{:03})\r\n",
        ["DB7", "AM6", "BY5", "DM6", "SN6", "VI1"][(s % 6) as usize],
        (s >> 8) % 20,
        (s >> 16) % 10_000,
        7_400 + (s >> 32) % 200,
        (s >> 48) % 100
    );
    User {
        upn,
        key: x(8) & 0x0000_FFFF_FFFF_FFFF | 0x1003_0000_0000_0000,
        object_id: h128(&[seed, 101, i as u64]),
        sid,
        mailbox_guid: h128(&[seed, 102, i as u64]),
        server,
        home,
        mobile,
        clients,
        base_messages: 2_000 + x(9) % 20_000,
        per_day: 20 + x(10) % 120,
    }
}

fn office_ip(k: u64) -> Ip {
    match k {
        0 => Ip::V4([20, 61, 12, 7]),
        1 => Ip::V4([20, 61, 12, 8]),
        2 => Ip::V4([52, 138, 201, 33]),
        _ => Ip::V6([0x2603, 0x1026, 0x0c04, 0x0d2a, 0, 0, 0, 0x12]),
    }
}

fn message_size(hm: u64) -> u64 {
    // Log-uniform-ish between ~2 KB and ~4 MB.
    let e = 11 + (hm >> 40) % 11;
    (1u64 << e) + (hm & ((1u64 << e) - 1))
}

fn guid_string(g: u128) -> String {
    let mut v = Vec::with_capacity(36);
    push_guid(&mut v, g);
    String::from_utf8_lossy(&v).into_owned()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_guid(out: &mut Vec<u8>, g: u128) {
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push(b'-');
        }
        out.push(HEX[((g >> (124 - 4 * i)) & 0xf) as usize]);
    }
}

fn iso(t: i64) -> String {
    let mut v = Vec::with_capacity(19);
    push_time(&mut v, t);
    String::from_utf8_lossy(&v).into_owned()
}

/// `CreationTime` as AuditData writes it: UTC, no zone, no fraction.
fn push_time(out: &mut Vec<u8>, t: i64) {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let sod = t.rem_euclid(86_400);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
}

/// A minimal JSON writer for the records above: objects and arrays with commas handled,
/// strings escaped.
#[derive(Default)]
struct Json {
    buf: Vec<u8>,
    /// One entry per open object or array: true until its first member is written.
    first: Vec<bool>,
    after_key: bool,
}

/// How a record writes its `UserKey`.
enum UserKey {
    Hex(u64),
    Guid(u128),
}

/// The fields every audit record starts with, in the samples' order.
struct Head<'a> {
    t: i64,
    id: u128,
    op: &'a str,
    org: u128,
    record_type: i64,
    /// `None`: the record has no ResultStatus (SharePoint/OneDrive file events).
    result: Option<&'a str>,
    user_key: UserKey,
    workload: &'a str,
}

impl Json {
    /// Starts a record with its [`Head`] fields.
    fn head(&mut self, h: Head<'_>) {
        self.clear();
        self.obj();
        self.time("CreationTime", h.t);
        self.guid("Id", h.id);
        self.s("Operation", h.op);
        self.guid("OrganizationId", h.org);
        self.n("RecordType", h.record_type);
        if let Some(r) = h.result {
            self.s("ResultStatus", r);
        }
        match h.user_key {
            UserKey::Hex(k) => self.hex16("UserKey", k),
            UserKey::Guid(g) => self.guid("UserKey", g),
        }
        self.n("UserType", 0);
        self.n("Version", 1);
        self.s("Workload", h.workload);
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.first.clear();
        self.after_key = false;
    }
    fn sep(&mut self) {
        if self.after_key {
            self.after_key = false;
        } else if let Some(f) = self.first.last_mut() {
            if *f {
                *f = false;
            } else {
                self.buf.push(b',');
            }
        }
    }
    fn obj(&mut self) {
        self.sep();
        self.buf.push(b'{');
        self.first.push(true);
    }
    fn end_obj(&mut self) {
        self.first.pop();
        self.buf.push(b'}');
    }
    fn arr(&mut self) {
        self.sep();
        self.buf.push(b'[');
        self.first.push(true);
    }
    fn end_arr(&mut self) {
        self.first.pop();
        self.buf.push(b']');
    }
    fn key(&mut self, k: &str) {
        self.sep();
        self.str_value(k);
        self.buf.push(b':');
        self.after_key = true;
    }
    fn str_value(&mut self, v: &str) {
        self.buf.push(b'"');
        for &b in v.as_bytes() {
            match b {
                b'"' => self.buf.extend_from_slice(b"\\\""),
                b'\\' => self.buf.extend_from_slice(b"\\\\"),
                b'\n' => self.buf.extend_from_slice(b"\\n"),
                b'\r' => self.buf.extend_from_slice(b"\\r"),
                0..=0x1f => {
                    let _ = write!(self.buf, "\\u{b:04x}");
                }
                _ => self.buf.push(b),
            }
        }
        self.buf.push(b'"');
    }
    fn s(&mut self, k: &str, v: &str) {
        self.key(k);
        self.sep();
        self.str_value(v);
    }
    fn n(&mut self, k: &str, v: i64) {
        self.key(k);
        self.sep();
        let _ = write!(self.buf, "{v}");
    }
    fn b(&mut self, k: &str, v: bool) {
        self.key(k);
        self.sep();
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }
    fn guid(&mut self, k: &str, g: u128) {
        self.key(k);
        self.sep();
        self.buf.push(b'"');
        push_guid(&mut self.buf, g);
        self.buf.push(b'"');
    }
    fn hex16(&mut self, k: &str, v: u64) {
        self.key(k);
        self.sep();
        let _ = write!(self.buf, "\"{v:016X}\"");
    }
    fn time(&mut self, k: &str, t: i64) {
        self.key(k);
        self.sep();
        self.buf.push(b'"');
        push_time(&mut self.buf, t);
        self.buf.push(b'"');
    }
    /// An opaque token like `AppAccessContext.UniqueTokenId` (base64url-looking).
    fn token(&mut self, k: &str, v: u64) {
        const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        self.key(k);
        self.sep();
        self.buf.push(b'"');
        let mut x = v;
        for i in 0..22 {
            if i == 11 {
                x = mix(v ^ 0xABCD);
            }
            self.buf.push(B64[(x & 63) as usize]);
            x >>= 6;
        }
        self.buf.push(b'"');
    }
    /// An Exchange folder or item id (`LgAAAAA...`), derived from `v`.
    fn folder_id(&mut self, k: &str, v: u64) {
        const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        self.key(k);
        self.sep();
        self.buf.extend_from_slice(b"\"LgAAAAA");
        let mut x = v;
        for i in 0..57 {
            if i % 10 == 0 {
                x = mix(v.wrapping_add(i as u64));
            }
            self.buf.push(B64[(x & 63) as usize]);
            x >>= 6;
        }
        self.buf.extend_from_slice(b"AAAB\"");
    }
    /// A plausible InternetMessageId derived from `hm`: Exchange Online, Gmail or GUID style;
    /// a few without angle brackets (as in a-bind-office365itpros.json).
    fn message_id(&mut self, k: &str, hm: u64) {
        self.key(k);
        self.sep();
        let bracket = !(hm >> 56).is_multiple_of(20);
        self.buf.push(b'"');
        if bracket {
            self.buf.push(b'<');
        }
        let x = mix(hm);
        match hm % 10 {
            0..=5 => {
                let host = format!(
                    "{}PR{:02}MB{:04}",
                    ["DB7", "AM6", "BY5", "DM6", "SN6", "VI1", "PH0", "CH3"][(x % 8) as usize],
                    (x >> 8) % 20,
                    (x >> 16) % 10_000
                );
                let _ = write!(
                    self.buf,
                    "{host}{:016X}{:08X}@{host}.{}.prod.outlook.com",
                    mix(x),
                    (x >> 32) as u32,
                    ["namprd11", "eurprd04", "namprd04", "apcprd06"][((x >> 40) % 4) as usize]
                );
            }
            6 | 7 => {
                self.buf.extend_from_slice(b"CA+");
                let mut y = mix(x ^ 1);
                for i in 0..40 {
                    if i == 20 {
                        y = mix(x ^ 2);
                    }
                    self.buf.push(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+="
                            [(y & 63) as usize],
                    );
                    y >>= 3;
                }
                self.buf.extend_from_slice(b"@mail.gmail.com");
            }
            _ => {
                push_guid(&mut self.buf, ((x as u128) << 64) | mix(x ^ 3) as u128);
                let _ = write!(
                    self.buf,
                    "@{}",
                    [
                        "az.westeurope.production.microsoft.com",
                        "contoso.com",
                        "mailer.example.net"
                    ][((x >> 50) % 3) as usize]
                );
            }
        }
        if bracket {
            self.buf.push(b'>');
        }
        self.buf.push(b'"');
    }
    /// A client IP in one of the notations exports use: v4, v4:port, v6, [v6]:port.
    fn ip(&mut self, k: &str, ip: Ip, style: u64) {
        self.key(k);
        self.sep();
        self.buf.push(b'"');
        let port = 1024 + (style >> 16) % 64_000;
        match ip {
            Ip::V4(a) => {
                let _ = write!(self.buf, "{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
                if style % 3 == 1 {
                    let _ = write!(self.buf, ":{port}");
                }
            }
            Ip::V6(s) => {
                let text = std::net::Ipv6Addr::from(s).to_string();
                if style % 3 == 1 {
                    let _ = write!(self.buf, "[{text}]:{port}");
                } else {
                    self.buf.extend_from_slice(text.as_bytes());
                }
            }
        }
        self.buf.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Options, ingest};
    use crate::input::InputPath;

    fn gen_bytes(opts: &GenerateOptions) -> (Vec<u8>, GenerateSummary) {
        let mut out = Vec::new();
        let s = generate(opts, &mut out).expect("generate");
        (out, s)
    }

    fn opts(size: u64, format: GenFormat) -> GenerateOptions {
        GenerateOptions {
            size,
            format,
            users: 50,
            days: 7,
            ..GenerateOptions::default()
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        for format in [
            GenFormat::Ndjson,
            GenFormat::PurviewCsv,
            GenFormat::NdjsonZst,
        ] {
            let o = opts(300_000, format);
            let (a, sa) = gen_bytes(&o);
            let (b, sb) = gen_bytes(&o);
            assert!(a == b, "{format:?}: same seed gave different bytes");
            assert_eq!(sa, sb);
            let (c, _) = gen_bytes(&GenerateOptions { seed: 2, ..o });
            assert!(a != c, "{format:?}: another seed gave the same bytes");
        }
    }

    #[test]
    fn zst_decompresses_to_the_ndjson() {
        let (plain, sp) = gen_bytes(&opts(300_000, GenFormat::Ndjson));
        let (zst, sz) = gen_bytes(&opts(300_000, GenFormat::NdjsonZst));
        assert_eq!(sp, sz);
        let un = zstd::decode_all(&zst[..]).expect("zstd");
        assert!(un == plain);
        assert!(
            zst.len() < plain.len() / 3,
            "{} of {}",
            zst.len(),
            plain.len()
        );
    }

    #[test]
    fn size_is_reached_and_lines_are_realistic() {
        let (out, s) = gen_bytes(&opts(2_000_000, GenFormat::Ndjson));
        assert_eq!(s.bytes, out.len() as u64);
        assert!(s.bytes >= 2_000_000 && s.bytes < 2_010_000, "{}", s.bytes);
        let lines = out.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(lines, s.lines);
        let avg = s.bytes / s.lines;
        assert!((1300..1600).contains(&avg), "average line {avg} bytes");
        let share = s.mail_items_accessed as f64 / s.records as f64;
        assert!(
            (0.65..0.75).contains(&share),
            "MailItemsAccessed share {share}"
        );
        let dup = s.duplicates as f64 / s.lines as f64;
        assert!((0.005..0.015).contains(&dup), "duplicate share {dup}");
        assert!(s.sync > 0 && s.bind > 0);
    }

    /// An export spans about the days asked for, small ones too: the background records'
    /// gaps were drawn whole at the rate of the hour they started in, and against the week's
    /// mean rate, so 2 MB over 30 days spanned 38.6 days and over one weekday ended at 17:00.
    #[test]
    fn small_exports_span_the_days_asked_for() {
        for (days, within) in [(1, 0.8..1.5), (7, 0.9..1.1), (30, 0.9..1.1)] {
            for seed in 1..=3 {
                let o = GenerateOptions {
                    days,
                    seed,
                    ..opts(2_000_000, GenFormat::Ndjson)
                };
                let (_, s) = gen_bytes(&o);
                let t = |s: &str| crate::parse::fields::parse_iso_time(s).expect("summary time");
                let span = (t(&s.last_time) - t(&s.first_time)) as f64 / 86_400e9;
                assert!(
                    within.contains(&(span / days as f64)),
                    "--days {days} --seed {seed}: {span:.2} days ({} .. {})",
                    s.first_time,
                    s.last_time
                );
            }
        }
    }

    #[test]
    fn parse_size_units() {
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5 MB"), Ok(1_500_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("64k"), Ok(64_000));
        assert_eq!(parse_size("12345"), Ok(12_345));
        assert!(parse_size("2XB").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("0").is_err());
    }

    /// Generates, writes to a temp file, ingests, and checks the counts ingest finds
    /// against the plan.
    fn check_ingest(o: &GenerateOptions) -> GenerateSummary {
        let (bytes, s) = gen_bytes(o);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gen.out");
        std::fs::write(&path, &bytes).expect("write");
        let opts = Options {
            threads: 2,
            hash: false,
            chunk_bytes: 256 << 10,
            ..Options::default()
        };
        let ing = ingest(&[InputPath::File(path)], &opts).expect("ingest");
        assert_eq!(
            ing.malformed_total(),
            0,
            "{:?}: malformed {:?} {:?}",
            o.format,
            ing.malformed,
            ing.malformed_examples.first()
        );
        assert!(ing.files.iter().all(|f| f.error.is_none()));
        assert_eq!(ing.read, s.lines, "{:?}", o.format);
        assert_eq!(ing.duplicates, s.duplicates, "{:?}", o.format);
        assert_eq!(ing.records.len() as u64, s.records);
        let mia: Vec<_> = ing.records.iter().filter_map(|r| r.mail.as_ref()).collect();
        assert_eq!(mia.len() as u64, s.mail_items_accessed);
        let binds = mia
            .iter()
            .filter(|m| m.access == crate::model::AccessType::Bind)
            .count() as u64;
        let syncs = mia
            .iter()
            .filter(|m| m.access == crate::model::AccessType::Sync)
            .count() as u64;
        assert_eq!((binds, syncs), (s.bind, s.sync));
        assert!(
            mia.iter()
                .all(|m| m.access != crate::model::AccessType::Sync || m.synced_folder.is_some())
        );
        let throttled = mia.iter().filter(|m| m.throttled).count() as u64;
        assert_eq!(throttled, s.throttled);
        let mut by_op = BTreeMap::new();
        for r in &ing.records {
            *by_op.entry(r.operation.to_string()).or_insert(0u64) += 1;
        }
        assert_eq!(by_op, s.by_operation);
        if let Some(a) = &s.attacker {
            let theirs: Vec<_> = ing
                .records
                .iter()
                .filter_map(|r| r.mail.as_ref().map(|m| (r, m)))
                .filter(|(_, m)| m.session_id == a.session_id)
                .collect();
            assert_eq!(theirs.len() as u64, a.mail_items_accessed);
            assert!(theirs.iter().all(|(_, m)| m.client_ip == a.ip));
            assert!(theirs.iter().all(|(r, _)| r.user == a.account));
            let mut boxes: Vec<_> = theirs.iter().map(|(r, _)| r.mailbox).collect();
            boxes.sort();
            boxes.dedup();
            let mut want = a.mailboxes.clone();
            want.sort();
            assert_eq!(boxes, want);
            let listed: u64 = theirs.iter().map(|(_, m)| m.items().count() as u64).sum();
            assert_eq!(listed, a.messages_listed);
        }
        s
    }

    #[test]
    fn every_line_ingests_ndjson() {
        let s = check_ingest(&opts(1_000_000, GenFormat::Ndjson));
        assert!(s.duplicates > 0 && s.throttled == 0 && s.attacker.is_none());
    }

    #[test]
    fn every_line_ingests_csv_and_zst() {
        for format in [GenFormat::PurviewCsv, GenFormat::NdjsonZst] {
            let s = check_ingest(&GenerateOptions {
                attacker: true,
                ..opts(600_000, format)
            });
            assert!(s.duplicates > 0);
        }
    }

    #[test]
    fn throttled_mailbox_and_attacker_are_planted() {
        let s = check_ingest(&GenerateOptions {
            attacker: true,
            ..opts(THROTTLE_MIN_SIZE + 500_000, GenFormat::Ndjson)
        });
        assert_eq!(s.throttled, 1);
        assert!(s.throttled_mailbox.is_some());
        let a = s.attacker.expect("attacker planted");
        assert_eq!(a.mail_items_accessed, 102);
        assert_eq!(a.syncs, 2);
        assert_eq!(a.records, 106);
    }
}
