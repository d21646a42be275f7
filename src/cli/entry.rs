//! The two executables' `main`: `mohor` (every command; no GTK linked, so a
//! command-line signature does not pay ~9 ms to load the GTK stack) and
//! `mohor-desktop` (the tray agent with its windows), which `mohor` becomes
//! when started without a command. See docs/DECISIONS.md.

use std::path::PathBuf;

use clap::Parser;

use super::{Cli, Env};
use crate::error::{Error, Reason, Result};

/// What runs for `mohor` without a command.
pub type Desktop = fn(Env) -> Result<()>;

/// Parse arguments, set up logging, run, and map errors to exit codes (0 ok,
/// 1 failed or refused, 2 usage — clap's own).
pub fn main_with(desktop: Desktop) {
    let cli = Cli::parse();
    usage_check(&cli);
    let log_file = super::log_sink::agent_log_file(&cli);
    let ansi = log_file.is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        // Never document bytes or PINs, whatever MOHOR_LOG says.
        .with_env_filter(crate::server::log_filter(
            std::env::var("MOHOR_LOG").ok().as_deref(),
        ))
        .with_ansi(ansi)
        .with_writer(move || super::log_sink::LogSink(log_file.clone()))
        .init();
    if let Err(e) = super::run(cli, desktop) {
        eprintln!("mohor: {e}");
        eprintln!("  ({})", e.reason);
        super::process_end::end(1);
    }
    super::process_end::end(0);
}

/// Exit 2 with clap's usage message for what clap's rules cannot express
/// (the contract's "2 usage error"), before logging or any file is touched.
fn usage_check(cli: &Cli) {
    use clap::CommandFactory as _;
    let problem = match &cli.command {
        Some(super::Command::Sign(args)) => super::sign::usage_problem(args).map(|p| ("sign", p)),
        _ => None,
    };
    if let Some((name, problem)) = problem {
        let mut command = Cli::command();
        command.build();
        let command = command
            .find_subcommand_mut(name)
            .cloned()
            .unwrap_or_default();
        command
            .bin_name(format!("mohor {name}"))
            .error(clap::error::ErrorKind::ArgumentConflict, problem)
            .exit();
    }
}

/// `mohor-desktop`'s entry: the tray agent in this process.
#[cfg(feature = "desktop")]
pub fn desktop(env: Env) -> Result<()> {
    super::agent::tray(env).map_err(super::agent::no_tray_hint)
}

/// `mohor`'s entry for the desktop: become `mohor-desktop` (installed beside
/// it) with the same arguments. On Unix the process is replaced, so its pid
/// — what `kill` and the single-instance check see — stays the same.
pub fn exec_desktop(_env: Env) -> Result<()> {
    let path = desktop_binary()?;
    let mut command = std::process::Command::new(&path);
    command.args(std::env::args_os().skip(1));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let e = command.exec();
        Err(cannot_start(&path, &e))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(|e| cannot_start(&path, &e))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}

fn desktop_binary() -> Result<PathBuf> {
    let me = std::env::current_exe()
        .map_err(|e| Error::internal(format!("cannot find Mohor's own program: {e}")))?;
    Ok(me.with_file_name(format!("mohor-desktop{}", std::env::consts::EXE_SUFFIX)))
}

fn cannot_start(path: &std::path::Path, e: &std::io::Error) -> Error {
    Error::new(
        Reason::Internal,
        format!("cannot start the desktop agent {}: {e}", path.display()),
    )
    .with_hint("reinstall Mohor (mohor-desktop belongs beside mohor), or run `mohor serve` for the agent without a tray")
}
