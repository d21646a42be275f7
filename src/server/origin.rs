//! Which web pages may talk to Mohor: `Origin` and `Host` header rules.
//!
//! A browser always sends the `Origin` of a WebSocket handshake in its
//! serialised form: lowercase scheme and host, no default port, no path, no
//! trailing dot, IP addresses in canonical form. Anything else did not come
//! from a browser page we want to serve, so [`Origin::parse_header`] is strict
//! and refuses it (uppercase hosts, trailing dots, userinfo, paths, `null`).
//!
//! Allow-list entries ([`OriginPattern`]) are written by people, so
//! [`OriginPattern::parse`] is forgiving about case and a trailing `/` but
//! strict about meaning:
//! - `https://host[:port]` matches exactly that origin (a default port,
//!   `:443`, is the same as none);
//! - `https://*.example.gov.in[:port]` matches exactly one more label
//!   (`https://eoffice.example.gov.in`), never the bare domain
//!   (`https://example.gov.in`, list it separately) and never two or more
//!   labels (`https://a.b.example.gov.in`), like a TLS wildcard certificate;
//! - `http://` only for the loopback hosts `127.0.0.1`, `localhost` and
//!   `[::1]` (local development); an `http` origin is never matched by an
//!   `https` entry nor by a wildcard.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A web origin as sent by a browser: scheme, host and (explicit) port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub scheme: Scheme,
    /// Lowercase DNS name, dotted IPv4, or bracketed IPv6 (`[::1]`).
    pub host: String,
    /// Always explicit here (443/80 when the header had none).
    pub port: u16,
}

impl Origin {
    /// Parses an `Origin` header value in the exact form browsers send, or
    /// `None` for anything else (`null`, uppercase, trailing dot, userinfo, a
    /// path, an unknown scheme, a non-canonical IP address ...).
    pub fn parse_header(value: &str) -> Option<Origin> {
        if value.len() > 300 || !value.is_ascii() {
            return None;
        }
        let (scheme, rest) = if let Some(rest) = value.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = value.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else {
            return None;
        };
        let (host, port) = split_host_port(rest)?;
        let host = canonical_host(host)?;
        let port = match port {
            None => scheme.default_port(),
            Some(p) => parse_port(p)?,
        };
        Some(Origin { scheme, host, port })
    }

    /// Loopback hosts as a browser names them.
    pub fn is_loopback_host(&self) -> bool {
        matches!(self.host.as_str(), "127.0.0.1" | "localhost" | "[::1]")
    }
}

impl fmt::Display for Origin {
    /// The serialised form (default port omitted), as a browser sends it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// `host` and the text after the port colon, if any. IPv6 hosts keep brackets.
fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if rest.starts_with('[') {
        let close = rest.find(']')?;
        let host = &rest[..=close];
        let after = &rest[close + 1..];
        if after.is_empty() {
            Some((host, None))
        } else {
            Some((host, Some(after.strip_prefix(':')?)))
        }
    } else {
        match rest.rfind(':') {
            None => Some((rest, None)),
            Some(i) => Some((&rest[..i], Some(&rest[i + 1..]))),
        }
    }
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) || p.starts_with('0') {
        return None;
    }
    p.parse::<u16>().ok().filter(|n| *n != 0)
}

/// The host if it is already in canonical (browser-serialised) form.
fn canonical_host(host: &str) -> Option<String> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ip: Ipv6Addr = inner.parse().ok()?;
        return (ip.to_string() == inner).then(|| host.to_string());
    }
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return None;
        }
    }
    // WHATWG: a host whose last label is numeric is an IPv4 address, and a
    // browser serialises it as a canonical dotted quad.
    let last = labels.last()?;
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || (last.starts_with("0x") && last[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        let ip: Ipv4Addr = host.parse().ok()?;
        return (ip.to_string() == host).then(|| host.to_string());
    }
    Some(host.to_string())
}

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    Exact(Origin),
    /// `https://*.<suffix>[:port]`: exactly one label before `suffix`.
    Wildcard {
        suffix: String,
        port: u16,
    },
}

