//! `mailscope lookup`: were these messages read? Given InternetMessageIds (known sensitive
//! messages), every access to them: by whom, from where, when, in which context. Ids are
//! matched without brackets and case-insensitively. See: ../shared/docs/forensics.md, step 4.

use crate::analyze::access::Accesses;
use crate::analyze::messages::bracketed;
use crate::cli::LookupArgs;
use crate::error::{Error, Result};
use crate::output::rows::{Cell, Rows};
use crate::parse::fields::normalize_message_id;
use crate::sym::Sym;
use std::collections::BTreeSet;

pub const HELP: &str = "\
Examples:
  mailscope lookup exports/ --id '<CAF=abc123@mail.gmail.com>'
  mailscope lookup exports/ --ids sensitive-ids.txt --format table

Columns: internet_message_id, mailbox, time, user, client_ip, client_ip_raw (as the record
wrote it: with its port, brackets or ::ffff:), client_info, session_id, logon_type, access,
folder, app_id, client_app_id, record_id, repeat_within_hour (true when the one-hour
de-duplication collapses this access into an earlier one). Ids with no access are listed on
stderr; no record is not proof of no access (throttling, de-duplication).";

pub fn run(args: &LookupArgs) -> Result<i32> {
    let mut wanted: BTreeSet<String> = args
        .ids
        .iter()
        .map(|s| normalize_message_id(s))
        .filter(|s| !s.is_empty())
        .collect();
    for path in &args.ids_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("--ids {}: {e}", path.display())))?;
        wanted.extend(
            text.lines()
                .map(|l| l.trim().trim_start_matches('\u{feff}'))
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(normalize_message_id),
        );
    }
    if wanted.is_empty() {
        return Err(Error::Usage(
            "lookup needs message ids: --id ID or --ids FILE".to_string(),
        ));
    }
    let outputs: Vec<_> = args.common.output.output.iter().cloned().collect();
    crate::config::refuse_overwrite(&[], &[], &outputs, &args.ids_file)?;
    let mut l = super::common::load(&args.common)?;
    let filter = &l.filter;
    // Only records that list a wanted message: the one-hour rule of an access looks only at
    // accesses to the same message, which all come from such records.
    let lists_wanted = |r: &crate::model::Record| {
        r.mail.as_deref().is_some_and(|m| {
            m.items()
                .any(|(_, i)| wanted.contains(i.internet_message_id.as_str()))
        })
    };
    let phase = crate::progress::Phase::start("accesses");
    let acc = Accesses::build(&l.ingested.records, |r| {
        lists_wanted(r) && filter.matches(r)
    });
    drop(phase);
    let mut hits: Vec<_> = acc
        .items
        .iter()
        .filter(|a| wanted.contains(a.message.as_str()))
        .collect();
    hits.sort_by(|a, b| {
        (a.message, a.time, &acc.record(a).id, acc.ctx(a).folder).cmp(&(
            b.message,
            b.time,
            &acc.record(b).id,
            acc.ctx(b).folder,
        ))
    });
    let mut rows = Rows::new(&[
        "internet_message_id",
        "mailbox",
        "time",
        "user",
        "client_ip",
        "client_ip_raw",
        "client_info",
        "session_id",
        "logon_type",
        "access",
        "folder",
        "app_id",
        "client_app_id",
        "record_id",
        "repeat_within_hour",
    ]);
    let mut found = BTreeSet::new();
    for a in &hits {
        let r = acc.record(a);
        let c = acc.ctx(a);
        let Some(m) = r.mail.as_deref() else { continue };
        found.insert(a.message);
        rows.push(vec![
            Cell::Text(bracketed(&a.message)),
            Cell::Sym(c.mailbox),
            Cell::Time(a.time),
            Cell::Sym(c.user),
            Cell::Sym(c.client_ip),
            Cell::Sym(m.client_ip_raw),
            Cell::Sym(c.client_info),
            Cell::Sym(c.session_id),
            Cell::Text(m.logon_type_name()),
            Cell::Text(m.access.to_string()),
            Cell::Sym(c.folder),
            Cell::Sym(m.app_id),
            Cell::Sym(m.client_app_id),
            Cell::text(&r.id),
            Cell::Bool(!a.kept),
        ]);
    }
    crate::memory::keep_freed();
    rows.write(&mut l.out)?;
    l.out.finish()?;
    let missing: Vec<String> = wanted
        .iter()
        .filter(|id| !found.contains(&Sym::new(id)))
        .map(|id| bracketed(id))
        .collect();
    if !missing.is_empty() && !args.common.run.quiet {
        eprintln!(
            "mailscope: {} of {} id(s) have no recorded access in the selection: {}",
            missing.len(),
            wanted.len(),
            missing.join(" ")
        );
    }
    super::release(hits);
    super::release(acc);
    super::release(l.ingested);
    Ok(l.code)
}
