//! `mohor doctor`: why a token is not seen. Each check reads the machine
//! (driver files, PKCS#11 modules, `pcscd`, USB devices, the agent's ports)
//! and the report says what was found and what to do. The same report is
//! behind the tray's "Check setup" item.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::token::modules::{self, KNOWN_DRIVERS};
use crate::token::usb_ids::{self, UsbDevice};
use crate::token::ModuleReport;

/// The ports the agent may listen on (contract: 21760, falling back to 21761-21763).
pub const AGENT_PORTS: [u16; 4] = [21760, 21761, 21762, 21763];

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub version: String,
    pub modules: Vec<ModuleReport>,
    /// Driver families of the built-in table with no library on this machine.
    pub drivers_not_installed: Vec<String>,
    pub tokens_seen: usize,
    pub pcscd: Pcscd,
    pub usb_tokens: Vec<UsbToken>,
    pub ports: Vec<PortUse>,
    pub config_file: PathBuf,
    pub browser_policy: Vec<String>,
    /// What to do, one sentence each; empty when nothing is wrong.
    pub advice: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Pcscd {
    /// `null` where the check does not apply (Windows, macOS use their own service).
    pub running: Option<bool>,
    pub detail: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UsbToken {
    #[serde(flatten)]
    pub device: UsbDevice,
    pub name: String,
    /// The driver family it needs (a name from the built-in driver table).
    pub driver: String,
    pub driver_loaded: bool,
    /// Whether the id is checked against a published list.
    pub id_verified: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PortUse {
    pub port: u16,
    pub in_use: bool,
    /// The listening process, when the OS tells (Linux, same user or root).
    pub pid: Option<u32>,
    pub process: Option<String>,
}

/// What the checks need from outside.
pub struct Inputs<'a> {
    /// How loading each PKCS#11 module went.
    pub modules: &'a [ModuleReport],
    /// Tokens the loaded modules show now.
    pub tokens_seen: usize,
    pub config_file: &'a Path,
    /// `/sys/bus/usb/devices` on Linux (a test passes its own tree).
    pub usb_sysfs: &'a Path,
    /// `/proc` on Linux.
    pub proc_dir: &'a Path,
}

pub fn run(inputs: &Inputs<'_>) -> Report {
    let modules = inputs.modules.to_vec();
    let drivers_not_installed: Vec<String> = KNOWN_DRIVERS
        .iter()
        .filter(|d| {
            !modules
                .iter()
                .any(|m| matches!(&m.source, modules::ModuleSource::BuiltIn { driver } if driver == d.name))
        })
        .map(|d| d.name.to_string())
        .collect();
    let usb_tokens = usb_ids::list_devices(inputs.usb_sysfs)
        .into_iter()
        .filter_map(|device| {
            let known = device.known()?;
            let family = KNOWN_DRIVERS
                .iter()
                .find(|d| d.name.contains(known.driver_family))
                .map(|d| d.name)
                .unwrap_or(known.driver_family);
            let driver_loaded = modules.iter().any(|m| {
                m.loaded
                    && matches!(&m.source, modules::ModuleSource::BuiltIn { driver } if driver == family)
            });
            Some(UsbToken {
                name: known.name.to_string(),
                driver: family.to_string(),
                driver_loaded,
                id_verified: known.verified,
                device,
            })
        })
        .collect();
    let ports = AGENT_PORTS
        .iter()
        .map(|&p| port_use(p, inputs.proc_dir))
        .collect();
    let mut report = Report {
        version: env!("CARGO_PKG_VERSION").to_string(),
        modules,
        drivers_not_installed,
        tokens_seen: inputs.tokens_seen,
        pcscd: pcscd(inputs.proc_dir),
        usb_tokens,
        ports,
        config_file: inputs.config_file.to_path_buf(),
        browser_policy: browser_policy(),
        advice: Vec::new(),
    };
    report.advice = advice(&report);
    report
}

fn advice(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for m in r.modules.iter().filter(|m| !m.loaded) {
        out.push(format!(
            "The driver {} did not load ({}). Reinstall it from the token vendor, or remove it from the config.",
            m.path.display(),
            m.error.as_deref().unwrap_or("unknown error")
        ));
    }
    for t in r.usb_tokens.iter().filter(|t| !t.driver_loaded) {
        out.push(format!(
            "A {} is plugged in (USB {}:{}) but its driver ({}) is not installed: install the driver from the token's vendor or your certifying authority, then restart Mohor.",
            t.name, t.device.vendor_id, t.device.product_id, t.driver
        ));
    }
    if r.pcscd.running == Some(false) {
        out.push("pcscd is not running; most tokens need it on Linux: `sudo apt install pcscd` (or `sudo systemctl start pcscd.socket`).".into());
    }
    if r.modules.iter().all(|m| !m.loaded) {
        out.push("No PKCS#11 driver is loaded: install your token's driver, or name it with --module or `modules = [...]` in the config file.".into());
    } else if r.tokens_seen == 0 {
        out.push("The drivers loaded but no token answered: insert the token (or re-insert it) and check the light on it.".into());
    }
    if let Some(p) = r.ports.iter().find(|p| {
        p.in_use
            && p.process
                .as_deref()
                .is_some_and(|n| n != "mohor" && n != "mohor-desktop")
    }) {
        out.push(format!(
            "Port {} is taken by {} (pid {}); Mohor falls back to the next port, but web pages try 21760 first.",
            p.port,
            p.process.as_deref().unwrap_or("another program"),
            p.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
        ));
    }
    out
}

/// The Chrome/Edge policy an office sets so portals may reach the agent on
/// the loopback address (Local Network Access).
fn browser_policy() -> Vec<String> {
    vec![
        "Chrome and Edge ask before a web site talks to 127.0.0.1 (Local Network Access). An office can allow its portals for everyone with the policy LocalNetworkAccessAllowedForUrls, e.g. [\"https://eoffice.gov.in\", \"https://[*.]gov.in\"].".into(),
        "Linux: /etc/opt/chrome/policies/managed/mohor.json (Chromium: /etc/chromium/policies/managed/, Edge: /etc/opt/edge/policies/managed/) containing {\"LocalNetworkAccessAllowedForUrls\": [\"https://eoffice.gov.in\"]}.".into(),
        "Windows: Group Policy, or the registry key HKLM\\Software\\Policies\\Google\\Chrome\\LocalNetworkAccessAllowedForUrls (Edge: ...\\Microsoft\\Edge\\...) with values 1, 2, ... = the portal URLs.".into(),
    ]
}

/// Linux: a `pcscd` process, or its socket-activation socket.
fn pcscd(proc_dir: &Path) -> Pcscd {
    if !cfg!(target_os = "linux") {
        return Pcscd {
            running: None,
            detail: "not used on this OS (the system smart-card service is used)".into(),
        };
    }
    if let Some(pid) = processes(proc_dir)
        .find(|(_, name)| name == "pcscd")
        .map(|(p, _)| p)
    {
        return Pcscd {
            running: Some(true),
            detail: format!("pcscd runs (pid {pid})"),
        };
    }
    if Path::new("/run/pcscd/pcscd.comm").exists() {
        return Pcscd {
            running: Some(true),
            detail: "pcscd starts on demand (its socket /run/pcscd/pcscd.comm is there)".into(),
        };
    }
    Pcscd {
        running: Some(false),
        detail: "pcscd is not running and its socket is absent".into(),
    }
}

/// (pid, command name) of every process `/proc` shows.
fn processes(proc_dir: &Path) -> impl Iterator<Item = (u32, String)> {
    std::fs::read_dir(proc_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(e.path().join("comm")).ok()?;
            Some((pid, name.trim().to_string()))
        })
}

