//! Container detection: which export shape a file is, from its first bytes, without the
//! user saying. See: ../shared/docs/formats.md, "Containers (detect, don't ask)".

use serde::Serialize;

/// How a file's records are laid out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// One JSON object per line: cut at any newline, parsed in parallel.
    Ndjson,
    /// JSON arrays, pretty-printed or concatenated objects, Graph `{"value":[...]}` pages.
    Json,
    /// A CSV export; `type_line` when a `#TYPE ...` line comes before the header.
    Csv { type_line: bool },
    /// A message-trace export: metadata for `scope --trace`, not audit records.
    MessageTrace,
    /// Nothing but white space.
    Empty,
    /// Not an export mailscope knows.
    Unknown,
}

impl Container {
    pub fn as_str(&self) -> &'static str {
        match self {
            Container::Ndjson => "ndjson",
            Container::Json => "json",
            Container::Csv { .. } => "csv",
            Container::MessageTrace => "message-trace",
            Container::Empty => "empty",
            Container::Unknown => "unknown",
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Skips white space and UTF-8 BOMs.
pub fn skip_blank(mut b: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = b.strip_prefix(BOM) {
            b = rest;
        } else if let Some((&c, rest)) = b.split_first()
            && (c.is_ascii_whitespace() || c == 0)
        {
            b = rest;
        } else {
            return b;
        }
    }
}

fn first_line(b: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\n', b).unwrap_or(b.len());
    let line = &b[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// True when the first line ends with CRLF (Purview and Export-Csv files do).
pub fn first_line_ends_crlf(head: &[u8]) -> bool {
    memchr::memchr(b'\n', head).is_some_and(|i| i > 0 && head[i - 1] == b'\r')
}

/// Splits a CSV header line into trimmed column names.
pub fn header_columns(line: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(line);
    text.split(',')
        .map(|c| {
            c.trim()
                .trim_start_matches('\u{feff}')
                .trim_matches('"')
                .trim()
                .to_string()
        })
        .collect()
}

/// Detects the container from the decoded (UTF-8) start of a file. `head` should hold at
/// least the first line, when the file has one within the sniffing window.
pub fn sniff_container(head: &[u8]) -> Container {
    let b = skip_blank(head);
    let Some(&c) = b.first() else {
        return Container::Empty;
    };
    match c {
        b'[' => Container::Json,
        b'{' => {
            // NDJSON when a line within the first few is one whole object (the first line
            // itself may be cut mid-record); otherwise a pretty-printed or multi-line JSON
            // document, whose lines are never whole objects.
            if memchr::memchr(b'\n', b).is_none() && b.len() < head.len() {
                return Container::Ndjson; // one line longer than the sniffing window
            }
            let whole_object = |line: &[u8]| {
                let t = line.trim_ascii();
                t.starts_with(b"{") && t.ends_with(b"}") && !crate::parse::is_unterminated(t)
            };
            let mut lines = b
                .split(|&c| c == b'\n')
                .filter(|l| !l.trim_ascii().is_empty());
            let first = lines.next().unwrap_or_default();
            if whole_object(first) || lines.take(8).any(whole_object) {
                Container::Ndjson
            } else {
                Container::Json
            }
        }
        _ => {
            let mut line = first_line(b);
            let mut type_line = false;
            if line.starts_with(b"#TYPE") {
                type_line = true;
                let rest = &b[line.len()..];
                line = first_line(skip_blank(rest));
            }
            let cols = header_columns(line);
            let has = |name: &str| cols.iter().any(|c| c.eq_ignore_ascii_case(name));
            if has("AuditData")
                || (has("Operation") || has("Operations") || has("operation") || has("ActionType"))
                    && (has("CreationDate")
                        || has("CreationTime")
                        || has("LastAccessed")
                        || has("TimeGenerated")
                        || has("createdDateTime")
                        || has("Timestamp"))
            {
                Container::Csv { type_line }
            } else if (has("MessageId") || has("message_id"))
                && (has("SenderAddress") || has("sender_address"))
            {
                Container::MessageTrace
            } else {
                Container::Unknown
            }
        }
    }
}

/// A short description of the record shape, from the first record's text (for the inventory).
pub fn record_shape(head: &[u8]) -> &'static str {
    let finder = |needle: &str| memchr::memmem::find(head, needle.as_bytes()).is_some();
    if finder("\"RawEventData\"") {
        "defender-cloudappevents"
    } else if finder("\"OfficeActivity\"") || finder("\"TimeGenerated\"") {
        "sentinel-officeactivity"
    } else if finder("\"auditData\"") || finder("\"auditLogRecordType\"") {
        "graph-auditlogrecord"
    } else if finder("\"AuditData\"") {
        "export-wrapper"
    } else if finder("\"CreationTime\"") {
        "auditdata"
    } else if finder("\"contentUri\"") {
        "management-api-content-list"
    } else {
        "other"
    }
}

/// A short description of a CSV export from its header.
pub fn csv_shape(cols: &[String]) -> &'static str {
    let has = |name: &str| cols.iter().any(|c| c.eq_ignore_ascii_case(name));
    if has("RecordId") && has("AuditData") {
        "purview-portal-csv"
    } else if has("ResultIndex") || has("Identity") && has("AuditData") {
        "search-unifiedauditlog-csv"
    } else if has("auditData") && has("createdDateTime") {
        "graph-csv"
    } else if has("AuditData") {
        "auditdata-csv"
    } else if has("AggregatedRecordFoldersData") || has("LastAccessed") {
        "search-mailboxauditlog-csv"
    } else if has("TimeGenerated") {
        "sentinel-officeactivity-csv"
    } else {
        "flat-csv"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers() {
        assert_eq!(
            sniff_container(b"{\"a\":1}\n{\"a\":2}\n"),
            Container::Ndjson
        );
        assert_eq!(sniff_container(b"\xEF\xBB\xBF{\"a\":1}"), Container::Ndjson);
        assert_eq!(sniff_container(b"{\n \"a\": 1\n}\n"), Container::Json);
        assert_eq!(sniff_container(b"  [\n{}]"), Container::Json);
        assert_eq!(sniff_container(b" \n\r\n"), Container::Empty);
        assert_eq!(
            sniff_container(b"RecordId,CreationDate,RecordType,Operation,UserId,AuditData\r\n"),
            Container::Csv { type_line: false }
        );
        assert_eq!(
            sniff_container(b"#TYPE X\n\"RecordType\",\"CreationDate\",\"AuditData\"\n"),
            Container::Csv { type_line: true }
        );
        assert_eq!(
            sniff_container(b"\"MessageId\",\"Received\",\"SenderAddress\"\n"),
            Container::MessageTrace
        );
        assert_eq!(sniff_container(b"# notes\nhello\n"), Container::Unknown);
    }
}
