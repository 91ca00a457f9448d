//! Record filters shared by every command: time window, scope (mailbox, access type) and
//! indicators (user, IP or CIDR, session, app id, client string, IOC file).
//!
//! Different filters must all match (AND); several values of one filter mean any of them
//! (OR). The indicators of an `--ioc` file form one more group: a record passes it when it
//! matches any one indicator of the file.

use crate::model::{AccessType, Nanos, Record};
use crate::parse::fields::{normalize_identity, normalize_ip, parse_iso_time};
use std::net::IpAddr;

/// An IP address or a CIDR block, matched against the normalized client address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `1.2.3.4`, `1.2.3.0/24`, `2001:db8::/32`, and the export notations
    /// (`[v6]:port`, `v4:port`, `::ffff:v4`).
    ///
    /// ```
    /// use mailscope::analyze::filter::IpNet;
    /// let net = IpNet::parse("2001:db8::/32").unwrap();
    /// assert!(net.contains(&"2001:db8::66".parse().unwrap()));
    /// assert!(IpNet::parse("[2001:db8::1]:443").is_some());
    /// assert!(IpNet::parse("300.1.1.1").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<IpNet> {
        let s = s.trim();
        let (host, prefix) = match s.rsplit_once('/') {
            Some((h, p)) => (h, Some(p.parse::<u8>().ok()?)),
            None => (s, None),
        };
        let addr: IpAddr = normalize_ip(host).parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(net) & mask == u32::from(*a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(net) & mask == u128::from(*a) & mask
            }
            _ => false,
        }
    }
}

/// One indicator of compromise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Indicator {
    Ip(IpNet),
    /// A GUID-like value: matched against SessionId, AppId and ClientAppId.
    Guid(String),
    Session(String),
    App(String),
    User(String),
    Mailbox(String),
    /// A substring of ClientInfoString (case-insensitive).
    Client(String),
}

impl Indicator {
    /// Parses `kind:value` (`ip:`, `cidr:`, `session:`, `app:`, `user:`, `mailbox:`,
    /// `client:`) or a bare value typed by its form: an address or CIDR, a GUID, a UPN, or
    /// else a client string.
    pub fn parse(line: &str) -> Result<Indicator, String> {
        let line = line.trim();
        if let Some((kind, value)) = line.split_once(':') {
            let value = value.trim();
            let kind = kind.trim().to_ascii_lowercase();
            let typed = match kind.as_str() {
                "ip" | "cidr" => Some(
                    IpNet::parse(value)
                        .map(Indicator::Ip)
                        .ok_or_else(|| format!("'{value}' is not an IP address or CIDR"))?,
                ),
                "session" => Some(Indicator::Session(value.to_ascii_lowercase())),
                "app" | "appid" | "app-id" => Some(Indicator::App(value.to_ascii_lowercase())),
                "user" => Some(Indicator::User(normalize_identity(value))),
                "mailbox" => Some(Indicator::Mailbox(normalize_identity(value))),
                "client" => Some(Indicator::Client(value.to_lowercase())),
                _ => None,
            };
            if let Some(t) = typed {
                if value.is_empty() {
                    return Err(format!("'{line}' has no value"));
                }
                return Ok(t);
            }
        }
        if let Some(ip) = IpNet::parse(line) {
            return Ok(Indicator::Ip(ip));
        }
        if looks_like_an_address(line) {
            // `203.0.113.066`, `10.0.0.0/33`: a mistyped address must not quietly become a
            // client string that matches nothing.
            return Err(format!(
                "'{line}' looks like an IP address or CIDR but is not one (write client:{line} \
                 for a client string)"
            ));
        }
        if is_guid(line) {
            return Ok(Indicator::Guid(line.to_ascii_lowercase()));
        }
        if line.contains('@') && !line.contains(char::is_whitespace) {
            return Ok(Indicator::User(normalize_identity(line)));
        }
        Ok(Indicator::Client(line.to_lowercase()))
    }

    pub fn matches(&self, r: &Record) -> bool {
        let Some(m) = &r.mail else {
            return match self {
                Indicator::User(u) => r.user == *u,
                Indicator::Mailbox(mb) => r.mailbox == *mb,
                _ => false,
            };
        };
        match self {
            Indicator::Ip(net) => m.client_ip.parse().is_ok_and(|ip| net.contains(&ip)),
            Indicator::Guid(g) => {
                m.session_id.eq_ignore_ascii_case(g) || m.app_id == *g || m.client_app_id == *g
            }
            Indicator::Session(s) => m.session_id.eq_ignore_ascii_case(s),
            Indicator::App(a) => m.app_id == *a || m.client_app_id == *a,
            Indicator::User(u) => r.user == *u,
            Indicator::Mailbox(mb) => r.mailbox == *mb,
            Indicator::Client(c) => m.client_info.to_lowercase().contains(c.as_str()),
        }
    }
}

