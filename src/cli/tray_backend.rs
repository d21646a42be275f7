//! What the tray shows and does, answered by the running agent: the
//! [`TrayBackend`] of the desktop start.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::doctor;
use crate::error::Result;
use crate::service::Agent;
use crate::state::Dirs;
use crate::token::ModuleReport;
use crate::ui::desktop::tray_menu::{CertLine, Overview, SignatureLine, SiteLine, TokenLine};
use crate::ui::desktop::TrayBackend;

/// Audit entries the tray reads (the menu shows the newest few).
const RECENT: usize = 5;
/// The file that remembers the day expiring certificates were announced.
const EXPIRY_NOTICE_FILE: &str = "expiry-notice-day";

pub struct AgentTray {
    pub agent: Arc<Agent>,
    pub dirs: Dirs,
    pub config: Config,
    /// How loading the PKCS#11 modules went at start (for the doctor).
    pub modules: Vec<ModuleReport>,
}

impl TrayBackend for AgentTray {
    fn overview(&self) -> Overview {
        let mut o = Overview::default();
        match self.agent.pin_status() {
            Ok(rows) => {
                o.tokens = rows
                    .into_iter()
                    .map(|r| TokenLine {
                        label: r.label,
                        serial: r.serial,
                        present: r.present,
                        guard_state: r.state,
                        message: r.message,
                    })
                    .collect();
            }
            Err(e) => o.problems.push(e.to_string()),
        }
        let scan = self.agent.scan();
        let mut seen = Vec::new();
        for c in scan.certificates {
            if seen.contains(&c.facts.fingerprint_sha256) || c.facts.is_ca {
                continue;
            }
            seen.push(c.facts.fingerprint_sha256.clone());
            // Expiry is shown by the date; any other reason is named.
            let cannot_sign = (!c.usable && c.facts.not_after > self.agent.now())
                .then(|| c.not_usable_text())
                .filter(|t| !t.is_empty());
            o.certificates.push(CertLine {
                cannot_sign,
                who: c.facts.subject_cn,
                issuer: c.facts.issuer_cn,
                not_after: c.facts.not_after,
            });
        }
        match self.agent.state().audit_tail(RECENT) {
            Ok(entries) => {
                o.recent = entries
                    .into_iter()
                    .rev()
                    .map(|e| SignatureLine {
                        time: e.time,
                        origin: e.origin,
                        document: e.document,
                        action: e.action,
                        result: e.result,
                    })
                    .collect();
            }
            Err(e) => o.problems.push(e.to_string()),
        }
        match self
            .agent
            .state()
            .trusted_sites(self.agent.now(), self.config.site_trust())
        {
            Ok(sites) => {
                o.sites = sites
                    .into_iter()
                    .map(|s| SiteLine {
                        origin: s.origin,
                        until: s.until,
                    })
                    .collect();
            }
            Err(e) => o.problems.push(e.to_string()),
        }
        o
    }

    fn remove_site(&self, origin: &str) -> Result<()> {
        self.agent.state().remove_trusted_site(
            origin,
            self.agent.now(),
            self.config.site_trust(),
        )?;
        Ok(())
    }

    fn unlock_warning(&self, serial: &str) -> String {
        let rows = self.agent.pin_status().unwrap_or_default();
        let row = rows.iter().find(|r| r.serial == serial);
        let (hard, used) = row
            .map(|r| (r.hard_limit, r.wrong_pins + r.carried_from_before_unlock))
            .unwrap_or((self.config.default_limits.hard, 0));
        format!(
            "Mohor stopped asking for this token's PIN after {used} wrong PIN(s), before the \
             token blocks itself for good. Unlock it only after your DSC provider has reset the PIN.\n\n\
             Warning: if the PIN was not actually reset, only {} wrong PIN(s) may remain before the \
             token is blocked for good. Mohor keeps counting the earlier ones until a PIN is accepted.",
            hard.saturating_sub(used)
        )
    }

    fn unlock(&self, serial: &str) -> Result<String> {
        let changed = self.agent.unlock(serial)?;
        Ok(changed
            .iter()
            .map(|r| {
                format!(
                    "Unlocked token \"{}\" (serial {}). Mohor will ask for the PIN again.",
                    r.label, r.serial
                )
            })
            .collect::<Vec<_>>()
            .join("\n"))
    }

    fn doctor(&self) -> String {
        let report = doctor::run(&doctor::Inputs {
            modules: &self.modules,
            tokens_seen: self.agent.scan().tokens.len(),
            config_file: &self.dirs.config_file,
            usb_sysfs: std::path::Path::new("/sys/bus/usb/devices"),
            proc_dir: std::path::Path::new("/proc"),
        });
        report.to_text()
    }

    fn about(&self) -> String {
        format!(
            "Signing agent for Indian DSC USB tokens: PDF (PAdES) and detached CMS (CAdES) \
             signatures for web portals.\n\nLicence: {}\nConfig file: {}\nState (PIN counters, \
             trusted sites, audit log): {}\nLogs: {}",
            env!("CARGO_PKG_LICENSE"),
            self.dirs.config_file.display(),
            self.dirs.state_dir.display(),
            self.dirs.log_dir.display()
        )
    }

    fn log_dir(&self) -> PathBuf {
        self.dirs.log_dir.clone()
    }

    fn expiry_notice_due(&self) -> bool {
        let today = self.agent.now().date().to_string();
        let path = self.dirs.state_dir.join(EXPIRY_NOTICE_FILE);
        if std::fs::read_to_string(&path).is_ok_and(|d| d.trim() == today) {
            return false;
        }
        if let Err(e) = crate::atomic::write_atomic(&path, today.as_bytes()) {
            // Better one notice too many than none.
            tracing::warn!(
                "cannot remember the expiry notice in {}: {e}",
                path.display()
            );
        }
        true
    }
}

/// The single-instance check of the desktop start: `Some(guard)` when this
/// process is the agent (keep it while running; a second start then makes
/// `status` show its window), `None` after telling the running agent.
pub fn start_once(
    env: &super::Env,
    status: &crate::ui::desktop::TrayStatus,
) -> Result<Option<crate::single_instance::Guard>> {
    use crate::single_instance::{claim, Claim};
    match claim(&env.dirs.state_dir)? {
        Claim::First(guard) => {
            let on_show = status.clone();
            guard.listen(move || on_show.show_status())?;
            Ok(Some(guard))
        }
        Claim::Second { told } => {
            super::output::emit(if told {
                "Mohor is already running; it shows its status window now.\n"
            } else {
                "Mohor is already running (it did not answer yet; it may still be starting).\n"
            });
            Ok(None)
        }
    }
}

/// Connects the tray to the agent the server uses.
pub fn attach(
    env: &super::Env,
    status: &crate::ui::desktop::TrayStatus,
    agent: &Arc<Agent>,
    modules: &[ModuleReport],
) {
    status.attach(Arc::new(AgentTray {
        agent: Arc::clone(agent),
        dirs: env.dirs.clone(),
        config: env.config.clone(),
        modules: modules.to_vec(),
    }));
}

/// Says where the agent is and how to stop it: a person whose desktop has
/// no tray (no StatusNotifier host, no XEmbed tray) sees no icon.
pub fn announce(port: u16) {
    let pid = std::process::id();
    tracing::info!("listening on port {port}");
    eprintln!(
        "Mohor is listening on ws://127.0.0.1:{port} (pid {pid}). Its icon is in the panel's \
         tray if your desktop has one; without one, run `mohor` again to see its status, and \
         stop it with `kill {pid}`."
    );
}
