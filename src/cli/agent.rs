//! `mohor serve` (headless) and `mohor` (tray app): the WebSocket server in
//! front of the same service the CLI uses.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::sync::Notify;

use super::Env;
use crate::error::{Error, Result};
use crate::server::workdir::RunDirs;
use crate::server::{Limits, Server, ServerConfig};
use crate::service::web::WebBackend;
use crate::ui::Prompter;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen on this port only (default: 21760, else the first free of 21761-21763).
    #[arg(long)]
    pub port: Option<u16>,
    /// Allow this web origin to ask for signatures (repeatable; added to the config's list).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
}

fn server_config(env: &Env, args: &ServeArgs) -> ServerConfig {
    let mut origins = env.config.allowed_origins.clone();
    origins.extend(args.allow_origins.iter().cloned());
    ServerConfig {
        port: args
            .port
            .or(if env.config.port == crate::config::DEFAULT_PORT {
                None
            } else {
                Some(env.config.port)
            }),
        allowed_origins: origins,
        spool_dir: Some(env.dirs.state_dir.join("spool")),
        limits: Limits {
            max_spool_bytes_total: env.config.max_spool_bytes,
            ..Limits::default()
        },
        ..ServerConfig::default()
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl+C; on Windows only Ctrl+C).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            // Without handlers the default action (exit) still applies.
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// How long a stop waits for requests still running (a dialog may stay
/// open for minutes; their files are removed regardless).
const STOP_GRACE: Duration = Duration::from_secs(1);

/// One thread runs every connection (the slow work — dialogs, the token, file
/// reads — runs on blocking threads). Besides being plenty for a loopback
/// server, it keeps the multi-MiB message buffers in one malloc arena: with a
/// worker per core, glibc kept freed buffers in each worker's arena and a
/// 200 MB signing peaked several MiB higher (docs/PERFORMANCE.md).
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}

/// Bind, report the port, serve until the server fails or a stop signal
/// comes; then remove every document this agent still holds. `on_agent`
/// sees the agent (and how loading the drivers went) before the first
/// request: the tray shows what it knows.
fn run_server(
    env: &Env,
    args: &ServeArgs,
    prompter: Arc<dyn Prompter>,
    quit: Arc<Notify>,
    close_desktop: impl FnOnce(),
    on_agent: impl FnOnce(&Arc<crate::service::Agent>, &[crate::token::ModuleReport]),
    on_bound: impl FnOnce(u16),
) -> Result<()> {
    // Private folders, and what a killed agent left behind removed, before
    // the first page can connect.
    let run = RunDirs::claim(&env.dirs.state_dir)?;
    let tokens = env.load_tokens();
    let modules = tokens.module_reports().to_vec();
    let agent = Arc::new(env.agent_with(tokens, prompter)?);
    // Whatever may still be inside the token's driver after the stop holds
    // the agent: a request, the tray's poller, the tray's doctor. See `drain`.
    let driver_users = Arc::downgrade(&agent);
    // The tray shows what it knows before the first request.
    on_agent(&agent, &modules);
    let backend = Arc::new(WebBackend::new(agent).with_scratch_dir(run.tmp().to_path_buf()));
    let mut config = server_config(env, args);
    config.spool_dir = Some(run.spool().to_path_buf());
    let rt = runtime()?;
    let result = rt.block_on(async move {
        let bound = Server::bind(config, backend).await?;
        on_bound(bound.port());
        let stop = bound.shutdown_handle();
        tokio::spawn(async move {
            tokio::select! {
                () = stop_signal() => {}
                () = quit.notified() => {}
            }
            tracing::info!("stopping: closing connections and removing documents in transit");
            stop.shutdown();
        });
        bound.run().await
    });
    rt.shutdown_timeout(STOP_GRACE);
    // Open dialogs answer cancel/deny once the desktop closes; then the
    // requests they held finish.
    close_desktop();
    drain(&driver_users);
    run.remove();
    result
}

/// The longest wait, after a stop, for the agent's other holders to let go.
/// Ending the process while another thread is inside the token's driver runs
/// the driver's exit handlers under that call: the tray agent crashed
/// (SIGSEGV) on SIGTERM, first under a request still closing its session,
/// then under the tray's poller in the middle of a token scan. A terminal
/// prompt may wait on input that never comes, hence a limit; past it the
/// process ends without exit handlers (`process_end`).
const DRAIN_LIMIT: Duration = Duration::from_secs(4);

