//! Test records built from the real sample shape (../shared/samples), with fields changed.

use crate::model::Record;
use crate::parse::{JsonParser, Outcome, normalize_top};
use serde_json::{Value, json};

/// The verbatim bind record of ../shared/samples (office365itpros, one line).
pub fn sample_bind() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/samples/g-extractor-get-ual-SOFELK-or-AuditDataOnly-SHAPE.jsonl"
    ))
    .expect("the shared samples are beside the checkout");
    serde_json::from_str(text.trim()).expect("the sample is valid JSON")
}

/// A bind record like the sample, with `id`, `time`, `ip`, `session`, and messages in `folder`.
pub fn bind(id: &str, time: &str, ip: &str, session: &str, folder: &str, msgs: &[&str]) -> Value {
    let mut v = sample_bind();
    v["Id"] = json!(id);
    v["CreationTime"] = json!(time);
    v["ClientIPAddress"] = json!(ip);
    v["SessionId"] = json!(session);
    v["Folders"] = json!([{
        "Id": "LgAAAAB",
        "Path": folder,
        "FolderItems": msgs.iter().map(|m| json!({"InternetMessageId": m, "SizeInBytes": 1000})).collect::<Vec<_>>(),
    }]);
    v["OperationCount"] = json!(msgs.len());
    v
}

/// Sets `IsThrottled` = `True`.
pub fn throttled(mut v: Value) -> Value {
    v["OperationProperties"][1]["Value"] = json!("True");
    v
}

/// Normalizes a record through the real parser.
pub fn record(v: &Value) -> Record {
    record_with(v, &mut JsonParser::new())
}

/// Normalizes a record through `parser` (one set up as a command sets it up).
pub fn record_with(v: &Value, parser: &mut JsonParser) -> Record {
    let text = v.to_string();
    let mut out = Vec::new();
    parser
        .parse(text.as_bytes(), |root, child| {
            normalize_top(root, child, &mut out)
        })
        .expect("valid JSON");
    match out.pop() {
        Some(Outcome::Record(r)) => r,
        other => panic!("not a record: {other:?}"),
    }
}

pub fn records(vs: &[Value]) -> Vec<Record> {
    let mut r: Vec<Record> = vs.iter().map(record).collect();
    r.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    r
}

/// Record id `r1` with the fields `stats` and `throttled` read (time, operation, user,
/// mailbox, access type, throttled flag) and one they do not (the client IP) each taken from
/// a small set by `choice`, so that many pairs of copies differ in one field only.
pub fn copy_of_one_id(choice: [usize; 7]) -> Record {
    let [time, op, user, mailbox, access, throttled, ip] = choice;
    let t = ["2024-05-06T10:00:00", "2024-05-06T09:00:00"][time % 2];
    let mut v = bind(
        "r1",
        t,
        ["1.2.3.4", "5.6.7.8"][ip % 2],
        "s1",
        "\\Inbox",
        &["m@x"],
    );
    v["Operation"] = ["MailItemsAccessed", "Send", "mailitemsaccessed"][op % 3].into();
    v["UserId"] = ["a@x", "b@x", ""][user % 3].into();
    v["MailboxOwnerUPN"] = ["a@x", "c@x"][mailbox % 2].into();
    v["OperationProperties"][0]["Value"] = ["Bind", "Sync", "Other"][access % 3].into();
    v["OperationProperties"][1]["Value"] = ["False", "True"][throttled % 2].into();
    record(&v)
}
