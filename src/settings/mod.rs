//! Policy settings (reference §3): camelCase, every field defaulted, unknown keys rejected, and the
//! resolved values the rest of the policy reads (authority host, token layout, CA source).

mod check;
mod client_ids;
mod model;

pub use model::*;

/// Parse and check settings in one go, as `validate_settings` does.
pub fn parse_and_check(bytes: &[u8]) -> Result<Settings, String> {
    let settings = Settings::from_json(bytes)?;
    settings.check()?;
    Ok(settings)
}
