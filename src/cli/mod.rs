//! The `mohor` command line: argument parsing and one handler per command.
//! `main.rs` only calls [`run`] and turns its result into an exit code.

mod agent;
mod config_cmd;
mod doctor;
mod entry;
mod extend;
mod history;
pub mod log_sink;
mod output;
mod pin;
mod process_end;
mod sign;
mod sites;
mod tokens;
#[cfg(feature = "desktop")]
mod tray_backend;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::Config;
use crate::error::{Error, Reason, Result};
use crate::service::Agent;
use crate::state::{Dirs, StateStore};
use crate::token::modules;
use crate::token::Pkcs11Tokens;
use crate::ui::Prompter;

#[derive(Debug, Parser)]
#[command(
    name = "mohor",
    version,
    about = "Sign documents with your DSC token: PDF (PAdES) and detached CMS (CAdES) signatures.",
    long_about = "Mohor signs with the Class 3 DSC on your USB token. Without a command it starts \
                  the tray agent that web portals talk to; the commands below work from a terminal.\n\n\
                  The PIN is typed at a hidden prompt (or read from standard input with --pin-stdin); \
                  never pass it as an argument. Mohor stops before a token can be blocked by wrong PINs."
)]
pub struct Cli {
    /// A PKCS#11 module to load in addition to the known DSC drivers (repeatable).
    #[arg(long = "module", value_name = "PATH", global = true)]
    pub modules: Vec<PathBuf>,

    /// Config file (default: the OS config dir, or $MOHOR_HOME/config.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Read the PIN as one line from standard input instead of a hidden prompt (scripts).
    #[arg(long, global = true)]
    pub pin_stdin: bool,

    /// Test hook: answer dialogs from a JSON-lines file (builds with feature scripted-prompts only).
    #[cfg(feature = "scripted-prompts")]
    #[arg(long, value_name = "FILE", global = true)]
    pub prompts: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List PKCS#11 modules, slots and tokens.
    Tokens {
        #[arg(long)]
        json: bool,
    },
    /// List certificates on the tokens present, with the id to use in --cert.
    Certs {
        #[arg(long)]
        json: bool,
    },
    /// Sign a PDF (PAdES, incremental) or, with --detached, any file (CAdES .p7s).
    Sign(Box<sign::SignArgs>),
    /// Add long-term validation data to a signed PDF: revocation data (B-LT)
    /// and a fresh document time-stamp (B-LTA). No token needed.
    Extend(extend::ExtendArgs),
    /// Run the WebSocket server for web portals without the tray (headless).
    Serve(agent::ServeArgs),
    /// The audit log: every signing request, newest first.
    History {
        #[arg(long)]
        json: bool,
        /// Show at most N entries (from 1: with 0 the answer "nothing signed
        /// yet" would be false).
        #[arg(long, value_name = "N", default_value_t = 50, value_parser = parse_limit)]
        limit: usize,
    },
    /// Show or reset Mohor's wrong-PIN guard.
    Pin {
        #[command(subcommand)]
        command: pin::PinCommand,
    },
    /// List the web sites you allowed to ask for signatures, or remove one.
    Sites(sites::SitesArgs),
    /// Check every signature of a PDF or CMS file: intact, trusted, what changed after.
    Verify(verify::VerifyArgs),
    /// Why a token is not seen: drivers, pcscd, USB tokens, the port, browser policy.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Where the config file is, and whether it is valid.
    Config {
        #[command(subcommand)]
        command: config_cmd::ConfigCommand,
    },
}

/// Everything a command needs from the outside world, built once.
pub struct Env {
    pub dirs: Dirs,
    pub config: Config,
    pub command_line_modules: Vec<PathBuf>,
    pub pin_stdin: bool,
    #[cfg(feature = "scripted-prompts")]
    pub prompts: Option<PathBuf>,
}

/// The default config file may be absent (the defaults apply), but a file
/// named with --config that is not there is a typo or a lost mount: going on
/// with the defaults would drop its PIN limits and trust settings without a
/// word.
fn require_named_config(named: Option<&std::path::Path>) -> Result<()> {
    match named {
        Some(path) if !path.exists() => Err(Error::new(
            Reason::IoError,
            format!("the config file {} does not exist", path.display()),
        )
        .with_hint(
            "check the path given with --config, or leave --config out to use the default config file",
        )),
        _ => Ok(()),
    }
}

