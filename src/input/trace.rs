//! Message-trace exports, for joining sender, recipients, subject and received time to the
//! exposed messages: Get-MessageTrace / Get-MessageTraceV2 | Export-Csv, and the portal's
//! extended report (UTF-16LE, often without a BOM; one row per transport event).
//! See: ../shared/samples/h-*.

use super::decode::{Compression, Encoding, Utf16Reader, decompress, read_up_to, with_prefix};
use crate::error::{Error, Result};
use crate::model::Nanos;
use crate::parse::fields::{DateOrder, normalize_message_id, parse_time_ordered};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

/// What message trace says about one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceEntry {
    pub sender: BTreeSet<String>,
    pub recipients: BTreeSet<String>,
    pub subject: String,
    /// The earliest received time among its rows.
    pub received: Option<Nanos>,
}

/// Message trace of one or more files, keyed by normalized InternetMessageId.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub messages: BTreeMap<String, TraceEntry>,
    /// The first and last received time seen: what the trace covers.
    pub first: Option<Nanos>,
    pub last: Option<Nanos>,
    pub files: Vec<TraceFile>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceFile {
    pub path: String,
    pub sha256: String,
    pub encoding: Encoding,
    pub rows: u64,
    /// Rows without a message id, or that could not be read.
    pub skipped_rows: u64,
    /// How dates such as `5/6/2024` were read, and why: `mdy` or `dmy`, then `(given)` by
    /// `--date-order`, `(from the file)` when one of its dates can only be read that way, or
    /// `(default)` (Exchange Online PowerShell writes US dates unless the machine says
    /// otherwise). ISO times are not affected.
    pub date_order: String,
    /// Received times that no reading accepts (not a time in any known form, such as
    /// `13th of May`): their messages have no received time from this file.
    pub unreadable_dates: u64,
    /// The first of them, as written.
    pub unreadable_date_example: Option<String>,
    /// With `--date-order`, a date of the file that can only be read in the other order
    /// (`13/05/2024` when month first was given), and none that shows the given one: the
    /// file's ambiguous dates were read as asked, probably a month off.
    pub contradicting_date: Option<String>,
}

impl TraceFile {
    /// What an investigator must be told about this file on stderr: rows left out, a
    /// `--date-order` its dates contradict, and received times that could not be read.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.skipped_rows > 0 {
            out.push(format!(
                "--trace {}: {} of {} row(s) left out (no message id, or not a CSV row)",
                self.path, self.skipped_rows, self.rows
            ));
        }
        if let Some(date) = &self.contradicting_date {
            let (given, other) = if self.date_order.starts_with("dmy") {
                ("day first", "month first")
            } else {
                ("month first", "day first")
            };
            out.push(format!(
                "--trace {}: --date-order says {given}, but the file writes '{date}', which \
                 can only be {other}: its ambiguous dates (such as 5/6/2024) were read {given}, \
                 as asked",
                self.path
            ));
        }
        if let Some(example) = &self.unreadable_date_example {
            out.push(format!(
                "--trace {}: {} received time(s) could not be read as a time, e.g. \
                 '{example}': their messages have no received time from this file",
                self.path, self.unreadable_dates
            ));
        }
        out
    }
}

fn column(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
}

