//! `mohor config path` and `mohor config check`. These run before the config
//! is loaded for other commands, so a broken file can still be found and
//! checked.

use clap::Subcommand;

use super::output::emit;
use crate::config::Config;
use crate::error::{Error, Reason, Result};
use crate::state::Dirs;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print where the config file is (and the state and log folders).
    Path,
    /// Parse the config file; say what is wrong and where (exit 1), or that it is fine.
    Check,
}

pub fn config(dirs: &Dirs, command: &ConfigCommand) -> Result<()> {
    match command {
        ConfigCommand::Path => {
            emit(&format!(
                "{}\nstate: {}\nlogs: {}\n",
                dirs.config_file.display(),
                dirs.state_dir.display(),
                dirs.log_dir.display()
            ));
            Ok(())
        }
        ConfigCommand::Check => check(&dirs.config_file),
    }
}

fn check(path: &std::path::Path) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            emit(&format!(
                "{}: no config file; the defaults apply (docs/CONFIG.md lists them).\n",
                path.display()
            ));
            return Ok(());
        }
        Err(e) => {
            return Err(Error::io(format!("cannot read {}", path.display()), &e));
        }
    };
    match Config::parse(&text) {
        Ok(_) => {
            emit(&format!("{}: ok\n", path.display()));
            Ok(())
        }
        Err(why) => Err(Error::new(
            Reason::InvalidRequest,
            format!("{} is not valid: {}", path.display(), why.trim_end()),
        )
        .with_hint("fix the line named above; docs/CONFIG.md lists every option and its default")),
    }
}
