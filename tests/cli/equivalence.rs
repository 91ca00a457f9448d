//! One set of records, written in every container, compression and encoding an
//! investigator may be handed, must normalize to the same `Vec<Record>`.
//! See: ../shared/docs/formats.md, "Containers (detect, don't ask)".

use crate::util::*;
use mailscope::ingest::Ingested;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The records: the MailItemsAccessed samples, records synthesized by editing them (other
/// ids, field variants), other operations from the samples, and one record without an id.
fn records() -> Vec<Value> {
    let bind = bind_auditdata();

    // A Bind with the awkward variants: upper-case id, 7 fraction digits, value-first
    // OperationProperties, LogonType as a string, a bracketed IPv6 with port, message ids
    // with brackets and upper case, a float size, non-ASCII (and non-BMP) text, quotes and
    // commas (for the CSV writers).
    let mut variant = bind.clone();
    variant["Id"] = json!("F5493F9A-0000-4000-8000-0000000000B2");
    variant["CreationTime"] = json!("2020-04-08T01:02:03.1234567");
    variant["OperationProperties"] = json!([
        {"Value": "Bind", "Name": "MailAccessType"},
        {"Value": "True", "Name": "IsThrottled"}
    ]);
    variant["LogonType"] = json!("0");
    variant["ClientIPAddress"] = json!("[2001:DB8::ABCD]:12345");
    variant["OperationCount"] = json!(3);
    variant["Folders"] = json!([
        {
            "Id": "LgAAAAB+folder-fr",
            "Path": "\\Boîte de réception",
            "FolderItems": [
                {"InternetMessageId": "<AbC.123@Example.COM>", "SizeInBytes": 1156492.0,
                 "Subject": "Re: \"quoted\", comma; 📧 ünïcödé"}
            ]
        },
        {
            "Id": "LgAAAAB+folder-sent",
            "Path": "\\Sent Items",
            "FolderItems": [
                {"InternetMessageId": " <x1@contoso.com> ", "SizeInBytes": "2048"},
                {"InternetMessageId": "<X2@contoso.com>", "SizeInBytes": 10}
            ]
        }
    ]);

    // A Bind whose session and client app come from AppAccessContext, with the operation
    // name in another case.
    let mut ctx = bind.clone();
    ctx["Id"] = json!("f5493f9a-0000-4000-8000-0000000000c3");
    ctx["CreationTime"] = json!("2020-04-09T10:00:00Z");
    ctx["Operation"] = json!("mailitemsaccessed");
    ctx.as_object_mut().expect("object").remove("SessionId");
    ctx["AppAccessContext"] = json!({
        "AADSessionId": "00000000-aaaa-bbbb-cccc-000000000001",
        "ClientAppId": "5A95E683-08AD-424E-A441-1D1AEC52C02C",
        "IssuedAtTime": "2025-09-29T01:01:01"
    });
    ctx["UserId"] = json!("Attacker@Evil.example");

    // The Defender RawEventData of the Sentinel access, repaired with the Sentinel row's
    // Folders and OperationProperties (JSON strings there): what the real AuditData held.
    let sentinel: Value =
        serde_json::from_str(&sample_text("a-bind-sentinel-officeactivity-otrf.json"))
            .expect("JSON");
    let defender: Value =
        serde_json::from_str(&sample_text("a-bind-defender-cloudappevents-otrf.json"))
            .expect("JSON");
    let mut repaired = defender["RawEventData"].clone();
    for field in ["Folders", "OperationProperties"] {
        repaired[field] =
            serde_json::from_str(sentinel[field].as_str().expect("string")).expect("JSON");
    }

    let sync_item: Value =
        serde_json::from_str(&sample_text("b-sync-item-parentfolder-RECONSTRUCTED.json"))
            .expect("JSON");
    let sync_folders: Value =
        serde_json::from_str(&sample_text("b-sync-folders-variant-RECONSTRUCTED.json"))
            .expect("JSON");

    let mut out = vec![
        bind.clone(),
        variant,
        ctx,
        repaired,
        sync_item,
        sync_folders,
    ];
    for line in sample_text("b-exchangeitem-item-parentfolder-elastic-beats.jsonl").lines() {
        out.push(serde_json::from_str(line).expect("JSON"));
    }
    let blob: Value =
        serde_json::from_str(&sample_text("e-management-api-content-blob-response.json"))
            .expect("JSON");
    out.extend(blob.as_array().expect("array").iter().cloned());
    // No record id anywhere: de-duplicated by content.
    out.push(json!({
        "CreationTime": "2021-01-01T00:00:00",
        "Operation": "UserLoggedIn",
        "UserId": "Someone@Example.COM",
        "Workload": "AzureActiveDirectory",
        "ClientIP": "10.11.12.13:443"
    }));
    // An exact copy: one duplicate in every container.
    out.push(bind);
    out
}

const UNIQUE: usize = 12;
const READ: u64 = 13;

fn id_of(r: &Value) -> String {
    r["Id"].as_str().unwrap_or_default().to_string()
}

fn operation_of(r: &Value) -> String {
    r["Operation"].as_str().unwrap_or_default().to_string()
}

fn user_of(r: &Value) -> String {
    r["UserId"].as_str().unwrap_or_default().to_string()
}

fn creation_time(r: &Value) -> String {
    r["CreationTime"]
        .as_str()
        .expect("CreationTime")
        .to_string()
}

/// Locale text of a wrapper `CreationDate`: `9/20/2023 4:05:03 AM` (US) or day-first (AU).
fn locale_date(r: &Value, day_first: bool) -> String {
    let t = creation_time(r);
    let (date, time) = t.split_once('T').expect("T");
    let d: Vec<u32> = date
        .split('-')
        .map(|p| p.parse().expect("digits"))
        .collect();
    let hms: Vec<u32> = time[..8]
        .split(':')
        .map(|p| p.parse().expect("digits"))
        .collect();
    let (h12, ampm) = match hms[0] {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    let (a, b) = if day_first {
        (d[2], d[1])
    } else {
        (d[1], d[2])
    };
    format!("{a}/{b}/{} {h12}:{:02}:{:02} {ampm}", d[0], hms[1], hms[2])
}

/// A CSV cell, quoted with `""` escaping.
fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn ndjson(records: &[Value], eol: &str) -> String {
    records.iter().map(|r| compact(r) + eol).collect()
}

fn purview_csv(records: &[Value]) -> String {
    let mut s = String::from(
        "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames\r\n",
    );
    for r in records {
        s += &format!(
            "{},{},{},{},{},{},,\r\n",
            id_of(r),
            locale_date(r, false),
            r["RecordType"]
                .as_i64()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            q(&operation_of(r)),
            q(&user_of(r)),
            q(&compact(r)),
        );
    }
    s
}

fn search_ual_csv(records: &[Value]) -> String {
    let mut s = String::from(
        "#TYPE Deserialized.Microsoft.Exchange.Data.ApplicationLogic.UnifiedAuditLogEvent\r\n",
    );
    let header = [
        "PSComputerName",
        "RunspaceId",
        "PSShowComputerName",
        "RecordType",
        "CreationDate",
        "UserIds",
        "Operations",
        "AuditData",
        "ResultIndex",
        "ResultCount",
        "Identity",
        "IsValid",
        "ObjectState",
    ];
    s += &header.iter().map(|h| q(h)).collect::<Vec<_>>().join(",");
    s += "\r\n";
    for (i, r) in records.iter().enumerate() {
        let record_type = match r["RecordType"].as_i64() {
            Some(50) => "ExchangeItemAggregated".to_string(),
            Some(n) => n.to_string(),
            None => String::new(),
        };
        let row = [
            "outlook.office365.com".to_string(),
            "00000000-0000-0000-0000-000000000000".to_string(),
            "False".to_string(),
            record_type,
            // Day-first, as an AU-locale machine writes it (ambiguous on purpose).
            locale_date(r, true),
            user_of(r),
            operation_of(r),
            compact(r),
            (i + 1).to_string(),
            records.len().to_string(),
            id_of(r),
            "True".to_string(),
            "Unchanged".to_string(),
        ];
        s += &row.iter().map(|c| q(c)).collect::<Vec<_>>().join(",");
        s += "\r\n";
    }
    s
}

/// Extractor-Suite `-Output JSON`: wrappers with AuditData as an object.
fn extractor_wrapper(r: &Value, audit: Value) -> Value {
    let mut w = json!({
        "RunspaceId": "00000000-0000-0000-0000-000000000000",
        "RecordType": r["RecordType"].clone(),
        "CreationDate": locale_date(r, false),
        "UserIds": user_of(r),
        "Operations": operation_of(r),
        "AuditData": audit,
        "ResultIndex": 1,
        "ResultCount": 1,
        "IsValid": true,
        "ObjectState": "Unchanged"
    });
    if !id_of(r).is_empty() {
        w["Identity"] = json!(id_of(r));
    }
    w
}

fn graph_page(records: &[Value]) -> Value {
    let value: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut g = json!({
                "@odata.type": "#microsoft.graph.security.auditLogRecord",
                "createdDateTime": format!("{}Z", creation_time(r).trim_end_matches('Z')),
                "auditLogRecordType": "exchangeItemAggregated",
                "operation": operation_of(r),
                "userPrincipalName": user_of(r),
                "auditData": r.clone()
            });
            if !id_of(r).is_empty() {
                g["id"] = json!(id_of(r));
            }
            g
        })
        .collect();
    json!({"value": value, "@odata.nextLink": "https://graph.microsoft.com/next"})
}

