//! Name lookups with a deadline. ureq's timeouts start once it has an
//! address: the system resolver (`getaddrinfo`) runs before them and cannot
//! be interrupted, so a time-stamp service's name on an office network
//! whose DNS server does not answer held a signature — before the PIN
//! dialog, with nothing on screen — for as long as the resolver's own
//! retries took (tens of seconds). The lookup now runs on a thread of its
//! own and the request gives up when the configured timeout passes; the
//! thread finishes (or not) on its own and is then dropped.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

type Lookup = dyn Fn(&str) -> io::Result<Vec<SocketAddr>> + Send + Sync;

/// A ureq resolver that answers within `timeout` or fails.
#[derive(Clone)]
pub struct DeadlineResolver {
    timeout: Duration,
    lookup: Arc<Lookup>,
}

impl DeadlineResolver {
    /// The system resolver, bounded by `timeout`.
    pub fn system(timeout: Duration) -> Self {
        Self::with_lookup(timeout, |netloc| {
            netloc.to_socket_addrs().map(Iterator::collect)
        })
    }

    /// Any lookup (a test's), bounded by `timeout`.
    pub fn with_lookup(
        timeout: Duration,
        lookup: impl Fn(&str) -> io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> Self {
        DeadlineResolver {
            timeout,
            lookup: Arc::new(lookup),
        }
    }
}

impl ureq::Resolver for DeadlineResolver {
    fn resolve(&self, netloc: &str) -> io::Result<Vec<SocketAddr>> {
        // An address needs no lookup (and no thread): loopback services,
        // and responders named by IP.
        if let Ok(addr) = netloc.parse::<SocketAddr>() {
            return Ok(vec![addr]);
        }
        let (tx, rx) = mpsc::channel();
        let lookup = Arc::clone(&self.lookup);
        let name = netloc.to_string();
        std::thread::Builder::new()
            .name("mohor-dns".into())
            .spawn(move || {
                // The receiver may have given up; nothing to do then.
                let _ = tx.send(lookup(&name));
            })?;
        match rx.recv_timeout(self.timeout) {
            Ok(answer) => answer,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "looking up {netloc} took longer than {} s (is the network's name server answering?)",
                    self.timeout.as_secs_f32()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_lookup_that_hangs_fails_at_the_deadline() {
        let r = DeadlineResolver::with_lookup(Duration::from_millis(200), |_| {
            std::thread::sleep(Duration::from_secs(5));
            Ok(vec![])
        });
        let t = Instant::now();
        let e = ureq::Resolver::resolve(&r, "tsa.example.in:80").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("tsa.example.in:80"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }

    #[test]
    fn addresses_and_quick_answers_pass_through() {
        let r = DeadlineResolver::with_lookup(Duration::from_secs(1), |_| {
            Ok(vec![SocketAddr::from(([192, 0, 2, 7], 80))])
        });
        let direct = ureq::Resolver::resolve(&r, "127.0.0.1:8080").unwrap();
        assert_eq!(direct, vec!["127.0.0.1:8080".parse().unwrap()]);
        let looked_up = ureq::Resolver::resolve(&r, "tsa.example.in:80").unwrap();
        assert_eq!(looked_up, vec!["192.0.2.7:80".parse().unwrap()]);
    }
}