impl Trace {
    /// Reads a trace file in any of the known shapes. Locale dates are read in `order` when
    /// given; otherwise in the order the file's unambiguous dates show (an error when they
    /// show both), or month first.
    pub fn read_file(&mut self, path: &Path, order: Option<DateOrder>) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            source: e,
        })?;
        let sha256 = super::decode::sha256_hex(&bytes);
        let bad = |m: String| Error::Usage(format!("--trace {}: {m}", path.display()));
        let mut r: Box<dyn Read + Send> = decompress(
            Compression::sniff(&bytes),
            Box::new(std::io::Cursor::new(bytes)),
        )
        .map_err(|e| bad(e.to_string()))?;
        let head = read_up_to(&mut r, 4096).map_err(|e| bad(e.to_string()))?;
        let encoding = Encoding::sniff(&head);
        let mut r = with_prefix(head, r);
        if encoding.is_utf16() {
            r = Box::new(Utf16Reader::new(r));
        }
        let mut text = String::new();
        r.read_to_string(&mut text)
            .map_err(|e| bad(format!("not text: {e}")))?;
        let text = text.trim_start_matches('\u{feff}');
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let id = column(
            &header,
            &["MessageId", "message_id", "Message ID", "InternetMessageId"],
        )
        .ok_or_else(|| bad("no MessageId / message_id column: not a message trace".into()))?;
        let received = column(
            &header,
            &[
                "Received",
                "date_time_utc",
                "origin_timestamp_utc",
                "Date",
                "Timestamp",
            ],
        );
        let sender = column(&header, &["SenderAddress", "sender_address", "Sender"]);
        let recipient = column(
            &header,
            &["RecipientAddress", "recipient_address", "Recipient"],
        );
        let recipient_status = column(&header, &["recipient_status"]);
        let subject = column(&header, &["Subject", "message_subject"]);
        let mut file = TraceFile {
            path: path.display().to_string(),
            sha256,
            encoding,
            rows: 0,
            skipped_rows: 0,
            date_order: String::new(),
            unreadable_dates: 0,
            unreadable_date_example: None,
            contradicting_date: None,
        };
        // Received times are read once the whole file has shown its date order.
        let mut received_at: Vec<(String, String)> = Vec::new();
        for row in rdr.records() {
            file.rows += 1;
            let Ok(row) = row else {
                file.skipped_rows += 1;
                continue;
            };
            let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).unwrap_or("").trim();
            let mid = normalize_message_id(cell(Some(id)));
            if mid.is_empty() {
                file.skipped_rows += 1;
                continue;
            }
            let e = self.messages.entry(mid.clone()).or_default();
            let s = cell(sender).to_lowercase();
            if !s.is_empty() {
                e.sender.insert(s);
            }
            let rc = cell(recipient);
            if !rc.is_empty() {
                e.recipients
                    .extend(rc.split([';', ',']).map(|a| a.trim().to_lowercase()));
            } else {
                // Historical search: "user@contoso.com##Receive, Deliver;other@...##..."
                for part in cell(recipient_status).split(';') {
                    let addr = part.split("##").next().unwrap_or("").trim();
                    if addr.contains('@') {
                        e.recipients.insert(addr.to_lowercase());
                    }
                }
            }
            e.recipients.remove("");
            if e.subject.is_empty() {
                e.subject = cell(subject).to_string();
            }
            if !cell(received).is_empty() {
                received_at.push((mid, cell(received).to_string()));
            }
        }
        let shown = |o: DateOrder| {
            received_at
                .iter()
                .map(|(_, t)| t)
                .find(|t| locale_date_order(t) == Some(o))
        };
        let (month_first, day_first) = (shown(DateOrder::MonthFirst), shown(DateOrder::DayFirst));
        let (order, why) = match (order, month_first, day_first) {
            (Some(o), _, _) => (o, "given"),
            (None, Some(_), Some(_)) => {
                return Err(bad(
                    "its dates are written both month first and day first: say which with \
                     --date-order"
                        .into(),
                ));
            }
            (None, None, Some(_)) => (DateOrder::DayFirst, "from the file"),
            (None, Some(_), None) => (DateOrder::MonthFirst, "from the file"),
            // Exchange Online PowerShell writes US dates unless the machine says otherwise.
            (None, None, None) => (DateOrder::MonthFirst, "default"),
        };
        // A given order the file's own dates contradict: its ambiguous dates are read as
        // asked, which is then probably a month off.
        file.contradicting_date = match (why, order) {
            ("given", DateOrder::MonthFirst) if month_first.is_none() => day_first.cloned(),
            ("given", DateOrder::DayFirst) if day_first.is_none() => month_first.cloned(),
            _ => None,
        };
        let name = match order {
            DateOrder::MonthFirst => "mdy",
            DateOrder::DayFirst => "dmy",
        };
        file.date_order = format!("{name} ({why})");
        for (mid, text) in received_at {
            let Ok(t) = parse_time_ordered(&text, order) else {
                file.unreadable_dates += 1;
                file.unreadable_date_example.get_or_insert(text);
                continue;
            };
            let e = self.messages.get_mut(&mid).expect("entered above");
            e.received = Some(e.received.map_or(t, |r| r.min(t)));
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        self.files.push(file);
        Ok(())
    }
}

