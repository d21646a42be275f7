//! Where PKCS#11 modules come from: a built-in table of the drivers Indian
//! DSC tokens ship (per OS), the config file, and `--module`.
//!
//! The table lists the install locations the vendors' installers use. It is
//! data, not logic: a path that is wrong or missing simply is not present on
//! the machine; an office with another driver lists it in the config file.

use std::path::{Path, PathBuf};

/// Why a module is being considered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModuleSource {
    /// From the built-in table, with the token family it serves.
    BuiltIn {
        driver: String,
    },
    Config,
    CommandLine,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModuleCandidate {
    pub path: PathBuf,
    pub source: ModuleSource,
}

/// One driver family and the paths its installers use on each OS.
pub struct KnownDriver {
    pub name: &'static str,
    pub windows: &'static [&'static str],
    pub linux: &'static [&'static str],
    pub macos: &'static [&'static str],
}

/// The built-in table. Windows names are resolved in System32 (and SysWOW64
/// for 32-bit agents) by the loader; Linux/macOS entries are absolute.
pub const KNOWN_DRIVERS: &[KnownDriver] = &[
    KnownDriver {
        name: "ePass2003 (Feitian)",
        windows: &["eps2003csp11.dll", "eps2003csp11v2.dll"],
        linux: &[
            "/usr/lib/libcastle.so.1.0.0",
            "/usr/lib/libcastle_v2.so.1.0.0",
            "/usr/local/lib/libcastle.so.1.0.0",
            "/usr/local/lib/libcastle_v2.so.1.0.0",
            "/usr/lib/ePass2003-Castle/libcastle.so.1.0.0",
        ],
        macos: &[
            "/usr/local/lib/libcastle.1.0.0.dylib",
            "/usr/local/lib/libcastle_v2.1.0.0.dylib",
        ],
    },
    KnownDriver {
        name: "HYP2003 (HyperPKI)",
        windows: &["hypersecur11.dll", "HYP2003_PKCS11.dll"],
        linux: &[
            "/usr/lib/HYP2003/libhyp2003.so",
            "/usr/lib/libhypersecur11.so",
            "/usr/local/lib/libhypersecur11.so",
        ],
        macos: &["/usr/local/lib/libhypersecur11.dylib"],
    },
    KnownDriver {
        name: "ProxKey (WatchData)",
        windows: &["SignatureP11.dll", "wdpkcs.dll"],
        linux: &[
            "/usr/lib/WatchData/ProxKey/lib/libwdpkcs_SignatureP11.so",
            "/usr/lib/libwdpkcs_SignatureP11.so",
        ],
        macos: &["/usr/local/lib/libwdpkcs_SignatureP11.dylib"],
    },
    KnownDriver {
        name: "TrustKey (WatchData)",
        windows: &["wdpkcs_TRUSTKEY.dll"],
        linux: &[
            "/usr/lib/WatchData/TRUSTKEY/lib/libwdpkcs_TRUSTKEY.so",
            "/usr/lib/libwdpkcs_TRUSTKEY.so",
        ],
        macos: &["/usr/local/lib/libwdpkcs_TRUSTKEY.dylib"],
    },
    KnownDriver {
        name: "eMudhra WatchData",
        windows: &["wdpkcs_eMudhra.dll"],
        linux: &["/usr/lib/WatchData/eMudhra_3.4.3/lib/libwdpkcs_eMudhra_3.4.3.so"],
        macos: &[],
    },
    KnownDriver {
        name: "mToken CryptoID (Longmai)",
        windows: &["CryptoIDA_pkcs11.dll", "mtoken_pkcs11.dll"],
        linux: &[
            "/usr/lib/libcryptoid_pkcs11.so",
            "/opt/CryptoIDATools/bin/libcryptoid_pkcs11.so",
        ],
        macos: &["/usr/local/lib/libcryptoid_pkcs11.dylib"],
    },
    KnownDriver {
        name: "SafeNet eToken (Thales)",
        windows: &["eTPKCS11.dll"],
        linux: &["/usr/lib/libeTPkcs11.so", "/usr/lib/libeToken.so"],
        macos: &["/usr/local/lib/libeTPkcs11.dylib"],
    },
    KnownDriver {
        name: "OpenSC (generic smart cards)",
        windows: &["opensc-pkcs11.dll"],
        linux: &[],
        macos: &["/Library/OpenSC/lib/opensc-pkcs11.so"],
    },
];

