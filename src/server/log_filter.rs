//! What `MOHOR_LOG` may turn on. tungstenite logs every frame and message it
//! sends or receives at `trace` (whole documents, in base64 or hex), so its
//! levels are capped at `info` whatever the variable says. Mohor's own log
//! lines name sizes and ids, never document bytes or PINs.

use tracing_subscriber::filter::{Directive, EnvFilter};

/// Targets that log message contents below `info`.
const CONTENT_LOGGING_TARGETS: &[&str] = &["tungstenite", "tokio_tungstenite"];

/// The filter for `spec` (the value of `MOHOR_LOG`), or the default when it
/// is absent or unreadable, with the content-logging targets capped.
pub fn log_filter(spec: Option<&str>) -> EnvFilter {
    // cryptoki logs every mechanism number it has no name for at error
    // level; that is noise for a person, not a failure.
    const DEFAULT: &str = "warn,cryptoki::mechanism=off";
    let mut filter = spec
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT));
    for target in CONTENT_LOGGING_TARGETS {
        if let Ok(d) = format!("{target}=info").parse::<Directive>() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_everywhere_still_caps_the_websocket_library() {
        for spec in [
            "trace",
            "tungstenite=trace,trace",
            "tokio_tungstenite=trace",
        ] {
            let shown = log_filter(Some(spec)).to_string();
            let directives: Vec<&str> = shown.split(',').collect();
            for target in CONTENT_LOGGING_TARGETS {
                assert!(
                    directives.contains(&format!("{target}=info").as_str()),
                    "{spec}: {shown}"
                );
                assert!(
                    !directives.contains(&format!("{target}=trace").as_str()),
                    "{spec}: {shown}"
                );
            }
        }
    }
}