/// `data` compressed as independent frames or members, cut every `every` bytes (the cuts
/// fall inside records).
fn multi(data: &[u8], every: usize, one: fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    data.chunks(every).flat_map(one).collect()
}

/// Every container, compression and encoding of the same records: (file name, bytes).
fn containers(records: &[Value]) -> Vec<(&'static str, Vec<u8>)> {
    let nd = ndjson(records, "\n");
    let bom = |s: &str| [b"\xEF\xBB\xBF".as_slice(), s.as_bytes()].concat();
    let (first, rest) = records.split_at(5);
    let pretty = |v: &[Value]| serde_json::to_string_pretty(v).expect("JSON");
    let wrappers: Vec<Value> = records
        .iter()
        .map(|r| extractor_wrapper(r, r.clone()))
        .collect();
    let jsonl_wrappers: Vec<Value> = records
        .iter()
        .map(|r| extractor_wrapper(r, Value::String(compact(r))))
        .collect();
    let pretty_objects: String = records
        .iter()
        .map(|r| serde_json::to_string_pretty(r).expect("JSON") + "\n")
        .collect();
    let purview = purview_csv(records);
    let search = search_ual_csv(records);
    vec![
        ("records.ndjson", nd.clone().into_bytes()),
        ("records-crlf.ndjson", ndjson(records, "\r\n").into_bytes()),
        ("records-bom.ndjson", bom(&nd)),
        (
            // PowerShell 5.1 files concatenated: a BOM at the start of each part.
            "records-concatenated-boms.ndjson",
            [bom(&ndjson(first, "\r\n")), bom(&ndjson(rest, "\r\n"))].concat(),
        ),
        ("records.ndjson.zst", zstd_frame(nd.as_bytes())),
        (
            "records-frames.ndjson.zst",
            multi(nd.as_bytes(), 777, zstd_frame),
        ),
        ("records.ndjson.gz", gzip_member(nd.as_bytes())),
        (
            "records-members.ndjson.gz",
            multi(nd.as_bytes(), 1000, gzip_member),
        ),
        ("records-utf16le-bom.ndjson", utf16le(&nd, true)),
        ("records-utf16le.ndjson", utf16le(&nd, false)),
        (
            "records-utf16le-crlf.ndjson.zst",
            zstd_frame(&utf16le(&ndjson(records, "\r\n"), true)),
        ),
        ("records-array.json", pretty(records).into_bytes()),
        (
            "records-merged-arrays.json",
            format!("{}\n{}\n", pretty(first), pretty(rest)).into_bytes(),
        ),
        ("records-pretty-objects.json", pretty_objects.into_bytes()),
        ("extractor-wrappers.json", pretty(&wrappers).into_bytes()),
        (
            "extractor-wrappers.jsonl",
            ndjson(&jsonl_wrappers, "\n").into_bytes(),
        ),
        (
            "graph-page.json",
            serde_json::to_vec_pretty(&graph_page(records)).expect("JSON"),
        ),
        ("purview.csv", purview.clone().into_bytes()),
        ("purview.csv.gz", gzip_member(purview.as_bytes())),
        ("search-ual.csv", search.clone().into_bytes()),
        ("search-ual-bom.csv", bom(&search)),
        ("search-ual-utf16le.csv", utf16le(&search, true)),
    ]
}