impl Env {
    pub fn from_cli(cli: &Cli) -> Result<Env> {
        let dirs = Dirs::resolve(cli.config.as_deref())?;
        require_named_config(cli.config.as_deref())?;
        let config = Config::load(&dirs.config_file)?;
        Ok(Env {
            dirs,
            config,
            command_line_modules: cli.modules.clone(),
            pin_stdin: cli.pin_stdin,
            #[cfg(feature = "scripted-prompts")]
            prompts: cli.prompts.clone(),
        })
    }

    pub fn load_tokens(&self) -> Pkcs11Tokens {
        let candidates = modules::candidates(&self.config.modules, &self.command_line_modules);
        Pkcs11Tokens::load(&candidates)
    }

    /// A module named on the command line that did not load is the user's
    /// explicit request failing: report it as an error (exit 1).
    pub fn command_line_module_errors(&self, tokens: &Pkcs11Tokens) -> Option<Error> {
        let failed: Vec<String> = tokens
            .module_reports()
            .iter()
            .filter(|r| !r.loaded && self.command_line_modules.contains(&r.path))
            .map(|r| {
                format!(
                    "{}: {}",
                    r.path.display(),
                    r.error.as_deref().unwrap_or("failed")
                )
            })
            .collect();
        (!failed.is_empty()).then(|| {
            Error::new(
                Reason::ModuleError,
                format!("could not load PKCS#11 module {}", failed.join("; ")),
            )
            .with_hint(
                "check the path; it must be the token driver's PKCS#11 library (.so/.dll/.dylib)",
            )
        })
    }

    pub fn prompter(&self) -> Result<Arc<dyn Prompter>> {
        #[cfg(feature = "scripted-prompts")]
        if let Some(p) = &self.prompts {
            return Ok(Arc::new(crate::ui::scripted::ScriptedPrompter::from_file(
                p,
            )?));
        }
        Ok(Arc::new(crate::ui::terminal::TerminalPrompter::new(
            self.pin_stdin,
        )))
    }

    pub fn agent(&self, tokens: Pkcs11Tokens) -> Result<Agent> {
        self.agent_with(tokens, self.prompter()?)
    }

    pub fn agent_with(&self, tokens: Pkcs11Tokens, prompter: Arc<dyn Prompter>) -> Result<Agent> {
        let state = StateStore::open(&self.dirs.state_dir)?;
        Agent::new(
            Box::new(tokens),
            self.config.clone(),
            state,
            prompter,
            Arc::new(SystemClock),
        )
    }
}

#[cfg(feature = "desktop")]
pub use entry::desktop;
pub use entry::{exec_desktop, main_with, Desktop};

/// `history --limit N`: a count from 1; clap's message follows "invalid value".
fn parse_limit(text: &str) -> std::result::Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("give 1 or more entries to show".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a number of entries, e.g. 20".into()),
    }
}

/// Run the parsed command line; `desktop` runs when no command is given.
pub fn run(cli: Cli, desktop: Desktop) -> Result<()> {
    // Before the config is loaded: a broken file must still be found and checked.
    if let Some(Command::Config { command }) = &cli.command {
        if matches!(command, config_cmd::ConfigCommand::Check) {
            require_named_config(cli.config.as_deref())?;
        }
        return config_cmd::config(&Dirs::resolve(cli.config.as_deref())?, command);
    }
    let env = Env::from_cli(&cli)?;
    match cli.command {
        Some(Command::Tokens { json }) => tokens::tokens(&env, json),
        Some(Command::Certs { json }) => tokens::certs(&env, json),
        Some(Command::Sign(args)) => sign::sign(&env, &args),
        Some(Command::Extend(args)) => extend::extend(&env, &args),
        Some(Command::Pin { command }) => pin::pin(&env, &command),
        Some(Command::History { json, limit }) => history::history(&env, json, limit),
        Some(Command::Serve(args)) => agent::serve(&env, &args),
        Some(Command::Sites(args)) => sites::sites(&env, &args),
        Some(Command::Verify(args)) => verify::verify(&env, &args),
        Some(Command::Doctor { json }) => doctor::doctor(&env, json),
        Some(Command::Config { command }) => config_cmd::config(&env.dirs, &command),
        None => desktop(env),
    }
}
