//! Writes Mohor's man pages (`mohor.1` and one per command, e.g.
//! `mohor-sign.1`) from the same clap definition the binary parses, so the
//! manual never drifts from `--help`. Used by installer/linux/build-deb.sh:
//!
//!     mohor-man OUT_DIR

use std::path::PathBuf;

use clap::CommandFactory;

fn main() {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: mohor-man OUT_DIR");
        std::process::exit(2);
    };
    if let Err(e) = write_pages(&out) {
        eprintln!("mohor-man: {e}");
        std::process::exit(1);
    }
}

fn write_pages(out: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let cmd = mohor::cli::Cli::command();
    clap_mangen::generate_to(cmd, out)
}
