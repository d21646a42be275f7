//! The config file: raw TOML → a validated [`Config`] (parse, don't validate
//! later). A missing file is the default configuration; a broken one is an
//! error that names the file and the line.

use std::path::{Path, PathBuf};

use crate::error::{Error, Reason};
use crate::sign::DigestAlgorithm;
use crate::token::guard::Limits;

/// The port the agent listens on first (contract).
pub const DEFAULT_PORT: u16 = 21760;

/// Default cap on documents held for web pages at once (uploads and unread
/// downloads of every connection): room for a few 200 MB documents.
pub const DEFAULT_MAX_SPOOL_MIB: u64 = 1024;

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    modules: Vec<PathBuf>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    ca_certificates: Vec<PathBuf>,
    /// Roots `mohor verify` trusts besides (or, with `trust_roots_replace`,
    /// instead of) the shipped CCA India roots.
    #[serde(default)]
    trust_roots: Vec<PathBuf>,
    #[serde(default)]
    trust_roots_replace: bool,
    port: Option<u16>,
    max_spool_mib: Option<u64>,
    #[serde(default)]
    pin: RawPin,
    #[serde(default)]
    signing: RawSigning,
    #[serde(default)]
    sites: RawSites,
    #[serde(default)]
    timestamp: RawTimestamp,
}

/// `[timestamp]`: the RFC 3161 service long-term signatures use (B-T and
/// up). Only the person's configuration (or `--tsa`) names it, never a page.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimestamp {
    url: Option<String>,
    /// HTTP Basic credentials, for services that ask for them.
    username: Option<String>,
    password: Option<String>,
    /// Seconds each exchange with the TSA, an OCSP responder or a CRL
    /// server may take.
    timeout_secs: Option<u64>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSites {
    /// Days a site allowed at the "trust this site?" prompt stays trusted.
    trust_days: Option<u32>,
    /// "Trust this site?" prompts per minute, all origins together.
    prompts_per_minute: Option<u32>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPin {
    soft_limit: Option<u32>,
    hard_limit: Option<u32>,
    #[serde(default)]
    model: Vec<RawModelLimits>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModelLimits {
    /// Matched against the token's model (CK_TOKEN_INFO.model), case-insensitive substring.
    model: String,
    soft_limit: Option<u32>,
    hard_limit: Option<u32>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigning {
    digest: Option<String>,
    #[serde(default)]
    rsa_pss: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLimits {
    pub model: String,
    pub limits: Limits,
}

/// Mohor's validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub modules: Vec<PathBuf>,
    pub allowed_origins: Vec<String>,
    pub ca_certificates: Vec<PathBuf>,
    pub trust_roots: Vec<PathBuf>,
    pub trust_roots_replace: bool,
    pub port: u16,
    /// `max_spool_mib`, in bytes.
    pub max_spool_bytes: u64,
    pub default_limits: Limits,
    pub model_limits: Vec<ModelLimits>,
    pub digest: DigestAlgorithm,
    pub rsa_pss: bool,
    /// How long a site the person allowed stays trusted (`[sites] trust_days`).
    pub site_trust_days: u32,
    /// At most this many "trust this site?" prompts a minute, all origins
    /// together (`[sites] prompts_per_minute`); more are refused unasked.
    pub trust_prompts_per_minute: u32,
    /// `[timestamp]`.
    pub timestamp: TimestampConfig,
}

/// The time-stamp service and network limits for long-term signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampConfig {
    pub url: Option<String>,
    pub credentials: Option<crate::net::Credentials>,
    pub timeout: std::time::Duration,
}

/// Default `[timestamp] timeout_secs`.
pub const DEFAULT_NETWORK_TIMEOUT_SECS: u64 = 20;

impl Default for TimestampConfig {
    fn default() -> Self {
        TimestampConfig {
            url: None,
            credentials: None,
            timeout: std::time::Duration::from_secs(DEFAULT_NETWORK_TIMEOUT_SECS),
        }
    }
}

/// Default `[sites] trust_days`.
pub const DEFAULT_SITE_TRUST_DAYS: u32 = 90;
/// Default `[sites] prompts_per_minute`.
pub const DEFAULT_TRUST_PROMPTS_PER_MINUTE: u32 = 3;

impl Default for Config {
    fn default() -> Self {
        Config {
            modules: vec![],
            allowed_origins: vec![],
            ca_certificates: vec![],
            trust_roots: vec![],
            trust_roots_replace: false,
            port: DEFAULT_PORT,
            max_spool_bytes: DEFAULT_MAX_SPOOL_MIB << 20,
            default_limits: Limits::default(),
            model_limits: default_model_limits(),
            digest: DigestAlgorithm::Sha256,
            rsa_pss: false,
            site_trust_days: DEFAULT_SITE_TRUST_DAYS,
            trust_prompts_per_minute: DEFAULT_TRUST_PROMPTS_PER_MINUTE,
            timestamp: TimestampConfig::default(),
        }
    }
}

/// Known token models whose hard limit differs from the usual 8.
fn default_model_limits() -> Vec<ModelLimits> {
    vec![ModelLimits {
        model: "ProxKey".into(),
        limits: Limits { soft: 5, hard: 15 },
    }]
}

impl Config {
    /// Read `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Config, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text).map_err(|e| {
                Error::new(
                    Reason::InvalidRequest,
                    format!("config file {}: {e}", path.display()),
                )
                .with_hint("fix the file, or move it away to use the defaults")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error::io(
                format!("cannot read config {}", path.display()),
                &e,
            )),
        }
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut cfg = Config {
            modules: raw.modules,
            allowed_origins: raw.allowed_origins,
            ca_certificates: raw.ca_certificates,
            trust_roots: raw.trust_roots,
            trust_roots_replace: raw.trust_roots_replace,
            ..Config::default()
        };
        if let Some(p) = raw.port {
            if p < 1024 {
                return Err(format!("port {p} is privileged; use 1024-65535"));
            }
            cfg.port = p;
        }
        if let Some(mib) = raw.max_spool_mib {
            // At least one chunk; at most 1 TiB (and no overflow in bytes).
            if !(1..=1 << 20).contains(&mib) {
                return Err(format!(
                    "max_spool_mib = {mib}: use 1 to 1048576 (MiB held for web pages at once)"
                ));
            }
            cfg.max_spool_bytes = mib << 20;
        }
        cfg.default_limits = limits(
            raw.pin.soft_limit,
            raw.pin.hard_limit,
            Limits::default(),
            "pin",
        )?;
        for m in raw.pin.model {
            if m.model.trim().is_empty() {
                return Err("pin.model entries need a non-empty model".into());
            }
            let l = limits(m.soft_limit, m.hard_limit, cfg.default_limits, &m.model)?;
            cfg.model_limits
                .retain(|x| !x.model.eq_ignore_ascii_case(&m.model));
            cfg.model_limits.push(ModelLimits {
                model: m.model,
                limits: l,
            });
        }
        if let Some(d) = raw.signing.digest {
            cfg.digest = DigestAlgorithm::from_name(&d)
                .ok_or_else(|| format!("signing.digest \"{d}\": use sha256, sha384 or sha512"))?;
        }
        cfg.rsa_pss = raw.signing.rsa_pss;
        if let Some(days) = raw.sites.trust_days {
            if !(1..=3650).contains(&days) {
                return Err(format!("sites.trust_days = {days}: use 1 to 3650 days"));
            }
            cfg.site_trust_days = days;
        }
        if let Some(n) = raw.sites.prompts_per_minute {
            if !(1..=60).contains(&n) {
                return Err(format!("sites.prompts_per_minute = {n}: use 1 to 60"));
            }
            cfg.trust_prompts_per_minute = n;
        }
        cfg.timestamp = timestamp(raw.timestamp)?;
        Ok(cfg)
    }

    /// How long a site the person allowed stays trusted.
    pub fn site_trust(&self) -> time::Duration {
        time::Duration::days(i64::from(self.site_trust_days))
    }

    /// The limits for a token model (first matching entry, else the default).
    pub fn limits_for(&self, model: &str) -> Limits {
        let model = model.to_ascii_lowercase();
        self.model_limits
            .iter()
            .find(|m| model.contains(&m.model.to_ascii_lowercase()))
            .map(|m| m.limits)
            .unwrap_or(self.default_limits)
    }
}