fn this_os_paths(d: &KnownDriver) -> &'static [&'static str] {
    if cfg!(windows) {
        d.windows
    } else if cfg!(target_os = "macos") {
        d.macos
    } else {
        d.linux
    }
}

/// Every module to try: built-in drivers that are present on this machine,
/// then config entries, then `--module` entries; each path once.
pub fn candidates(config: &[PathBuf], command_line: &[PathBuf]) -> Vec<ModuleCandidate> {
    let mut out: Vec<ModuleCandidate> = Vec::new();
    let mut push = |path: PathBuf, source: ModuleSource| {
        if !out.iter().any(|c| c.path == path) {
            out.push(ModuleCandidate { path, source });
        }
    };
    for driver in KNOWN_DRIVERS {
        for p in this_os_paths(driver) {
            if let Some(found) = locate_builtin(p) {
                push(
                    found,
                    ModuleSource::BuiltIn {
                        driver: driver.name.to_string(),
                    },
                );
            }
        }
    }
    for p in config {
        push(p.clone(), ModuleSource::Config);
    }
    for p in command_line {
        push(p.clone(), ModuleSource::CommandLine);
    }
    out
}

/// A built-in entry counts only if the file is there: absent vendor drivers
/// are normal and not worth an error.
fn locate_builtin(entry: &str) -> Option<PathBuf> {
    let p = Path::new(entry);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    // Bare DLL names: look in the Windows system directories.
    let windir = std::env::var_os("SystemRoot").map(PathBuf::from)?;
    ["System32", "SysWOW64"]
        .iter()
        .map(|d| windir.join(d).join(entry))
        .find(|c| c.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_the_token_families_officials_use() {
        let names: Vec<&str> = KNOWN_DRIVERS.iter().map(|d| d.name).collect();
        for family in [
            "ePass2003",
            "HYP2003",
            "ProxKey",
            "mToken",
            "SafeNet",
            "TrustKey",
        ] {
            assert!(names.iter().any(|n| n.contains(family)), "{family} missing");
        }
        let all_windows: Vec<&str> = KNOWN_DRIVERS
            .iter()
            .flat_map(|d| d.windows.iter().copied())
            .collect();
        for dll in [
            "eps2003csp11.dll",
            "SignatureP11.dll",
            "wdpkcs.dll",
            "eTPKCS11.dll",
        ] {
            assert!(all_windows.contains(&dll), "{dll}");
        }
        let all_linux: Vec<&str> = KNOWN_DRIVERS
            .iter()
            .flat_map(|d| d.linux.iter().copied())
            .collect();
        assert!(all_linux.iter().any(|p| p.ends_with("libcastle.so.1.0.0")));
        assert!(all_linux.iter().any(|p| p.contains("libcastle_v2")));
        assert!(all_linux
            .iter()
            .any(|p| p.ends_with("libwdpkcs_SignatureP11.so")));
        assert!(all_linux.iter().any(|p| p.ends_with("libeTPkcs11.so")));
    }

    #[test]
    fn explicit_modules_are_kept_once_and_in_order() {
        let a = PathBuf::from("/nonexistent/a.so");
        let b = PathBuf::from("/nonexistent/b.so");
        let c = candidates(std::slice::from_ref(&a), &[b.clone(), a.clone()]);
        let paths: Vec<_> = c.iter().map(|c| c.path.clone()).collect();
        assert_eq!(paths, vec![a, b]);
        assert_eq!(c[0].source, ModuleSource::Config);
        assert_eq!(c[1].source, ModuleSource::CommandLine);
    }
}