/// Written like an address or CIDR block: four dot-separated groups of one to three digits
/// (`203.0.113.066`, `10.0.0.0/33`), or hex groups of up to four digits between two or more
/// colons (`2001:db8:::1`). Client version strings (`16.0.17231.20182`) are not.
fn looks_like_an_address(s: &str) -> bool {
    let host = s.split('/').next().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let dotted = || {
        let groups: Vec<&str> = host.split('.').collect();
        groups.len() == 4
            && groups
                .iter()
                .all(|g| (1..=3).contains(&g.len()) && g.bytes().all(|c| c.is_ascii_digit()))
    };
    let coloned = || {
        host.matches(':').count() >= 2
            && host
                .split(':')
                .all(|g| g.len() <= 4 && g.bytes().all(|c| c.is_ascii_hexdigit()))
    };
    dotted() || coloned()
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Parses an IOC file: one indicator a line; blank lines and `#` comments are skipped, and so
/// is anything after a `#` that follows white space (a space or a tab) on a line.
pub fn parse_ioc_file(text: &str) -> Result<Vec<Indicator>, String> {
    Ok(parse_ioc_entries(text)?
        .into_iter()
        .map(|(_, _, i)| i)
        .collect())
}

/// Like [`parse_ioc_file`], keeping each indicator's line number and text.
pub fn parse_ioc_entries(text: &str) -> Result<Vec<(usize, String, Indicator)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = without_comment(line).trim();
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let ind = Indicator::parse(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        out.push((i + 1, line.to_string(), ind));
    }
    Ok(out)
}

