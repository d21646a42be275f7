//! `mohor doctor [--json]`: why a token is not seen (see `crate::doctor`).

use std::path::Path;

use super::output::{emit, print_json};
use super::Env;
use crate::doctor::{self, Inputs};
use crate::error::{Error, Result};

pub fn doctor(env: &Env, json: bool) -> Result<()> {
    let tokens = env.load_tokens();
    let seen = tokens.scan(time::OffsetDateTime::now_utc()).tokens.len();
    let report = doctor::run(&Inputs {
        modules: tokens.module_reports(),
        tokens_seen: seen,
        config_file: &env.dirs.config_file,
        usb_sysfs: Path::new("/sys/bus/usb/devices"),
        proc_dir: Path::new("/proc"),
    });
    if json {
        let value = serde_json::to_value(&report)
            .map_err(|e| Error::internal(format!("cannot encode the report: {e}")))?;
        print_json(&value)
    } else {
        emit(&report.to_text());
        Ok(())
    }
}