fn port_use(port: u16, proc_dir: &Path) -> PortUse {
    let inode = listening_inode(port, proc_dir);
    let in_use = inode.is_some() || port_taken(port);
    let owner = inode.and_then(|i| socket_owner(i, proc_dir));
    PortUse {
        port,
        in_use,
        pid: owner.as_ref().map(|o| o.0),
        process: owner.map(|o| o.1),
    }
}

/// Whether something listens on the loopback port (any OS).
fn port_taken(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        std::time::Duration::from_millis(300),
    )
    .is_ok()
}

/// The socket inode listening on `port`, from /proc/net/tcp and tcp6.
fn listening_inode(port: u16, proc_dir: &Path) -> Option<u64> {
    let want = format!("{port:04X}");
    for table in ["net/tcp", "net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(proc_dir.join(table)) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address is "ADDR:PORT", state 0A is LISTEN, inode is column 9.
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            if *state == "0A" && local.rsplit(':').next() == Some(want.as_str()) {
                if let Ok(i) = inode.parse() {
                    return Some(i);
                }
            }
        }
    }
    None
}

fn socket_owner(inode: u64, proc_dir: &Path) -> Option<(u32, String)> {
    let target = format!("socket:[{inode}]");
    processes(proc_dir).find(|(pid, _)| {
        std::fs::read_dir(proc_dir.join(pid.to_string()).join("fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| {
                std::fs::read_link(fd.path())
                    .map(|l| l.as_os_str() == target.as_str())
                    .unwrap_or(false)
            })
    })
}