fn limits(
    soft: Option<u32>,
    hard: Option<u32>,
    base: Limits,
    what: &str,
) -> Result<Limits, String> {
    let l = Limits {
        soft: soft.unwrap_or(base.soft),
        hard: hard.unwrap_or(base.hard),
    };
    // The soft limit must stop Mohor before the token blocks itself.
    if l.soft == 0 || l.hard == 0 || l.soft >= l.hard {
        return Err(format!(
            "{what}: soft_limit ({}) must be at least 1 and below hard_limit ({})",
            l.soft, l.hard
        ));
    }
    Ok(l)
}

fn timestamp(raw: RawTimestamp) -> Result<TimestampConfig, String> {
    let mut t = TimestampConfig::default();
    // Parsed by the crate the HTTP client parses it with (ureq uses `url`),
    // so the host judged here is the host the password would go to.
    let mut parsed = None;
    if let Some(url) = raw.url {
        let p = url::Url::parse(&url)
            .ok()
            .filter(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
            .ok_or_else(|| {
                format!("timestamp.url \"{url}\": use an http:// or https:// address")
            })?;
        parsed = Some(p);
        t.url = Some(url);
    }
    t.credentials = match (raw.username, raw.password) {
        (Some(username), Some(password)) => Some(crate::net::Credentials { username, password }),
        (None, None) => None,
        _ => return Err("timestamp.username and timestamp.password go together".into()),
    };
    // HTTP Basic is the password in base64: over plain http anyone on the
    // office network reads it (and a billed TSA account with it).
    if let (Some(url), Some(p), Some(_)) = (&t.url, &parsed, &t.credentials) {
        if p.scheme() != "https" && !is_loopback(p) {
            return Err(format!(
                "timestamp.password would cross the network unencrypted to \"{url}\": use the service's https:// address"
            ));
        }
    }
    if let Some(secs) = raw.timeout_secs {
        if !(1..=300).contains(&secs) {
            return Err(format!("timestamp.timeout_secs = {secs}: use 1 to 300"));
        }
        t.timeout = std::time::Duration::from_secs(secs);
    }
    Ok(t)
}

/// `http://127.0.0.1…`, `http://localhost…`, `http://[::1]…`: a service
/// (or a proxy) on this computer, where nothing crosses the network.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tsa_password_never_crosses_the_network_in_clear() {
        let with = |url: &str| {
            Config::parse(&format!(
                "[timestamp]\nurl = \"{url}\"\nusername = \"u\"\npassword = \"p\"\n"
            ))
        };
        for refused in [
            "http://tsa.example.in/tsa",
            "HTTP://10.0.0.5/tsa",
            "http://127.0.0.1.example.in/tsa",
            "http://localhost.example.in/tsa",
            "http://user@tsa.example.in/",
            "http://127.0.0.1@tsa.example.in/tsa",
            "http://tsa.example.in#@127.0.0.1/",
            "http://127.0.0.1:80@tsa.example.in/",
        ] {
            let e = with(refused).unwrap_err();
            assert!(e.contains("https://"), "{refused}: {e}");
        }
        for allowed in [
            "https://tsa.example.in/tsa",
            "http://127.0.0.1:8080/tsa",
            "http://localhost/tsa",
            "http://[::1]:3128/tsa",
            // What the HTTP client reads as 127.0.0.1 too (WHATWG hosts).
            "http://0x7f000001/tsa",
            "http://127.1/tsa",
        ] {
            assert!(with(allowed).is_ok(), "{allowed}");
        }
        // Without a password, plain http stays allowed (most TSAs are).
        assert!(Config::parse("[timestamp]\nurl = \"http://tsa.example.in/tsa\"\n").is_ok());
    }

    #[test]
    fn timestamp_service_is_configured_with_optional_credentials() {
        let c = Config::parse(
            "[timestamp]\nurl = \"https://tsa.example.in/tsa\"\nusername = \"u\"\npassword = \"p\"\ntimeout_secs = 5\n",
        )
        .unwrap();
        assert_eq!(
            c.timestamp.url.as_deref(),
            Some("https://tsa.example.in/tsa")
        );
        assert_eq!(
            c.timestamp
                .credentials
                .as_ref()
                .map(|c| c.username.as_str()),
            Some("u")
        );
        assert_eq!(c.timestamp.timeout, std::time::Duration::from_secs(5));
        for bad in [
            "[timestamp]\nurl = \"ldap://x\"\n",
            "[timestamp]\nusername = \"u\"\n",
            "[timestamp]\ntimeout_secs = 0\n",
            "[timestamp]\nproxy = \"http://p\"\n",
        ] {
            assert!(Config::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_config_is_the_default() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn model_overrides_and_defaults() {
        let c = Config::parse(
            "[pin]\nsoft_limit = 4\n[[pin.model]]\nmodel = \"HYP2003\"\nhard_limit = 10\n",
        )
        .unwrap();
        assert_eq!(c.limits_for("HYP2003 v2"), Limits { soft: 4, hard: 10 });
        assert_eq!(c.limits_for("ProxKey"), Limits { soft: 5, hard: 15 });
        assert_eq!(c.limits_for("SoftHSM v2"), Limits { soft: 4, hard: 8 });
    }

    #[test]
    fn the_spool_cap_defaults_to_one_gib_and_is_set_in_mib() {
        assert_eq!(Config::default().max_spool_bytes, 1 << 30);
        assert_eq!(
            Config::parse("max_spool_mib = 300\n").map(|c| c.max_spool_bytes),
            Ok(300 << 20)
        );
    }

    #[test]
    fn unsafe_or_unknown_settings_are_refused() {
        assert!(Config::parse("[pin]\nsoft_limit = 8\nhard_limit = 8\n").is_err());
        assert!(Config::parse("[pin]\nsoft_limit = 0\n").is_err());
        assert!(Config::parse("prot = 1\n").is_err());
        assert!(Config::parse("port = 80\n").is_err());
        assert!(Config::parse("max_spool_mib = 0\n").is_err());
        assert!(Config::parse("[signing]\ndigest = \"md5\"\n").is_err());
        assert!(Config::parse("[sites]\ntrust_days = 0\n").is_err());
        assert!(Config::parse("[sites]\nprompts_per_minute = 0\n").is_err());
    }

    #[test]
    fn trusted_sites_expire_after_90_days_unless_configured() {
        assert_eq!(Config::default().site_trust(), time::Duration::days(90));
        let c = Config::parse("[sites]\ntrust_days = 30\nprompts_per_minute = 5\n").unwrap();
        assert_eq!(c.site_trust(), time::Duration::days(30));
        assert_eq!(c.trust_prompts_per_minute, 5);
    }
}