/// Wait until nothing holds the agent any more (the last holder also closes
/// the driver), or [`DRAIN_LIMIT`].
fn drain<T: ?Sized>(driver_users: &std::sync::Weak<T>) {
    let started = std::time::Instant::now();
    while driver_users.strong_count() > 0 && started.elapsed() < DRAIN_LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    if driver_users.strong_count() > 0 {
        tracing::warn!("the token's driver was still in use {DRAIN_LIMIT:?} after the stop");
        super::process_end::driver_still_busy();
    }
}

pub fn serve(env: &Env, args: &ServeArgs) -> Result<()> {
    let prompter = env.prompter()?;
    run_server(
        env,
        args,
        prompter,
        Arc::new(Notify::new()),
        || {},
        |_, _| {},
        |port| {
            // The first line names the port (scripts and tests read it).
            super::output::emit(&format!("Mohor is listening on ws://127.0.0.1:{port}\n"));
        },
    )
}

/// The desktop start: tray icon, native dialogs, and the server on a worker
/// thread. One per user: a second start asks the first to show its status
/// and exits 0 (`tray_backend::start_once`).
#[cfg(feature = "desktop")]
pub fn tray(env: Env) -> Result<()> {
    use crate::ui::desktop::{run_desktop, TrayStatus};
    let status = TrayStatus::default();
    let Some(_only_agent) = super::tray_backend::start_once(&env, &status)? else {
        return Ok(());
    };
    let for_agent = status.clone();
    let failure: Arc<std::sync::Mutex<Option<Error>>> = Arc::default();
    let failure_in = Arc::clone(&failure);
    // "Quit Mohor" ends the desktop loop; the server then stops the same way
    // as on SIGTERM (its documents in transit removed) before the process ends.
    let quit = Arc::new(Notify::new());
    let quit_in = Arc::clone(&quit);
    let (stopped_tx, stopped) = std::sync::mpsc::channel::<()>();
    let env = Arc::new(env);
    let env_in = Arc::clone(&env);
    let started = run_desktop(status, move |prompter| {
        let env = env_in;
        let args = ServeArgs {
            port: None,
            allow_origins: vec![],
        };
        let bound_status = for_agent.clone();
        let prompter = for_agent.watching(prompter);
        let attach = |agent: &Arc<_>, modules: &[_]| {
            super::tray_backend::attach(&env, &for_agent, agent, modules)
        };
        // Stopped by an error or by SIGTERM/SIGINT: the tray goes too.
        let close_desktop = || for_agent.request_quit();
        let result = run_server(
            &env,
            &args,
            prompter,
            quit_in,
            close_desktop,
            attach,
            move |port| {
                bound_status.set_port(port);
                super::tray_backend::announce(port);
            },
        );
        if let Err(e) = result {
            tracing::error!("server stopped: {e}");
            if let Ok(mut f) = failure_in.lock() {
                *f = Some(e);
            }
        }
        for_agent.request_quit();
        let _ = stopped_tx.send(());
    });
    if let Err(e) = started {
        // No display: serve anyway, asking in this terminal, rather than not at all.
        eprintln!("mohor: {e}\nmohor: serving without windows; consent and PIN are asked in this terminal.");
        return serve(
            &env,
            &ServeArgs {
                port: None,
                allow_origins: vec![],
            },
        );
    }
    quit.notify_one();
    // Disconnected at once if the server thread never ran. Still running
    // after the limit: it is inside the driver (a slow `C_Initialize` when
    // "Quit" came during the start, or a call `drain` gave up on).
    let limit = STOP_GRACE + DRAIN_LIMIT + Duration::from_secs(1);
    if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(limit) {
        tracing::warn!("the agent had not stopped {limit:?} after the tray closed");
        super::process_end::driver_still_busy();
    }
    let stored = failure.lock().ok().and_then(|mut f| f.take());
    match stored {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Used when the tray cannot start: say how to run without it.
#[cfg(feature = "desktop")]
pub fn no_tray_hint(e: Error) -> Error {
    if e.hint.is_empty() {
        e.with_hint("run `mohor serve` for the agent without a tray")
    } else {
        e
    }
}