/// The only order in which a locale date such as `13/5/2024` can be read: day first when its
/// first number is above 12, month first when its second is; `None` when both orders read it
/// (`5/6/2024`), or for any other text.
fn locale_date_order(text: &str) -> Option<DateOrder> {
    let mut parts = text.trim().splitn(3, '/');
    let a: u32 = parts.next()?.trim().parse().ok()?;
    let b: u32 = parts.next()?.trim().parse().ok()?;
    parts.next()?;
    match (a > 12, b > 12) {
        (true, false) => Some(DateOrder::DayFirst),
        (false, true) => Some(DateOrder::MonthFirst),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for u in text.encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out
    }

    #[test]
    fn the_three_trace_shapes_join_on_the_normalized_id() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = "\"PSComputerName\",\"RunspaceId\",\"PSShowComputerName\",\"Organization\",\"MessageId\",\"Received\",\"SenderAddress\",\"RecipientAddress\",\"Subject\",\"Status\",\"ToIP\",\"FromIP\",\"Size\",\"MessageTraceId\",\"StartDate\",\"EndDate\",\"Index\"\r\n\
            \"x\",\"y\",\"False\",\"contoso\",\"<AB@Example.com>\",\"5/6/2024 7:01:00 AM\",\"Boss@partner.example\",\"ceo@contoso.example\",\"Q2 plan\",\"Delivered\",\"\",\"1.2.3.4\",\"100\",\"t\",\"\",\"\",\"0\"\r\n";
        let v2 = "Received,SenderAddress,RecipientAddress,Subject,Status,ToIP,FromIP,Size,MessageId,MessageTraceId\n\
            2024-05-06T07:00:59Z,boss@partner.example,cfo@contoso.example,Q2 plan,Delivered,,,100,<ab@example.com>,t2\n";
        let ext = "date_time_utc,sender_address,recipient_address,message_subject,event_id,message_id,recipient_status\n\
            2024-05-06T07:02:00.000Z,boss@partner.example,,Q2 plan,DELIVER,<ab@example.com>,legal@contoso.example##Receive, Deliver\n\
            2024-05-06T08:00:00Z,x@partner.example,ceo@contoso.example,Other,RECEIVE,<cd@example.com>,\n";
        let p1 = dir.path().join("v1.csv");
        std::fs::write(&p1, v1).unwrap();
        let p2 = dir.path().join("v2.csv");
        std::fs::write(&p2, v2).unwrap();
        let p3 = dir.path().join("extended.csv");
        std::fs::write(&p3, utf16(ext, false)).unwrap();
        let mut t = Trace::default();
        for p in [&p1, &p2, &p3] {
            t.read_file(p, None).unwrap();
        }
        assert_eq!(t.files[2].encoding, Encoding::Utf16Le);
        let e = &t.messages["ab@example.com"];
        assert_eq!(
            e.sender.iter().collect::<Vec<_>>(),
            ["boss@partner.example"]
        );
        assert_eq!(
            e.recipients.iter().collect::<Vec<_>>(),
            [
                "ceo@contoso.example",
                "cfo@contoso.example",
                "legal@contoso.example"
            ]
        );
        assert_eq!(e.subject, "Q2 plan");
        assert_eq!(
            crate::parse::fields::format_time(e.received.unwrap()),
            "2024-05-06T07:00:59Z"
        );
        assert_eq!(t.messages.len(), 2);
        let bad = dir.path().join("notes.txt");
        std::fs::write(&bad, "hello,world\n1,2\n").unwrap();
        assert!(Trace::default().read_file(&bad, None).is_err());
    }

    #[test]
    fn locale_dates_are_read_in_the_order_given_or_shown_by_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let head =
            "\"MessageId\",\"Received\",\"SenderAddress\",\"RecipientAddress\",\"Subject\"\n";
        let file = |name: &str, dates: &[&str]| {
            let mut text = head.to_string();
            for (i, d) in dates.iter().enumerate() {
                text += &format!("\"<m{i}@x>\",\"{d} 10:00:00 AM\",\"s@x\",\"r@x\",\"S\"\n");
            }
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let received = |t: &Trace, i: usize| {
            crate::parse::fields::format_time(t.messages[&format!("m{i}@x")].received.unwrap())
        };
        // An Australian export: 13/05 can only be day first, so 5/6 is 5 June.
        let au = file("au.csv", &["13/05/2024", "5/6/2024"]);
        let mut t = Trace::default();
        t.read_file(&au, None).unwrap();
        assert_eq!(received(&t, 1), "2024-06-05T10:00:00Z");
        assert_eq!(t.files[0].date_order, "dmy (from the file)");
        // A US one: 5/13 can only be month first.
        let us = file("us.csv", &["5/13/2024", "5/6/2024"]);
        let mut t = Trace::default();
        t.read_file(&us, None).unwrap();
        assert_eq!(received(&t, 1), "2024-05-06T10:00:00Z");
        assert_eq!(t.files[0].date_order, "mdy (from the file)");
        // Nothing tells: month first, as Exchange Online PowerShell writes by default.
        let unsure = file("unsure.csv", &["5/6/2024"]);
        let mut t = Trace::default();
        t.read_file(&unsure, None).unwrap();
        assert_eq!(received(&t, 0), "2024-05-06T10:00:00Z");
        assert_eq!(t.files[0].date_order, "mdy (default)");
        // --date-order wins.
        let mut t = Trace::default();
        t.read_file(&unsure, Some(DateOrder::DayFirst)).unwrap();
        assert_eq!(received(&t, 0), "2024-06-05T10:00:00Z");
        assert_eq!(t.files[0].date_order, "dmy (given)");
        // Both orders shown: refused rather than read a month off.
        let mixed = file("mixed.csv", &["13/05/2024", "5/13/2024"]);
        let err = Trace::default()
            .read_file(&mixed, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--date-order"), "{err}");
        let mut t = Trace::default();
        t.read_file(&mixed, Some(DateOrder::MonthFirst)).unwrap();
        assert_eq!(received(&t, 1), "2024-05-13T10:00:00Z");
        // ...and a given order the file contradicts is warned of: 13/05 reads only day first.
        let mut t = Trace::default();
        t.read_file(&au, Some(DateOrder::MonthFirst)).unwrap();
        assert_eq!(received(&t, 1), "2024-05-06T10:00:00Z");
        let f = &t.files[0];
        assert_eq!(
            f.contradicting_date.as_deref(),
            Some("13/05/2024 10:00:00 AM")
        );
        let w = f.warnings().join("\n");
        assert!(
            w.contains("says month first") && w.contains("'13/05/2024"),
            "{w}"
        );
        assert_eq!(t.files.len(), 1);
        // Not when the file also shows the given order, nor when the order comes from it.
        let mut t = Trace::default();
        t.read_file(&mixed, Some(DateOrder::DayFirst)).unwrap();
        t.read_file(&us, Some(DateOrder::MonthFirst)).unwrap();
        t.read_file(&au, None).unwrap();
        assert!(t.files.iter().all(|f| f.contradicting_date.is_none()));
        // A received time no order reads is counted and warned of, not dropped unseen.
        let odd = file("odd.csv", &["5/6/2024", "the 5th of June"]);
        let mut t = Trace::default();
        t.read_file(&odd, None).unwrap();
        assert!(t.messages["m1@x"].received.is_none());
        let f = &t.files[0];
        assert_eq!(f.unreadable_dates, 1);
        let example = "the 5th of June 10:00:00 AM";
        assert_eq!(f.unreadable_date_example.as_deref(), Some(example));
        let w = f.warnings().join("\n");
        assert!(
            w.contains("1 received time(s)") && w.contains(example),
            "{w}"
        );
        // Every date read: nothing to say.
        let mut t = Trace::default();
        t.read_file(&au, None).unwrap();
        assert_eq!(t.files[0].unreadable_dates, 0);
        assert!(t.files[0].warnings().is_empty());
    }
}