/// The compression and encoding a container's file name says it has.
fn detection(name: &str) -> String {
    let compression = if name.ends_with(".zst") {
        "Zstd"
    } else if name.ends_with(".gz") {
        "Gzip"
    } else {
        "None"
    };
    let encoding = if name.contains("utf16le-bom")
        || name.contains("utf16le-crlf")
        || name == "search-ual-utf16le.csv"
    {
        "Utf16LeBom"
    } else if name.contains("utf16le") {
        "Utf16Le"
    } else if name.contains("bom") {
        "Utf8Bom"
    } else {
        "Utf8"
    };
    format!("{compression} {encoding}")
}

fn write_all(dir: &Path, records: &[Value]) -> Vec<(&'static str, PathBuf)> {
    containers(records)
        .into_iter()
        .map(|(name, bytes)| (name, write(dir, name, &bytes)))
        .collect()
}

fn baseline(dir: &Path, records: &[Value]) -> Ingested {
    let p = write(dir, "baseline.ndjson", ndjson(records, "\n").as_bytes());
    let ing = ingest_file(&p);
    assert_eq!(
        (
            ing.read,
            ing.records.len(),
            ing.duplicates,
            ing.malformed_total()
        ),
        (READ, UNIQUE, 1, 0),
        "baseline NDJSON (read, unique, duplicates, malformed)\n{}",
        describe(&ing)
    );
    ing
}

