//! `mohor`: every command. Without a command it becomes `mohor-desktop`
//! (the tray agent); this binary links no GTK. Everything lives in the library.

fn main() {
    mohor::cli::main_with(mohor::cli::exec_desktop);
}
