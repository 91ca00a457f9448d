//! `report.html`: one self-contained page (no script, no network, no external assets) that a
//! lawyer can read: findings first, then a timeline per mailbox, the tables, and the
//! methodology with its rules and limits. Every string from the evidence (client strings,
//! folder names, subjects, addresses) is attacker-controlled and is escaped; the page's
//! Content-Security-Policy forbids scripts as a second line of defence.

use super::{LIMITS, RULES, Report};
use crate::analyze::messages::bracketed;
use crate::analyze::scope::{Level, MailboxExposure};
use crate::model::{AccessType, Nanos};
use crate::parse::fields::format_time;
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:2rem auto;max-width:1200px;color:#1d2329;line-height:1.45;padding:0 1rem}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #d8dee4;padding-bottom:.2rem}
.sub{color:#57606a}.cards{display:flex;flex-wrap:wrap;gap:1rem}.card{border:1px solid #d0d7de;border-radius:8px;padding:.8rem 1rem;flex:1 1 340px}
.badge{display:inline-block;border-radius:4px;padding:.05rem .5rem;font-weight:600;font-size:.85rem;color:#fff}
.l-mailbox{background:#b42318}.l-folders{background:#c4320a}.l-messages{background:#b54708}.l-none{background:#57606a}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right}code,.mono{font-family:ui-monospace,Consolas,monospace;font-size:.82rem;word-break:break-all}
.kpi{display:flex;gap:2rem;flex-wrap:wrap;margin:1rem 0}.kpi div{font-size:.9rem;color:#57606a}.kpi b{display:block;font-size:1.6rem;color:#1d2329}
svg{background:#fbfcfd;border:1px solid #e1e4e8;border-radius:6px}ul.reasons li{margin:.3rem 0}ul.reasons li.caution{color:#7d4e00;list-style:'! '}.muted{color:#57606a;font-size:.85rem}
";

fn badge(level: Level) -> String {
    format!(
        "<span class=\"badge l-{0}\">{1}</span>",
        level.as_str(),
        match level {
            Level::Mailbox => "whole mailbox (unaudited window)",
            Level::Folders => "whole folders (sync)",
            Level::Messages => "listed messages",
            Level::None => "no exposure found",
        }
    )
}

fn td(s: &str) -> String {
    format!("<td>{}</td>", esc(s))
}

fn td_mono(s: &str) -> String {
    format!("<td class=\"mono\">{}</td>", esc(s))
}

fn td_n(n: u64) -> String {
    format!("<td class=\"n\">{n}</td>")
}

fn table(out: &mut String, header: &[&str], rows: impl IntoIterator<Item = String>) {
    out.push_str("<table><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    let mut any = false;
    for r in rows {
        any = true;
        let _ = write!(out, "<tr>{r}</tr>");
    }
    if !any {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\" class=\"muted\">none</td></tr>",
            header.len()
        );
    }
    out.push_str("</tbody></table>");
}

/// A timeline of the attacker's activity in one mailbox, unaudited windows shaded.
fn timeline(rep: &Report<'_, '_>, mb: &MailboxExposure) -> String {
    let r = rep.result;
    let recs: Vec<_> = r
        .attacker
        .iter()
        .filter(|x| x.mailbox == mb.mailbox)
        .collect();
    let wins: Vec<_> = r
        .all_windows()
        .into_iter()
        .filter(|(w, _)| w.mailbox == mb.mailbox)
        .collect();
    let mut lo = mb.period.0;
    let mut hi = mb.period.1;
    for (w, _) in &wins {
        lo = lo.min(w.start);
        hi = hi.max(w.end);
    }
    if hi <= lo {
        lo -= 1_800_000_000_000;
        hi += 1_800_000_000_000;
    }
    let pad = (hi - lo) / 40;
    let (lo, hi) = (lo - pad, hi + pad);
    let (w, left, right) = (1100.0, 70.0, 20.0);
    let x = |t: Nanos| left + (t - lo) as f64 / (hi - lo) as f64 * (w - left - right);
    let mut s = format!(
        "<svg viewBox=\"0 0 {w} 120\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        esc(&format!("timeline of attacker activity in {}", mb.mailbox))
    );
    for &(win, counts) in &wins {
        let (a, b) = (x(win.start.max(lo)), x(win.end.min(hi)));
        let (fill, ink, label) = if counts {
            ("#f8d0cc", "#b42318", "unaudited (throttled)")
        } else {
            (
                "#eaeef2",
                "#57606a",
                "unaudited, outside the attacker's period",
            )
        };
        let _ = write!(
            s,
            "<rect x=\"{a:.1}\" y=\"8\" width=\"{:.1}\" height=\"80\" fill=\"{fill}\"><title>{}</title></rect>\
             <text x=\"{:.1}\" y=\"20\" font-size=\"11\" fill=\"{ink}\">{label}</text>",
            (b - a).max(1.0),
            esc(&format!(
                "{label}: {} .. {}",
                format_time(win.start),
                format_time(win.end)
            )),
            a + 4.0
        );
    }
    s.push_str("<text x=\"4\" y=\"44\" font-size=\"11\" fill=\"#57606a\">bind</text><text x=\"4\" y=\"72\" font-size=\"11\" fill=\"#57606a\">sync</text>");
    s.push_str("<line x1=\"70\" y1=\"92\" x2=\"1080\" y2=\"92\" stroke=\"#8c959f\"/>");
    for rec in recs {
        let Some(m) = rec.mail.as_deref() else {
            continue;
        };
        let cx = x(rec.time);
        let title = esc(&format!(
            "{} {} from {} session {} ({})",
            format_time(rec.time),
            m.access,
            m.client_ip,
            m.session_id,
            m.client_info
        ));
        match m.access {
            AccessType::Sync => {
                let _ = write!(
                    s,
                    "<rect x=\"{:.1}\" y=\"63\" width=\"10\" height=\"10\" fill=\"#c4320a\"><title>{title}</title></rect>",
                    cx - 5.0
                );
            }
            _ => {
                let _ = write!(
                    s,
                    "<circle cx=\"{cx:.1}\" cy=\"40\" r=\"5\" fill=\"{}\"><title>{title}</title></circle>",
                    if m.throttled { "#b42318" } else { "#0969da" }
                );
            }
        }
    }
    for (t, anchor) in [
        (lo + pad, "start"),
        ((lo + hi) / 2, "middle"),
        (hi - pad, "end"),
    ] {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"110\" font-size=\"11\" text-anchor=\"{anchor}\" fill=\"#57606a\">{}</text>",
            x(t),
            esc(&format_time(t))
        );
    }
    s.push_str("</svg>");
    s
}

pub fn render(rep: &Report<'_, '_>) -> String {
    let r = rep.result;
    let ing = rep.ingested;
    let mut o = String::with_capacity(64 * 1024);
    o.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    o.push_str("<title>Mail exposure report</title><style>");
    o.push_str(STYLE);
    o.push_str("</style></head><body>");
    o.push_str("<h1>Mail exposure report</h1>");
    let _ = write!(
        o,
        "<p class=\"sub\">Which mail the attacker accessed, from Microsoft 365 MailItemsAccessed audit records. Indicators: {}.</p>",
        if rep.options.indicators.is_empty() {
            "none".to_string()
        } else {
            rep.options
                .indicators
                .iter()
                .map(|l| format!("<code>{}</code>", esc(&l.label)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );

    // Findings first.
    o.push_str("<h2>Findings</h2>");
    let full = r
        .mailboxes
        .iter()
        .filter(|m| m.level == Level::Mailbox)
        .count();
    let _ = write!(
        o,
        "<div class=\"kpi\"><div><b>{}</b>mailboxes with attacker activity</div><div><b>{full}</b>exposed in full in an unaudited window</div>\
         <div><b>{}</b>folders synced in full</div><div><b>{}</b>messages opened</div><div><b>{}</b>attacker records</div></div>",
        r.mailboxes.len(),
        r.folders.len(),
        r.messages.len(),
        r.attacker.len()
    );
    if r.mailboxes.is_empty() {
        o.push_str("<p>No MailItemsAccessed record matches the indicators in the evidence read. That is not proof of no access: see the limits below.</p>");
    }
    o.push_str("<div class=\"cards\">");
    for mb in &r.mailboxes {
        let _ = write!(
            o,
            "<div class=\"card\"><h3 class=\"mono\">{}</h3><p>{}{}</p><p class=\"muted\">Attacker period {} .. {}; {} record(s); sessions: {}; IPs: {}</p><ul class=\"reasons\">",
            esc(&mb.mailbox),
            badge(mb.level),
            if mb.probably_entire_mailbox && mb.level != Level::Mailbox {
                " <b>probably exposed in full</b>"
            } else {
                ""
            },
            esc(&mb.attacker_period.start),
            esc(&mb.attacker_period.end),
            mb.attacker_records,
            esc(&mb.sessions.join(", ")),
            esc(&mb.client_ips.join(", ")),
        );
        for (reason, class) in mb
            .reasons
            .iter()
            .map(|r| (r, ""))
            .chain(mb.cautions.iter().map(|r| (r, " class=\"caution\"")))
        {
            let ids: Vec<&str> = reason
                .record_ids
                .iter()
                .take(8)
                .map(String::as_str)
                .collect();
            let more = reason.record_ids.len().saturating_sub(ids.len());
            let _ = write!(
                o,
                "<li{class}><b>{}</b>: {} <span class=\"muted mono\">records {}{}</span></li>",
                esc(reason.rule),
                esc(&reason.detail),
                esc(&ids.join(", ")),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
        o.push_str("</ul></div>");
    }
    o.push_str("</div>");

    o.push_str("<h2>Timeline</h2><p class=\"muted\">Blue dots: bind records; red dots: throttled records; orange squares: syncs; shaded red: unaudited 24-hour windows that overlap the attacker's period; grey: the mailbox's other unaudited windows (cautions). Hover for details.</p>");
    for mb in &r.mailboxes {
        let _ = write!(
            o,
            "<h3 class=\"mono\">{}</h3>{}",
            esc(&mb.mailbox),
            timeline(rep, mb)
        );
    }

    o.push_str("<h2>Mailboxes</h2>");
    table(
        &mut o,
        &[
            "mailbox",
            "level",
            "probably entire mailbox",
            "attacker period",
            "records",
            "messages",
            "folders",
            "unaudited windows",
        ],
        r.mailboxes.iter().map(|m| {
            format!(
                "{}<td>{}</td>{}{}{}{}{}{}",
                td_mono(&m.mailbox),
                badge(m.level),
                td(if m.probably_entire_mailbox {
                    "yes"
                } else {
                    "no"
                }),
                td(&format!(
                    "{} .. {}",
                    m.attacker_period.start, m.attacker_period.end
                )),
                td_n(m.attacker_records),
                td_n(m.messages),
                td_n(m.folders),
                td_n(m.unaudited_windows)
            )
        }),
    );
    o.push_str("<h2>Unaudited windows</h2><p class=\"muted\">Every 24-hour window of the attacker's mailboxes in which binds were not audited. One that does not overlap the attacker's period there does not raise the level; if other evidence shows the attacker had access then, give it as <code>--compromised-from</code>/<code>--compromised-to</code>.</p>");
    table(
        &mut o,
        &[
            "mailbox",
            "start",
            "end",
            "throttled records",
            "overlaps attacker period",
        ],
        r.all_windows().into_iter().map(|(w, counts)| {
            format!(
                "{}{}{}{}{}",
                td_mono(&w.mailbox),
                td(&format_time(w.start)),
                td(&format_time(w.end)),
                td_mono(&w.record_ids.join(", ")),
                td(if counts { "yes" } else { "no" })
            )
        }),
    );
    o.push_str("<h2>Folders synced in the attacker's context</h2>");
    table(
        &mut o,
        &[
            "mailbox",
            "folder",
            "synced at",
            "session",
            "client IP",
            "record",
        ],
        r.folders.iter().map(|f| {
            format!(
                "{}{}{}{}{}{}",
                td_mono(&f.mailbox),
                td(&f.folder),
                td(&format_time(f.synced_at)),
                td_mono(&f.session_id),
                td_mono(&f.client_ip),
                td_mono(&f.record_id)
            )
        }),
    );
    o.push_str("<h2>Messages opened in the attacker's context</h2>");
    let cov = rep.trace_coverage();
    let _ = write!(
        o,
        "<p class=\"muted\">{} message(s); message trace matched {} ({}%).</p>",
        r.messages.len(),
        cov["messages_matched"],
        (cov["share_matched"].as_f64().unwrap_or(0.0) * 100.0).round()
    );
    table(
        &mut o,
        &[
            "mailbox",
            "InternetMessageId",
            "folder",
            "size",
            "first access",
            "last access",
            "accesses",
            "sender",
            "recipients",
            "subject",
            "received",
        ],
        r.messages.iter().map(|m| {
            let t = rep.traced(&m.internet_message_id);
            let (sender, recipients, subject, received) = match &t {
                Some(t) => (
                    t.sender.clone(),
                    t.recipients.replace(';', ", "),
                    t.subject.to_string(),
                    t.received.map(format_time).unwrap_or_default(),
                ),
                None => (
                    String::new(),
                    String::new(),
                    rep.untraced_reason(m.first_access).to_string(),
                    String::new(),
                ),
            };
            format!(
                "{}{}{}{}{}{}{}{}{}{}{}",
                td_mono(&m.mailbox),
                td_mono(&bracketed(&m.internet_message_id)),
                td(&m.folder),
                m.size_bytes.map_or_else(|| "<td></td>".to_string(), td_n),
                td(&format_time(m.first_access)),
                td(&format_time(m.last_access)),
                td_n(m.accesses),
                td_mono(&sender),
                td_mono(&recipients),
                if t.is_some() {
                    td(&subject)
                } else {
                    format!("<td class=\"muted\">{}</td>", esc(&subject))
                },
                td(&received)
            )
        }),
    );
    if rep.options.expand_sessions {
        o.push_str("<h2>Sessions added by the session pivot</h2>");
        table(
            &mut o,
            &[
                "session",
                "matched by",
                "first matched record",
                "records matched",
                "records added",
                "mailboxes",
                "client IPs",
            ],
            r.pivots.iter().map(|p| {
                format!(
                    "{}{}{}{}{}{}{}",
                    td_mono(&p.session_id),
                    td_mono(&p.matched_by),
                    td_mono(&p.via_record),
                    td_n(p.records_matched),
                    td_n(p.records_added),
                    td_mono(&p.mailboxes.join(", ")),
                    td_mono(&p.client_ips.join(", "))
                )
            }),
        );
    }

    o.push_str("<h2>Methodology</h2><p>The report applies these rules, from Microsoft's MailItemsAccessed investigation guidance and the practitioners' workflow (find the attacker's sessions, list their messages, join message trace):</p><ol>");
    for rule in RULES {
        let _ = write!(o, "<li>{}</li>", esc(rule));
    }
    o.push_str("</ol><h3>Limits</h3><ul>");
    for l in LIMITS {
        let _ = write!(o, "<li>{}</li>", esc(l));
    }
    let without = &r.without_mail_items_accessed;
    if !without.is_empty() {
        const SHOWN: usize = 20;
        let named: Vec<&str> = without.iter().take(SHOWN).map(String::as_str).collect();
        let more = without.len().saturating_sub(SHOWN);
        let _ = write!(
            o,
            "<li>{} account(s) in the evidence have no MailItemsAccessed record for their mailbox: \
             their mail access may not have been audited, so finding no exposure there is not \
             proof that nothing was read: <span class=\"mono\">{}</span>{}.</li>",
            without.len(),
            esc(&named.join(", ")),
            if more > 0 {
                format!(" and {more} more (summary.json lists them all)")
            } else {
                String::new()
            }
        );
    }
    o.push_str("</ul>");
    let _ = write!(
        o,
        "<h3>Evidence</h3><p>{} records read: {} unique, {} duplicates (same record id), {} malformed (skipped, listed by mailscope with their place).</p>",
        ing.read,
        ing.records.len(),
        ing.duplicates,
        ing.malformed_total()
    );
    table(
        &mut o,
        &["input", "bytes", "SHA-256", "shape", "records", "note"],
        ing.files.iter().map(|f| {
            format!(
                "{}{}{}{}{}{}",
                td_mono(&f.path),
                td_n(f.size),
                td_mono(f.sha256.as_deref().unwrap_or("not computed")),
                td(&format!("{} {}", f.container, f.shape)),
                td_n(f.records),
                td(f.error.as_deref().unwrap_or(""))
            )
        }),
    );
    let span = |from: Option<Nanos>, to: Option<Nanos>, none: &str| match (from, to) {
        (None, None) => none.to_string(),
        (a, b) => format!(
            "{} .. {}",
            a.map(format_time).unwrap_or_else(|| "start".into()),
            b.map(format_time).unwrap_or_else(|| "end".into())
        ),
    };
    let window = span(rep.options.from, rep.options.to, "all the evidence");
    let compromise = span(
        rep.options.compromised_from,
        rep.options.compromised_to,
        "not given (the attacker's records alone)",
    );
    let _ = write!(
        o,
        "<p>Time window: {}. Compromise period known from other evidence: {}. Session expansion: {}.</p>",
        esc(&window),
        esc(&compromise),
        if rep.options.expand_sessions {
            "on"
        } else {
            "off"
        }
    );
    let _ = writeln!(
        o,
        "<p class=\"muted\">mailscope {}{}</p></body></html>",
        esc(env!("CARGO_PKG_VERSION")),
        rep.generated_at
            .as_deref()
            .map(|t| format!("; generated at {}", esc(t)))
            .unwrap_or_default()
    );
    o
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<img src=x onerror=\"alert('1')\">&"),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        );
        assert_eq!(esc("a\u{1b}[31mb"), "a\u{FFFD}[31mb");
    }
}
