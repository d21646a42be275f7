//! `mohor`: parse arguments, run, map errors to exit codes (0 ok, 1 failed or
//! refused, 2 usage — clap's own). Everything else lives in the library.

use clap::Parser;

fn main() {
    let cli = mohor::cli::Cli::parse();
    let log_file = mohor::cli::log_sink::agent_log_file(&cli);
    let ansi = log_file.is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        // Never document bytes or PINs, whatever MOHOR_LOG says.
        .with_env_filter(mohor::server::log_filter(
            std::env::var("MOHOR_LOG").ok().as_deref(),
        ))
        .with_ansi(ansi)
        .with_writer(move || mohor::cli::log_sink::LogSink(log_file.clone()))
        .init();
    if let Err(e) = mohor::cli::run(cli) {
        eprintln!("mohor: {e}");
        eprintln!("  ({})", e.reason);
        std::process::exit(1);
    }
}
