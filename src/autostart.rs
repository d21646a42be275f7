//! "Start at login" on Linux desktops: the XDG autostart entry.
//!
//! The Debian package installs `/etc/xdg/autostart/mohor.desktop`, so Mohor
//! starts at login for every user. A person turns that off with a file of
//! the same name in `$XDG_CONFIG_HOME/autostart` that says `Hidden=true`
//! (the XDG rule: the user's file wins), and on again by replacing it with a
//! normal entry. Without the system entry (built from source) "on" writes
//! the user's entry and "off" removes it. On Windows and macOS the
//! installer owns autostart (a Run key / a LaunchAgent), so the tray item is
//! not shown there.

use std::path::{Path, PathBuf};

const ENTRY: &str = "mohor.desktop";

/// Whether the tray offers the "Start at login" switch on this OS.
pub fn supported() -> bool {
    cfg!(all(unix, not(target_os = "macos")))
}

/// The user's autostart entry (`$XDG_CONFIG_HOME/autostart/mohor.desktop`).
pub fn user_entry() -> Option<PathBuf> {
    let config = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(config.join("autostart").join(ENTRY))
}

/// System autostart entries (`$XDG_CONFIG_DIRS`, default `/etc/xdg`).
fn system_entries() -> Vec<PathBuf> {
    let dirs = std::env::var("XDG_CONFIG_DIRS")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/etc/xdg".into());
    dirs.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join("autostart").join(ENTRY))
        .collect()
}

/// True when Mohor will start at the next login.
pub fn is_enabled() -> bool {
    let system = system_entries().iter().any(|p| p.is_file());
    match user_entry().and_then(|p| std::fs::read_to_string(p).ok()) {
        Some(text) => !is_hidden(&text),
        None => system,
    }
}

fn is_hidden(entry: &str) -> bool {
    entry.lines().any(|l| {
        let l = l.trim();
        l.eq_ignore_ascii_case("Hidden=true")
    })
}

/// The entry's text: a normal one, or the one that hides the system entry.
pub fn entry_text(exec: &Path, hidden: bool) -> String {
    let mut s = String::from("[Desktop Entry]\nType=Application\nName=Mohor\n");
    s.push_str("Comment=Signing agent for DSC USB tokens\n");
    s.push_str(&format!(
        "Exec={}\nIcon=mohor\nTerminal=false\n",
        exec.display()
    ));
    s.push_str("X-GNOME-Autostart-enabled=");
    s.push_str(if hidden {
        "false\nHidden=true\n"
    } else {
        "true\n"
    });
    s
}

/// Turns start-at-login on or off for this user.
pub fn set(enabled: bool) -> std::io::Result<()> {
    let Some(path) = user_entry() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no home directory",
        ));
    };
    let system = system_entries().iter().any(|p| p.is_file());
    if !enabled && !system {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    if enabled && system {
        // The system entry starts Mohor; the user's override only hid it.
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let exec = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("mohor"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::atomic::write_atomic(&path, entry_text(&exec, !enabled).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hidden_entry_says_so_and_the_normal_one_does_not() {
        let exec = Path::new("/usr/bin/mohor");
        assert!(is_hidden(&entry_text(exec, true)));
        let on = entry_text(exec, false);
        assert!(!is_hidden(&on));
        assert!(on.contains("Exec=/usr/bin/mohor\n"));
    }
}
