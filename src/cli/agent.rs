//! `mohor serve` (headless) and `mohor` (tray app): the WebSocket server in
//! front of the same service the CLI uses.

use std::sync::Arc;

use clap::Args;

use super::Env;
use crate::error::{Error, Result};
use crate::server::{Server, ServerConfig};
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
        ..ServerConfig::default()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}

/// Bind, report the port, serve until the server stops. `on_agent` sees
/// the agent (and how loading the drivers went) before the first request:
/// the tray shows what it knows.
fn run_server(
    env: &Env,
    args: &ServeArgs,
    prompter: Arc<dyn Prompter>,
    on_agent: impl FnOnce(&Arc<crate::service::Agent>, &[crate::token::pkcs11::ModuleReport]),
    on_bound: impl FnOnce(u16),
) -> Result<()> {
    let tokens = env.load_tokens();
    let modules = tokens.module_reports().to_vec();
    let agent = Arc::new(env.agent_with(tokens, prompter)?);
    on_agent(&agent, &modules);
    let backend = Arc::new(WebBackend::new(agent));
    let config = server_config(env, args);
    if let Some(dir) = &config.spool_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), &e))?;
    }
    runtime()?.block_on(async move {
        let bound = Server::bind(config, backend).await?;
        on_bound(bound.port());
        bound.run().await
    })
}

pub fn serve(env: &Env, args: &ServeArgs) -> Result<()> {
    let prompter = env.prompter()?;
    run_server(
        env,
        args,
        prompter,
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
pub fn tray(env: Env) -> Result<()> {
    use crate::ui::desktop::{run_desktop, TrayStatus};
    let status = TrayStatus::default();
    let Some(_only_agent) = super::tray_backend::start_once(&env, &status)? else {
        return Ok(());
    };
    let for_agent = status.clone();
    let failure: Arc<std::sync::Mutex<Option<Error>>> = Arc::default();
    let failure_in = Arc::clone(&failure);
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
        let result = run_server(&env, &args, prompter, attach, move |port| {
            bound_status.set_port(port);
            super::tray_backend::announce(port);
        });
        if let Err(e) = result {
            tracing::error!("server stopped: {e}");
            if let Ok(mut f) = failure_in.lock() {
                *f = Some(e);
            }
            for_agent.request_quit();
        }
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
    let stored = failure.lock().ok().and_then(|mut f| f.take());
    match stored {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Used when the tray cannot start: say how to run without it.
pub fn no_tray_hint(e: Error) -> Error {
    if e.hint.is_empty() {
        e.with_hint("run `mohor serve` for the agent without a tray")
    } else {
        e
    }
}
