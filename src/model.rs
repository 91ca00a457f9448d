//! The normalized records every later stage works on.
//!
//! Whatever the export shape (NDJSON, CSV, Graph, Sentinel, Defender, ...), the parse stage
//! turns one audit record into one [`Record`]; a `MailItemsAccessed` record also carries a
//! [`MailAccess`]. Strings that are keys (mailboxes, users, message ids) are normalized here
//! once, so the analysis never has to care how an export spelled them.

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
    pub internet_message_id: String,
    pub size_bytes: Option<u64>,
}

/// A folder named by a record, with the messages the record lists in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Folder {
    pub id: String,
    /// Folder path as Exchange writes it, e.g. `\Inbox`.
    pub path: String,
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
    pub client_ip: String,
    /// Client IP as the record wrote it.
    pub client_ip_raw: String,
    pub client_info: String,
    pub session_id: String,
    pub app_id: String,
    pub client_app_id: String,
    pub folders: Vec<Folder>,
    /// The folder a sync record synced (`Item.ParentFolder`, or the one item-less `Folders[]`).
    pub synced_folder: Option<Folder>,
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

/// One well-formed audit record, normalized.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Record {
    /// Record id (`Id` = `RecordId` = `Identity` = `OfficeId`), lowercased. A record without
    /// one gets `~` followed by a digest of its normalized content.
    pub id: String,
    /// Event time from the record's own time field (the export wrapper's only as fallback).
    #[serde(serialize_with = "ser_time")]
    pub time: Nanos,
    pub operation: String,
    /// Who acted (`UserId`); lowercased when it is a UPN.
    pub user: String,
    /// Mailbox that holds the data (`MailboxOwnerUPN`); lowercased.
    pub mailbox: String,
    /// Present exactly when `operation` is `MailItemsAccessed`.
    pub mail: Option<Box<MailAccess>>,
}

pub const MAIL_ITEMS_ACCESSED: &str = "MailItemsAccessed";

fn ser_time<S: serde::Serializer>(t: &Nanos, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::parse::fields::format_time(*t))
}
