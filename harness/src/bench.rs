//! Timing repeated `validate` evaluations on one loaded policy instance.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::host::Host;
use crate::input::{AdmissionRequest, Settings};
use crate::response::AdmissionResponse;
use crate::runtime::Policy;

/// Summary of the measured evaluations, in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub median_us: f64,
    pub p99_us: f64,
    pub min_us: f64,
    pub mean_us: f64,
    pub iterations: usize,
}

impl Stats {
    /// Median (mean of the middle two for an even count), nearest-rank p99, min and mean.
    /// `None` for no samples.
    pub fn from_samples(samples: &[Duration]) -> Option<Self> {
        let mut micros: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        micros.sort_by(f64::total_cmp);
        let n = micros.len();
        let min_us = *micros.first()?;
        let median_us = if n % 2 == 1 {
            micros[n / 2]
        } else {
            (micros[n / 2 - 1] + micros[n / 2]) / 2.0
        };
        // nearest rank: the smallest sample with at least 99% of the samples at or below it
        let p99_rank = (n * 99).div_ceil(100).max(1);
        let p99_us = micros[p99_rank - 1];
        let mean_us = micros.iter().sum::<f64>() / n as f64;
        Some(Stats {
            median_us: to_nanosecond(median_us),
            p99_us: to_nanosecond(p99_us),
            min_us: to_nanosecond(min_us),
            mean_us: to_nanosecond(mean_us),
            iterations: n,
        })
    }

    /// One human-readable line.
    pub fn to_text(&self) -> String {
        format!(
            "validate: median {:.1} µs, p99 {:.1} µs, min {:.1} µs, mean {:.1} µs (N={})",
            self.median_us, self.p99_us, self.min_us, self.mean_us, self.iterations
        )
    }
}

/// Rounds microseconds to whole nanoseconds: the timer resolution, and tidy JSON.
fn to_nanosecond(micros: f64) -> f64 {
    (micros * 1000.0).round() / 1000.0
}

/// The timed evaluations: each whole, and the waPC call within it.
pub struct Samples {
    pub whole: Vec<Duration>,
    /// The guest's own work with its host calls (see [`Policy::validate_timed`]).
    pub guest: Vec<Duration>,
}

/// What `harness bench --json` prints: the whole evaluation's figures, and the median of the
/// guest call, the part of an evaluation the policy's own code decides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub whole: Stats,
    pub guest_median_us: f64,
}

impl Report {
    /// `None` for no samples.
    pub fn from_samples(samples: &Samples) -> Option<Self> {
        Some(Report {
            whole: Stats::from_samples(&samples.whole)?,
            guest_median_us: Stats::from_samples(&samples.guest)?.median_us,
        })
    }

    /// One human-readable line.
    pub fn to_text(&self) -> String {
        format!(
            "{}; guest call median {:.1} µs",
            self.whole.to_text(),
            self.guest_median_us
        )
    }
}

/// Evaluates `warmup` times, then times `iterations` evaluations. Each evaluation is timed
/// whole, as kwctl's bench does: request serialization, the guest call with its host calls,
/// and building the response (patch diff included); the guest call is also timed on its own.
/// Returns the first response too, so the caller can show what was measured.
pub fn run(
    policy: &Policy,
    host: &Host,
    request: &AdmissionRequest,
    settings: &Settings,
    warmup: usize,
    iterations: usize,
) -> (AdmissionResponse, Samples) {
    // a strict session replays from its start at every evaluation (kwctl >= 1.37 rewinds too)
    let evaluate = || {
        host.rewind();
        policy.validate_timed(request, settings)
    };
    let (first, _) = evaluate();
    // the first evaluation showed its logs and host-call errors; thousands more help nobody
    host.set_quiet(true);
    for _ in 1..warmup {
        evaluate();
    }
    let mut samples = Samples {
        whole: Vec::with_capacity(iterations),
        guest: Vec::with_capacity(iterations),
    };
    for _ in 0..iterations {
        let start = Instant::now();
        let (response, guest) = evaluate();
        let whole = start.elapsed();
        drop(response);
        samples.whole.push(whole);
        samples.guest.push(guest);
    }
    host.set_quiet(false);
    (first, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_micros(v)).collect()
    }

    #[test]
    fn odd_count() {
        let stats = Stats::from_samples(&micros(&[30, 10, 20])).expect("samples");
        assert_eq!(stats.median_us, 20.0);
        assert_eq!(stats.p99_us, 30.0);
        assert_eq!(stats.min_us, 10.0);
        assert_eq!(stats.mean_us, 20.0);
        assert_eq!(stats.iterations, 3);
    }

    #[test]
    fn even_count_and_p99_rank() {
        let values: Vec<u64> = (1..=200).collect();
        let stats = Stats::from_samples(&micros(&values)).expect("samples");
        assert_eq!(stats.median_us, 100.5);
        assert_eq!(stats.p99_us, 198.0);
        assert_eq!(stats.min_us, 1.0);
    }

    #[test]
    fn mean_is_rounded_to_nanoseconds() {
        let samples = [
            Duration::from_nanos(1000),
            Duration::from_nanos(1001),
            Duration::from_nanos(1001),
        ];
        let stats = Stats::from_samples(&samples).expect("samples");
        assert_eq!(stats.mean_us, 1.001);
    }

    #[test]
    fn no_samples() {
        assert_eq!(Stats::from_samples(&[]), None);
    }

    #[test]
    fn output_formats() {
        let stats = Stats::from_samples(&micros(&[100])).expect("samples");
        assert_eq!(
            stats.to_text(),
            "validate: median 100.0 µs, p99 100.0 µs, min 100.0 µs, mean 100.0 µs (N=1)"
        );
        assert_eq!(
            serde_json::to_string(&stats).expect("serializes"),
            r#"{"median_us":100.0,"p99_us":100.0,"min_us":100.0,"mean_us":100.0,"iterations":1}"#
        );
    }

    #[test]
    fn report_adds_the_guest_median() {
        let samples = Samples {
            whole: micros(&[100, 300, 200]),
            guest: micros(&[40, 10, 30]),
        };
        let report = Report::from_samples(&samples).expect("samples");
        assert_eq!(report.whole.median_us, 200.0);
        assert_eq!(report.guest_median_us, 30.0);
        assert_eq!(
            serde_json::to_string(&report).expect("serializes"),
            r#"{"median_us":200.0,"p99_us":300.0,"min_us":100.0,"mean_us":200.0,"iterations":3,"guest_median_us":30.0}"#
        );
        assert_eq!(
            report.to_text(),
            "validate: median 200.0 µs, p99 300.0 µs, min 100.0 µs, mean 200.0 µs (N=3); guest call median 30.0 µs"
        );
        let none = Samples {
            whole: Vec::new(),
            guest: Vec::new(),
        };
        assert_eq!(Report::from_samples(&none), None);
    }
}
