//! Diagnostic lines on stderr, shaped like kwctl's `tracing` output (`LEVEL target: message k=v`).

use std::io::Write;

/// Severity of a line; the order is verbosity, `Error` least verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => " WARN",
            Level::Info => " INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }

    fn parse(text: &str) -> Option<Option<Level>> {
        match text.to_ascii_lowercase().as_str() {
            "off" => Some(None),
            "error" => Some(Some(Level::Error)),
            "warn" | "warning" => Some(Some(Level::Warn)),
            "info" => Some(Some(Level::Info)),
            "debug" => Some(Some(Level::Debug)),
            "trace" => Some(Some(Level::Trace)),
            _ => None,
        }
    }
}

/// Which lines get printed. kwctl shows INFO and above (DEBUG with `-v`); of `RUST_LOG` only
/// target directives matter there, and the one users rely on is `policy_log=off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logger {
    max: Level,
    policy_max: Option<Level>,
}

impl Logger {
    /// Builds the filter from `-v` and the value of `RUST_LOG` (if any).
    pub fn new(verbose: bool, rust_log: Option<&str>) -> Self {
        let max = if verbose { Level::Debug } else { Level::Info };
        let policy_max = rust_log
            .into_iter()
            .flat_map(|directives| directives.split(','))
            .filter_map(|directive| directive.trim().strip_prefix("policy_log="))
            .filter_map(Level::parse)
            .next_back()
            .unwrap_or(Some(max));
        Logger { max, policy_max }
    }

    /// Prints a line of the harness itself.
    pub fn emit(&self, level: Level, target: &str, message: &str, fields: &[(&str, &str)]) {
        if level <= self.max {
            write_line(level, target, message, fields);
        }
    }

    /// Prints a line logged by the policy (target `policy_log`).
    pub fn emit_policy(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        if self.policy_max.is_some_and(|max| level <= max) {
            write_line(level, "policy_log", message, fields);
        }
    }
}

fn write_line(level: Level, target: &str, message: &str, fields: &[(&str, &str)]) {
    let mut line = format!("{} {target}: {message}", level.label());
    for (key, value) in fields {
        line.push(' ');
        line.push_str(key);
        line.push('=');
        line.push_str(value);
    }
    line.push('\n');
    // stderr is best effort: a closed pipe must not turn into a policy failure
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_log_follows_rust_log() {
        assert_eq!(Logger::new(false, None).policy_max, Some(Level::Info));
        assert_eq!(Logger::new(true, None).policy_max, Some(Level::Debug));
        assert_eq!(Logger::new(false, Some("policy_log=off")).policy_max, None);
        assert_eq!(
            Logger::new(false, Some("warn, policy_log=trace")).policy_max,
            Some(Level::Trace)
        );
        assert_eq!(
            Logger::new(false, Some("policy_log=bogus")).policy_max,
            Some(Level::Info)
        );
    }
}