/// `line` up to its first `#` that follows white space.
fn without_comment(line: &str) -> &str {
    let b = line.as_bytes();
    match (1..b.len()).find(|&i| b[i] == b'#' && b[i - 1].is_ascii_whitespace()) {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Parses `--from`/`--to`: RFC 3339 (a time without zone is UTC) or a date. A date given as
/// `--to` means the end of that day.
pub fn parse_bound(s: &str, end_of_day: bool) -> Result<Nanos, String> {
    let t = parse_iso_time(s).ok_or_else(|| {
        format!("'{s}' is not a date or RFC 3339 time (e.g. 2024-05-01 or 2024-05-01T13:00:00Z)")
    })?;
    // A date without a time of day, however written (`2024-05-01`, `2024-5-1`).
    let date_only = !s.trim().contains(['T', 't', ' ', ':']);
    Ok(if date_only && end_of_day {
        t + 86_400_000_000_000 - 1
    } else {
        t
    })
}

/// A compiled filter.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from: Option<Nanos>,
    pub to: Option<Nanos>,
    pub mailboxes: Vec<String>,
    pub users: Vec<String>,
    pub ips: Vec<IpNet>,
    pub sessions: Vec<String>,
    pub apps: Vec<String>,
    pub clients: Vec<String>,
    pub access: Vec<AccessType>,
    pub iocs: Vec<Indicator>,
}

impl Filter {
    /// True when no indicator filter is set (user, IP, session, app, client, IOC).
    pub fn has_indicators(&self) -> bool {
        !(self.users.is_empty()
            && self.ips.is_empty()
            && self.sessions.is_empty()
            && self.apps.is_empty()
            && self.clients.is_empty()
            && self.iocs.is_empty())
    }

    /// Does a record pass? Non-MailItemsAccessed records pass only filters they can answer
    /// (time, user, mailbox); the commands work on MailItemsAccessed records.
    pub fn matches(&self, r: &Record) -> bool {
        if self.from.is_some_and(|f| r.time < f) || self.to.is_some_and(|t| r.time > t) {
            return false;
        }
        if !self.mailboxes.is_empty() && !self.mailboxes.iter().any(|m| r.mailbox == *m) {
            return false;
        }
        if !self.users.is_empty() && !self.users.iter().any(|u| r.user == *u) {
            return false;
        }
        if !self.iocs.is_empty() && !self.iocs.iter().any(|i| i.matches(r)) {
            return false;
        }
        let Some(m) = &r.mail else {
            return self.ips.is_empty()
                && self.sessions.is_empty()
                && self.apps.is_empty()
                && self.clients.is_empty()
                && self.access.is_empty();
        };
        if !self.access.is_empty() && !self.access.contains(&m.access) {
            return false;
        }
        if !self.ips.is_empty() {
            let Ok(ip) = m.client_ip.parse::<IpAddr>() else {
                return false;
            };
            if !self.ips.iter().any(|n| n.contains(&ip)) {
                return false;
            }
        }
        if !self.sessions.is_empty()
            && !self
                .sessions
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&m.session_id))
        {
            return false;
        }
        if !self.apps.is_empty()
            && !self
                .apps
                .iter()
                .any(|a| m.app_id == *a || m.client_app_id == *a)
        {
            return false;
        }
        if !self.clients.is_empty() {
            let ci = m.client_info.to_lowercase();
            if !self.clients.iter().any(|c| ci.contains(c.as_str())) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_and_cidr_in_every_notation() {
        let one = IpNet::parse("2001:db8::1").unwrap();
        for form in ["[2001:db8::1]:443", "2001:DB8:0::1", "[2001:db8::1]"] {
            let ip: IpAddr = normalize_ip(form).parse().unwrap();
            assert!(one.contains(&ip), "{form}");
        }
        let v4 = IpNet::parse("10.11.12.0/24").unwrap();
        for form in ["10.11.12.13:12345", "::ffff:10.11.12.13", "[10.11.12.13]:1"] {
            let ip: IpAddr = normalize_ip(form).parse().unwrap();
            assert!(v4.contains(&ip), "{form}");
        }
        assert!(!v4.contains(&"10.11.13.1".parse().unwrap()));
        let v6net = IpNet::parse("2001:db8::/32").unwrap();
        assert!(v6net.contains(&"2001:db8:ffff::9".parse().unwrap()));
        assert!(!v6net.contains(&"2001:db9::9".parse().unwrap()));
        assert_eq!(IpNet::parse("10.0.0.0/33"), None);
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains(&"8.8.8.8".parse().unwrap())
        );
    }

    #[test]
    fn ioc_lines_are_typed() {
        let iocs = parse_ioc_file(
            "# attacker\n\n1.2.3.4\n2001:db8::/32 # their v6 range\n\
             1F99E672-8141-4a22-9aa0-96357297e843\nuser:Eve@Evil.example\n\
             client:Client=REST\nsession:abc\n",
        )
        .unwrap();
        assert_eq!(iocs.len(), 6);
        assert!(matches!(iocs[0], Indicator::Ip(_)));
        assert!(matches!(iocs[1], Indicator::Ip(_)));
        assert_eq!(
            iocs[2],
            Indicator::Guid("1f99e672-8141-4a22-9aa0-96357297e843".into())
        );
        assert_eq!(iocs[3], Indicator::User("eve@evil.example".into()));
        assert_eq!(iocs[4], Indicator::Client("client=rest".into()));
        assert_eq!(iocs[5], Indicator::Session("abc".into()));
        assert!(parse_ioc_file("ip:not-an-ip").is_err());
    }

    #[test]
    fn ioc_comments_follow_any_white_space_and_mistyped_addresses_are_refused() {
        let ip = Indicator::Ip(IpNet::parse("203.0.113.66").unwrap());
        for line in [
            "203.0.113.66\t# VPN",
            "203.0.113.66 # VPN",
            "203.0.113.66\t#",
            "203.0.113.66",
        ] {
            assert_eq!(parse_ioc_file(line), Ok(vec![ip.clone()]), "{line:?}");
        }
        // A `#` inside a value is part of it.
        assert_eq!(
            parse_ioc_file("client:Client=a#b"),
            Ok(vec![Indicator::Client("client=a#b".into())])
        );
        for typo in [
            "203.0.113.066",
            "203.0.113.256",
            "203.0.113.0/33",
            "2001:db8::/129",
            "2001:db8:::1",
        ] {
            let err = parse_ioc_file(typo).unwrap_err();
            assert!(err.contains("looks like an IP address"), "{typo}: {err}");
        }
        // Client strings, client versions and words made of hex digits stay client strings.
        for client in ["16.0.17231.20182", "2024.05.01", "10.1"] {
            assert_eq!(
                parse_ioc_file(client),
                Ok(vec![Indicator::Client(client.into())])
            );
        }
        assert_eq!(
            parse_ioc_file("Client=REST;;\ncafe\n"),
            Ok(vec![
                Indicator::Client("client=rest;;".into()),
                Indicator::Client("cafe".into())
            ])
        );
    }

    #[test]
    fn bounds() {
        let from = parse_bound("2024-05-01", false).unwrap();
        let to = parse_bound("2024-05-01", true).unwrap();
        assert_eq!(to - from, 86_400_000_000_000 - 1);
        assert!(parse_bound("yesterday", false).is_err());
        // A date however written means its whole day as `--to`; a time means that time.
        assert_eq!(parse_bound("2024-5-1", true), Ok(to));
        assert_eq!(parse_bound(" 2024-05-1 ", true), Ok(to));
        assert_eq!(parse_bound("2024-05-01T00:00:00Z", true).unwrap(), from);
        assert_eq!(parse_bound("2024-05-01 00:00:00", true).unwrap(), from);
    }
}
