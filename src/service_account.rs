//! ServiceAccount CREATE/UPDATE validation (SPEC §5).

use crate::request::AdmissionRequest;
use crate::settings::Settings;
use crate::verdict::Verdict;

pub fn evaluate(_request: &AdmissionRequest, _settings: &Settings) -> Verdict {
    Verdict::accept()
}
