//! The network seam: the few HTTP exchanges long-term signatures need
//! (RFC 3161 time-stamp requests, OCSP requests, CRL downloads).
//!
//! Everything above this module talks to an [`HttpClient`], so the pure
//! checks can be tested with canned answers and the service can be given a
//! client the way it is given a clock. [`UreqClient`] is the real one:
//! `ureq` 2 with rustls (http and https), short timeouts, no redirects, no
//! proxy (none is read from the environment), and a cap on answer size.

mod resolve;

use std::io::Read as _;
use std::time::Duration;

pub use resolve::DeadlineResolver;

/// Answers larger than this are refused (a CRL of a large CA is a few MB).
pub const MAX_ANSWER: u64 = 16 << 20;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum NetError {
    #[error("{url} is not an http or https address")]
    BadUrl { url: String },
    #[error("{url} could not be reached: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} answered more than {MAX_ANSWER} bytes")]
    TooLarge { url: String },
}

/// One HTTP exchange at a time; implementations must time out.
pub trait HttpClient: Send + Sync {
    /// POST `body` as `content_type`; the answer's body on 2xx.
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, NetError>;
    /// GET; the answer's body on 2xx.
    fn get(&self, url: &str) -> Result<Vec<u8>, NetError>;
    /// Whether `url`'s server answers at all (any HTTP status counts):
    /// asked before the PIN so a dead service is reported before signing.
    fn reachable(&self, url: &str) -> Result<(), NetError>;
}

/// HTTP Basic credentials some time-stamp services ask for.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ..)", self.username)
    }
}

/// The real client.
pub struct UreqClient {
    agent: ureq::Agent,
    credentials: Option<(String, Credentials)>,
}

impl UreqClient {
    /// `timeout` bounds each exchange as a whole (connect included), and
    /// the name lookup before it.
    pub fn new(timeout: Duration) -> Self {
        Self::with_resolver(timeout, DeadlineResolver::system(timeout))
    }

    /// The client with `resolver` for names (tests give a slow one).
    pub fn with_resolver(timeout: Duration, resolver: DeadlineResolver) -> Self {
        let agent = ureq::AgentBuilder::new()
            .resolver(resolver)
            .timeout_connect(timeout)
            .timeout(timeout)
            .redirects(0)
            .user_agent(concat!("mohor/", env!("CARGO_PKG_VERSION")))
            .build();
        UreqClient {
            agent,
            credentials: None,
        }
    }

    /// Send `credentials` (HTTP Basic) to exactly `url` (the configured
    /// time-stamp service), never to a responder or CRL server.
    pub fn with_credentials(mut self, url: &str, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials
            .filter(|_| !url.is_empty())
            .map(|c| (url.to_string(), c));
        self
    }

    fn request(&self, method: &str, url: &str) -> Result<ureq::Request, NetError> {
        check_url(url)?;
        let mut req = self.agent.request(method, url);
        if let Some((only, c)) = &self.credentials {
            if url == only.as_str() {
                use base64::Engine as _;
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", c.username, c.password));
                req = req.set("Authorization", &format!("Basic {token}"));
            }
        }
        Ok(req)
    }
}

fn check_url(url: &str) -> Result<(), NetError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(())
    } else {
        Err(NetError::BadUrl {
            url: url.to_string(),
        })
    }
}

fn answer(url: &str, result: Result<ureq::Response, ureq::Error>) -> Result<Vec<u8>, NetError> {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(status, _)) => {
            return Err(NetError::Status {
                url: url.to_string(),
                status,
            })
        }
        Err(ureq::Error::Transport(t)) => {
            return Err(NetError::Unreachable {
                url: url.to_string(),
                detail: t.to_string(),
            })
        }
    };
    if !(200..300).contains(&response.status()) {
        return Err(NetError::Status {
            url: url.to_string(),
            status: response.status(),
        });
    }
    let mut body = Vec::new();
    response
        .into_reader()
        .take(MAX_ANSWER + 1)
        .read_to_end(&mut body)
        .map_err(|e| NetError::Unreachable {
            url: url.to_string(),
            detail: e.to_string(),
        })?;
    if body.len() as u64 > MAX_ANSWER {
        return Err(NetError::TooLarge {
            url: url.to_string(),
        });
    }
    Ok(body)
}

impl HttpClient for UreqClient {
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, NetError> {
        let req = self.request("POST", url)?.set("Content-Type", content_type);
        answer(url, req.send_bytes(body))
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, NetError> {
        let req = self.request("GET", url)?;
        answer(url, req.call())
    }

    fn reachable(&self, url: &str) -> Result<(), NetError> {
        match self.request("GET", url)?.call() {
            Ok(_) | Err(ureq::Error::Status(..)) => Ok(()),
            Err(ureq::Error::Transport(t)) => Err(NetError::Unreachable {
                url: url.to_string(),
                detail: t.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_addresses_are_used() {
        assert!(check_url("http://127.0.0.1:1/tsa").is_ok());
        assert!(check_url("HTTPS://tsa.example/").is_ok());
        for bad in ["file:///etc/passwd", "ldap://x/", "ftp://x/", "127.0.0.1"] {
            assert!(
                matches!(check_url(bad), Err(NetError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn credentials_go_to_the_configured_url_only() {
        let c = || {
            Some(Credentials {
                username: "u".into(),
                password: "p".into(),
            })
        };
        let client = UreqClient::new(Duration::from_secs(1)).with_credentials("", c());
        assert!(client.credentials.is_none(), "no URL: nobody gets them");
        let client =
            UreqClient::new(Duration::from_secs(1)).with_credentials("http://tsa.example/ts", c());
        let auth = |url: &str| {
            client
                .request("POST", url)
                .ok()
                .and_then(|r| r.header("Authorization").map(str::to_string))
        };
        assert!(auth("http://tsa.example/ts").is_some());
        assert!(auth("http://tsa.example/ts.evil.example/").is_none());
        assert!(auth("http://ocsp.example/").is_none());
    }

    #[test]
    fn a_closed_port_is_unreachable_not_a_hang() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = UreqClient::new(Duration::from_secs(2));
        let url = format!("http://127.0.0.1:{port}/");
        assert!(matches!(
            client.post(&url, "application/timestamp-query", b"x"),
            Err(NetError::Unreachable { .. })
        ));
        assert!(client.reachable(&url).is_err());
    }

    #[test]
    fn a_name_server_that_never_answers_is_unreachable_at_the_timeout() {
        let timeout = Duration::from_millis(300);
        let silent = DeadlineResolver::with_lookup(timeout, |_| {
            std::thread::sleep(Duration::from_secs(10));
            Ok(vec![])
        });
        let client = UreqClient::with_resolver(timeout, silent);
        let t = std::time::Instant::now();
        let e = client.reachable("http://tsa.example.in/tsa").unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        let NetError::Unreachable { detail, .. } = &e else {
            panic!("{e:?}");
        };
        assert!(detail.contains("name server"), "{detail}");
    }
}