#[test]
fn every_container_gives_the_same_records() {
    let dir = tempdir();
    let recs = records();
    let base = baseline(dir.path(), &recs);
    let mut failures = Vec::new();
    for (name, path) in write_all(dir.path(), &recs) {
        let ing = ingest_file(&path);
        let f = &ing.files[0];
        let got = (
            ing.read,
            ing.duplicates,
            ing.malformed_total(),
            f.error.clone(),
        );
        let detected = format!("{:?} {:?}", f.compression, f.encoding);
        if detected != detection(name) {
            failures.push(format!(
                "{name}: detected {detected}, expected {}",
                detection(name)
            ));
        }
        if got != (READ, 1, 0, None) || ing.records != base.records {
            failures.push(format!(
                "{name}: (read, duplicates, malformed, error) expected {:?} got {got:?}\n\
                 --- expected records ---\n{}\n--- got ---\n{}",
                (READ, 1, 0, None::<String>),
                base.records
                    .iter()
                    .map(record_json)
                    .collect::<Vec<_>>()
                    .join("\n"),
                describe(&ing)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} container(s) differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_container_at_once_deduplicates_to_the_same_records() {
    let dir = tempdir();
    let recs = records();
    let base = baseline(dir.path(), &recs);
    let paths: Vec<PathBuf> = write_all(dir.path(), &recs)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let ing = ingest_with(&paths, &opts(4, 1000));
    let n = paths.len() as u64;
    assert_eq!(
        (ing.read, ing.duplicates, ing.malformed_total()),
        (n * READ, n * READ - UNIQUE as u64, 0),
        "(read, duplicates, malformed) over {n} containers\n{}",
        describe(&ing)
    );
    assert_eq!(
        ing.records, base.records,
        "records of all containers together"
    );
}

/// The baseline itself is right: the samples' records are in it as the samples give them,
/// and the repaired Defender AuditData equals the Sentinel row of the same access.
#[test]
fn the_records_normalize_as_their_samples_do() {
    let dir = tempdir();
    let base = baseline(dir.path(), &records());
    let find = |id: &str| {
        base.records
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .unwrap_or_else(|| panic!("no record {id} in\n{}", describe(&base)))
    };
    let sample_record = |name: &str| {
        let ing = ingest_file(&sample(name));
        assert_eq!(ing.records.len(), 1, "{}", describe(&ing));
        ing.records[0].clone()
    };
    let want = crate::samples::office365itpros_bind();
    assert_eq!(find(&want.id.text()), want);
    for (id, name) in [
        (
            "699e0b10-1c53-403e-976f-ce0847a92b44",
            "a-bind-sentinel-officeactivity-otrf.json",
        ),
        (
            "00000000-0000-0000-0000-00000000b001",
            "b-sync-item-parentfolder-RECONSTRUCTED.json",
        ),
        (
            "00000000-0000-0000-0000-00000000b002",
            "b-sync-folders-variant-RECONSTRUCTED.json",
        ),
    ] {
        let (got, want) = (find(id), sample_record(name));
        assert_eq!(
            got,
            want,
            "{id} vs {name}:\n{}\n{}",
            record_json(&got),
            record_json(&want)
        );
    }

    // The synthesized variants, field by field.
    let v = find("f5493f9a-0000-4000-8000-0000000000b2");
    let m = v.mail.as_deref().expect("mail");
    let items: Vec<(String, String, Option<u64>)> = m
        .items()
        .map(|(f, i)| {
            (
                f.path.to_string(),
                i.internet_message_id.to_string(),
                i.size_bytes,
            )
        })
        .collect();
    assert_eq!(
        (
            v.time,
            m.throttled,
            m.operation_count,
            m.logon_type,
            m.client_ip.as_str(),
            &*m.client_ip_raw
        ),
        (
            utc(2020, 4, 8, 1, 2, 3, 123_456_700),
            true,
            3,
            Some(0),
            "2001:db8::abcd",
            "[2001:DB8::ABCD]:12345"
        ),
        "{}",
        record_json(&v)
    );
    assert_eq!(
        items,
        vec![
            (
                "\\Boîte de réception".to_string(),
                "abc.123@example.com".to_string(),
                Some(1_156_492)
            ),
            (
                "\\Sent Items".to_string(),
                "x1@contoso.com".to_string(),
                Some(2048)
            ),
            (
                "\\Sent Items".to_string(),
                "x2@contoso.com".to_string(),
                Some(10)
            ),
        ],
        "{}",
        record_json(&v)
    );
    let c = find("f5493f9a-0000-4000-8000-0000000000c3");
    let cm = c
        .mail
        .as_deref()
        .expect("an operation spelled mailitemsaccessed is MailItemsAccessed");
    assert_eq!(
        (
            c.operation.as_str(),
            c.user.as_str(),
            cm.session_id.as_str(),
            cm.client_app_id.as_str()
        ),
        (
            "MailItemsAccessed",
            "attacker@evil.example",
            "00000000-aaaa-bbbb-cccc-000000000001",
            "5a95e683-08ad-424e-a441-1d1aec52c02c"
        ),
        "{}",
        record_json(&c)
    );
    let no_id: Vec<_> = base
        .records
        .iter()
        .filter(|r| r.id.text().starts_with('~'))
        .collect();
    assert_eq!(
        no_id.len(),
        1,
        "one record without an id gets a content id\n{}",
        describe(&base)
    );
    assert_eq!(no_id[0].user, "someone@example.com");
}

/// A Sentinel `OfficeActivity` row holds every column of the table, most of them empty:
/// `Client_IPAddress` empty (or blank) beside `ClientIP`, `UserId_` and `SessionId` empty.
/// An empty or blank JSON string is an absent value, as an empty CSV cell is: the row gives
/// the same record from a JSON line as from a CSV row, with the client IP `ClientIP` holds.
#[test]
fn empty_json_strings_are_absent_values_as_empty_csv_cells_are() {
    let dir = tempdir();
    let mut row: Value =
        serde_json::from_str(&sample_text("a-bind-sentinel-officeactivity-otrf.json"))
            .expect("JSON");
    for (blank, key) in [("", "Client_IPAddress"), (" ", "ClientIPAddress")] {
        row[key] = json!(blank);
    }
    row["ClientIP"] = json!("5.6.7.8");
    row["UserId_"] = json!("");
    row["SessionId"] = json!("");
    let obj = row.as_object().expect("object");
    let cell = |v: &Value| match v {
        Value::String(s) => q(s),
        other => q(&compact(other)),
    };
    let header: Vec<String> = obj.keys().map(|k| q(k)).collect();
    let cells: Vec<String> = obj.values().map(cell).collect();
    let csv = format!("{}\r\n{}\r\n", header.join(","), cells.join(","));
    let from_json = ingest_file(&write(dir.path(), "row.json", compact(&row).as_bytes()));
    let from_csv = ingest_file(&write(dir.path(), "row.csv", csv.as_bytes()));
    for ing in [&from_json, &from_csv] {
        assert_eq!(ing.records.len(), 1, "{}", describe(ing));
    }
    let ip = |ing: &Ingested| {
        ing.records[0]
            .mail
            .as_deref()
            .map(|m| m.client_ip.to_string())
    };
    assert_eq!(ip(&from_json).as_deref(), Some("5.6.7.8"));
    assert_eq!(from_json.records, from_csv.records);
}
