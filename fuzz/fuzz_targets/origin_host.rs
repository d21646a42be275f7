//! `Origin` and `Host` header rules and allow-list entries. Input: three
//! newline-separated fields (allow-list entry, Origin header, Host header)
//! and a port from the first two bytes. Properties: a parsed Origin prints
//! back to the header it came from (browsers send one canonical form;
//! only an explicit default port is normalised away); an accepted entry reparses to itself;
//! http is matched only for loopback hosts; the Host rule accepts only the
//! three loopback spellings with the bound port.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mohor::server::origin::{host_allowed, Origin, OriginPattern};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let port = u16::from_le_bytes([data[0], data[1]]);
    let Ok(text) = std::str::from_utf8(&data[2..]) else {
        return;
    };
    let mut fields = text.splitn(3, '\n');
    let entry = fields.next().unwrap_or("");
    let header = fields.next().unwrap_or("");
    let host = fields.next().unwrap_or("");

    let origin = Origin::parse_header(header);
    if let Some(o) = &origin {
        // Canonical form, except that an explicit default port (which no
        // browser sends; allow-list entries may write it) is dropped.
        let printed = o.to_string();
        let default_port = if printed.starts_with("https:") {
            ":443"
        } else {
            ":80"
        };
        assert!(
            printed == header || format!("{printed}{default_port}") == header,
            "{header:?} was accepted as {printed:?}"
        );
        assert_eq!(Origin::parse_header(&o.to_string()).as_ref(), Some(o));
    }
    if let Ok(pattern) = OriginPattern::parse(entry) {
        let again = OriginPattern::parse(&pattern.to_string());
        assert_eq!(
            again.ok().as_ref(),
            Some(&pattern),
            "an entry reparses to itself"
        );
        if let Some(o) = &origin {
            if pattern.matches(o) && o.to_string().starts_with("http:") {
                assert!(o.is_loopback_host(), "plain http matched for {o}");
            }
        }
    }
    if host_allowed(host, port) {
        let expected = ["127.0.0.1", "localhost", "[::1]"].map(|h| format!("{h}:{port}"));
        assert!(
            expected.contains(&host.to_string()),
            "Host {host:?} passed for port {port}"
        );
    }
});
