//! `mohor-desktop`: the tray agent with its windows (GTK). `mohor` without a
//! command starts it; it takes the same arguments.

fn main() {
    mohor::cli::main_with(mohor::cli::desktop);
}