impl OriginPattern {
    /// Parses an allow-list entry (from `--allow-origin` or the config file).
    pub fn parse(entry: &str) -> Result<OriginPattern> {
        let bad = |why: &str| {
            Error::invalid_request(format!("allowed origin `{entry}`: {why}")).with_hint(
                "write it as https://host[:port], https://*.domain[:port], or http://127.0.0.1:PORT for local development",
            )
        };
        let mut text = entry.trim().to_ascii_lowercase();
        if text.ends_with('/') {
            text.pop();
        }
        if let Some(rest) = text.strip_prefix("https://*.") {
            let (suffix, port) = split_host_port(rest).ok_or_else(|| bad("not an origin"))?;
            let suffix =
                canonical_host(suffix).ok_or_else(|| bad("not a valid domain after `*.`"))?;
            let labels = suffix.split('.').count();
            let is_ip = suffix.starts_with('[') || suffix.parse::<Ipv4Addr>().is_ok();
            if labels < 2 || is_ip {
                return Err(bad(
                    "a wildcard needs a domain of at least two labels after `*.` (e.g. https://*.example.gov.in)",
                ));
            }
            let port = match port {
                None => 443,
                Some(p) => parse_port(p).ok_or_else(|| bad("invalid port"))?,
            };
            return Ok(OriginPattern::Wildcard { suffix, port });
        }
        if text.contains('*') {
            return Err(bad(
                "`*` is only allowed as the first label of an https origin",
            ));
        }
        let origin = Origin::parse_header(&text).ok_or_else(|| {
            bad("not an origin (scheme://host[:port], without path, user or trailing dot)")
        })?;
        if origin.scheme == Scheme::Http && !origin.is_loopback_host() {
            return Err(bad(
                "plain http is allowed only for 127.0.0.1, localhost and [::1]; use https",
            ));
        }
        Ok(OriginPattern::Exact(origin))
    }

    pub fn matches(&self, origin: &Origin) -> bool {
        match self {
            OriginPattern::Exact(o) => o == origin,
            OriginPattern::Wildcard { suffix, port } => {
                origin.scheme == Scheme::Https
                    && origin.port == *port
                    && origin
                        .host
                        .strip_suffix(suffix.as_str())
                        .and_then(|p| p.strip_suffix('.'))
                        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
            }
        }
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginPattern::Exact(o) => o.fmt(f),
            OriginPattern::Wildcard { suffix, port } => {
                write!(f, "https://*.{suffix}")?;
                if *port != 443 {
                    write!(f, ":{port}")?;
                }
                Ok(())
            }
        }
    }
}

/// The allow-list.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    patterns: Vec<OriginPattern>,
}

impl OriginPolicy {
    pub fn new(entries: &[String]) -> Result<OriginPolicy> {
        Ok(OriginPolicy {
            patterns: entries
                .iter()
                .map(|e| OriginPattern::parse(e))
                .collect::<Result<_>>()?,
        })
    }

    pub fn allows(&self, origin: &Origin) -> bool {
        self.patterns.iter().any(|p| p.matches(origin))
    }

    pub fn patterns(&self) -> &[OriginPattern] {
        &self.patterns
    }
}