impl Report {
    /// The human report: findings first, then what to do.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "Mohor {} setup check", self.version);
        let _ = writeln!(o, "\nDrivers (PKCS#11 modules):");
        if self.modules.is_empty() {
            let _ = writeln!(o, "  none found");
        }
        for m in &self.modules {
            let from = match &m.source {
                modules::ModuleSource::BuiltIn { driver } => driver.clone(),
                modules::ModuleSource::Config => "config file".into(),
                modules::ModuleSource::CommandLine => "--module".into(),
            };
            match (&m.library, &m.error) {
                (Some(lib), _) => {
                    let _ = writeln!(o, "  loaded   {} ({from}; {lib})", m.path.display());
                }
                (_, e) => {
                    let _ = writeln!(
                        o,
                        "  FAILED   {} ({from}): {}",
                        m.path.display(),
                        e.as_deref().unwrap_or("unknown error")
                    );
                }
            }
        }
        let _ = writeln!(
            o,
            "  not installed: {}",
            if self.drivers_not_installed.is_empty() {
                "none".to_string()
            } else {
                self.drivers_not_installed.join(", ")
            }
        );
        let _ = writeln!(o, "  tokens answering: {}", self.tokens_seen);
        let _ = writeln!(o, "\npcscd: {}", self.pcscd.detail);
        let _ = writeln!(o, "\nUSB tokens plugged in:");
        if self.usb_tokens.is_empty() {
            let _ = writeln!(o, "  none recognised");
        }
        for t in &self.usb_tokens {
            let _ = writeln!(
                o,
                "  {} (USB {}:{}{}) needs {}: {}",
                t.name,
                t.device.vendor_id,
                t.device.product_id,
                if t.id_verified { "" } else { ", id unverified" },
                t.driver,
                if t.driver_loaded {
                    "loaded"
                } else {
                    "NOT LOADED"
                }
            );
        }
        let _ = writeln!(o, "\nPorts:");
        for p in &self.ports {
            let who = match (&p.process, p.pid) {
                (Some(n), Some(pid)) => format!("in use by {n} (pid {pid})"),
                _ if p.in_use => "in use".to_string(),
                _ => "free".to_string(),
            };
            let _ = writeln!(o, "  {}: {who}", p.port);
        }
        let _ = writeln!(o, "\nConfig file: {}", self.config_file.display());
        let _ = writeln!(o, "\nBrowser policy for offices:");
        for line in &self.browser_policy {
            let _ = writeln!(o, "  {line}");
        }
        let _ = writeln!(o, "\nWhat to do:");
        if self.advice.is_empty() {
            let _ = writeln!(o, "  nothing: the setup looks right.");
        }
        for a in &self.advice {
            let _ = writeln!(o, "  - {a}");
        }
        o
    }
}