/// DNS-rebinding defence: the `Host` header must name the loopback address
/// and the port Mohor is bound to, exactly as a browser writes it.
pub fn host_allowed(host: &str, port: u16) -> bool {
    let Some((name, p)) = host.rsplit_once(':') else {
        return false;
    };
    parse_port(p) == Some(port) && matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OriginPolicy {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        match OriginPolicy::new(&entries) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn allowed(p: &OriginPolicy, header: &str) -> bool {
        Origin::parse_header(header).is_some_and(|o| p.allows(&o))
    }

    #[test]
    fn an_exact_entry_matches_only_that_origin_with_default_ports_normalised() {
        let p = policy(&["https://eoffice.gov.in"]);
        assert!(allowed(&p, "https://eoffice.gov.in"));
        assert!(allowed(&p, "https://eoffice.gov.in:443"));
        assert!(!allowed(&p, "https://eoffice.gov.in:8443"));
        assert!(!allowed(&p, "http://eoffice.gov.in"));
        assert!(!allowed(&p, "https://www.eoffice.gov.in"));
        let p = policy(&["https://portal.example.gov.in:8443"]);
        assert!(allowed(&p, "https://portal.example.gov.in:8443"));
        assert!(!allowed(&p, "https://portal.example.gov.in"));
    }

    #[test]
    fn lookalikes_and_odd_forms_never_match() {
        let p = policy(&["https://eoffice.gov.in", "https://*.example.gov.in"]);
        for header in [
            "https://eoffice.gov.in.evil.example",
            "https://evil-eoffice.gov.in",
            "https://eoffice.gov.in.",
            "https://EOFFICE.gov.in",
            "HTTPS://eoffice.gov.in",
            "https://user@eoffice.gov.in",
            "https://user:pw@eoffice.gov.in",
            "https://eoffice.gov.in/",
            "https://eoffice.gov.in/path",
            "https://eoffice.gov.in?x",
            "https://eoffice.gov.in#x",
            "https://eoffice.gov.in:",
            "https://eoffice.gov.in:0443",
            "https://eoffice.gov.in:99999",
            " https://eoffice.gov.in",
            "https://eoffice..gov.in",
            "https://eoffice.gov.in%2f",
            "null",
            "",
            "file://",
            "chrome-extension://abcdef",
            "https://example.gov.in",
            "https://a.b.example.gov.in",
            "https://xn--80ak6aa92e.example.gov.in.evil",
        ] {
            assert!(!allowed(&p, header), "{header:?} must be refused");
        }
    }

    #[test]
    fn a_wildcard_matches_exactly_one_label_on_https_and_its_port() {
        let p = policy(&["https://*.example.gov.in"]);
        assert!(allowed(&p, "https://eoffice.example.gov.in"));
        assert!(allowed(&p, "https://xn--h2brj9c.example.gov.in"));
        assert!(
            !allowed(&p, "https://example.gov.in"),
            "never the bare domain"
        );
        assert!(!allowed(&p, "https://a.b.example.gov.in"), "only one label");
        assert!(!allowed(&p, "https://evilexample.gov.in"));
        assert!(!allowed(&p, "http://eoffice.example.gov.in"));
        assert!(!allowed(&p, "https://eoffice.example.gov.in:8443"));
        let p = policy(&["https://*.example.gov.in", "https://example.gov.in"]);
        assert!(
            allowed(&p, "https://example.gov.in"),
            "the bare domain when listed"
        );
    }

    #[test]
    fn http_is_allowed_only_for_explicit_loopback_entries() {
        let p = policy(&[
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "http://[::1]:5000",
        ]);
        assert!(allowed(&p, "http://127.0.0.1:8080"));
        assert!(allowed(&p, "http://localhost:3000"));
        assert!(allowed(&p, "http://[::1]:5000"));
        assert!(!allowed(&p, "http://127.0.0.1:8081"));
        assert!(!allowed(&p, "http://localhost:8080"), "a different origin");
        assert!(!allowed(&p, "https://127.0.0.1:8080"));
        for entry in [
            "http://eoffice.gov.in",
            "http://10.0.0.5:8080",
            "http://*.gov.in",
        ] {
            assert!(OriginPattern::parse(entry).is_err(), "{entry}");
        }
    }

    #[test]
    fn ip_addresses_must_be_canonical() {
        let p = policy(&["http://127.0.0.1:8080", "http://[::1]:8080"]);
        for header in [
            "http://127.1:8080",
            "http://0x7f.0.0.1:8080",
            "http://127.000.000.001:8080",
            "http://[0:0:0:0:0:0:0:1]:8080",
            "http://[::1%25lo]:8080",
            "http://[::1]8080",
        ] {
            assert!(!allowed(&p, header), "{header}");
        }
    }

    #[test]
    fn entries_are_forgiving_about_case_and_a_trailing_slash_but_not_meaning() {
        assert_eq!(
            OriginPattern::parse("HTTPS://EOffice.gov.in/")
                .map(|p| p.to_string())
                .ok(),
            Some("https://eoffice.gov.in".to_string())
        );
        assert_eq!(
            OriginPattern::parse("https://eoffice.gov.in:443")
                .map(|p| p.to_string())
                .ok(),
            Some("https://eoffice.gov.in".to_string())
        );
        for entry in [
            "*",
            "https://*",
            "https://*.in",
            "https://*.127.0.0.1",
            "https://a.*.gov.in",
            "https://eoffice.gov.in/path",
            "eoffice.gov.in",
            "https://user@eoffice.gov.in",
            "ftp://eoffice.gov.in",
            "https://eoffice.gov.in.",
        ] {
            assert!(OriginPattern::parse(entry).is_err(), "{entry}");
        }
    }

    #[test]
    fn the_host_header_must_be_loopback_with_the_bound_port() {
        assert!(host_allowed("127.0.0.1:21760", 21760));
        assert!(host_allowed("localhost:21760", 21760));
        assert!(host_allowed("[::1]:21760", 21760));
        for host in [
            "127.0.0.1:21761",
            "127.0.0.1",
            "localhost",
            "evil.example:21760",
            "mohor.attacker.example:21760",
            "LOCALHOST:21760",
            "127.0.0.2:21760",
            "0.0.0.0:21760",
            "127.0.0.1:021760",
            "",
        ] {
            assert!(!host_allowed(host, 21760), "{host}");
        }
    }

    #[test]
    fn origins_display_in_serialised_form() {
        let o = Origin::parse_header("https://a.gov.in:443");
        assert_eq!(o.map(|o| o.to_string()), Some("https://a.gov.in".into()));
        let o = Origin::parse_header("http://127.0.0.1:8080");
        assert_eq!(
            o.map(|o| o.to_string()),
            Some("http://127.0.0.1:8080".into())
        );
    }
}
