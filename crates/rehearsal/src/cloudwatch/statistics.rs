//! CloudWatch's statistics over the samples of one period: Sum, SampleCount, Average, Minimum,
//! Maximum and percentiles.
//!
//! A sample is a value with the number of times it was recorded (an EMF metric value is one sample of
//! count 1; an array of values is one sample per value). Percentiles are the nearest rank over the
//! values weighted by their counts: the value below which `p` % of the recorded samples fall. CloudWatch
//! keeps exact values for small sample sets and an estimate for large ones, so its p99 over thousands
//! of samples can differ from this one by about one sample's rank.

use std::fmt;

/// One recorded value and how many times it was recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The value.
    pub value: f64,
    /// How many times it was recorded (at least 1).
    pub count: f64,
}

/// A statistic an alarm or a dashboard widget asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// The sum of the values.
    Sum,
    /// The number of samples.
    SampleCount,
    /// Sum / SampleCount.
    Average,
    /// The smallest value.
    Minimum,
    /// The largest value.
    Maximum,
    /// The percentile `pNN` (0 < NN ≤ 100).
    Percentile(f64),
}

/// A statistic CloudWatch would not accept, or one this evaluator does not compute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "statistic {0:?} is not one of Sum, SampleCount, Average, Minimum, Maximum or a percentile such as p99 or p99.9"
)]
pub struct UnknownStatistic(pub String);

impl Statistic {
    /// Reads `Statistic` (`Sum`, `Average`, …) or `ExtendedStatistic` / a widget's `stat` (`p99`).
    pub fn parse(name: &str) -> Result<Self, UnknownStatistic> {
        let unknown = || UnknownStatistic(name.to_owned());
        Ok(match name {
            "Sum" => Statistic::Sum,
            "SampleCount" => Statistic::SampleCount,
            "Average" => Statistic::Average,
            "Minimum" => Statistic::Minimum,
            "Maximum" => Statistic::Maximum,
            _ => {
                let percentile: f64 = name
                    .strip_prefix('p')
                    .and_then(|number| number.parse().ok())
                    .ok_or_else(unknown)?;
                if !(percentile > 0.0 && percentile <= 100.0) {
                    return Err(unknown());
                }
                Statistic::Percentile(percentile)
            }
        })
    }

    /// The statistic over `samples`; `None` when there is none (a missing datapoint).
    pub fn of(self, samples: &[Sample]) -> Option<f64> {
        let total: f64 = samples.iter().map(|sample| sample.count).sum();
        if samples.is_empty() || total <= 0.0 {
            return None;
        }
        let values = samples.iter().map(|sample| sample.value);
        Some(match self {
            Statistic::Sum => samples.iter().map(|sample| sample.value * sample.count).sum(),
            Statistic::SampleCount => total,
            Statistic::Average => {
                samples
                    .iter()
                    .map(|sample| sample.value * sample.count)
                    .sum::<f64>()
                    / total
            }
            Statistic::Minimum => values.fold(f64::INFINITY, f64::min),
            Statistic::Maximum => values.fold(f64::NEG_INFINITY, f64::max),
            Statistic::Percentile(percentile) => {
                let mut sorted = samples.to_vec();
                sorted.sort_by(|a, b| a.value.total_cmp(&b.value));
                let rank = (percentile / 100.0 * total).ceil().max(1.0);
                let mut seen = 0.0;
                let mut found = sorted[sorted.len() - 1].value;
                for sample in &sorted {
                    seen += sample.count;
                    if seen >= rank {
                        found = sample.value;
                        break;
                    }
                }
                found
            }
        })
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statistic::Sum => f.write_str("Sum"),
            Statistic::SampleCount => f.write_str("SampleCount"),
            Statistic::Average => f.write_str("Average"),
            Statistic::Minimum => f.write_str("Minimum"),
            Statistic::Maximum => f.write_str("Maximum"),
            Statistic::Percentile(percentile) => write!(f, "p{percentile}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(values: &[f64]) -> Vec<Sample> {
        values.iter().map(|&value| Sample { value, count: 1.0 }).collect()
    }

    #[test]
    fn the_simple_statistics() {
        let values = samples(&[4.0, 1.0, 7.0, 0.0]);
        let of = |name| Statistic::parse(name).unwrap().of(&values).unwrap();
        assert_eq!(
            [
                of("Sum"),
                of("SampleCount"),
                of("Average"),
                of("Minimum"),
                of("Maximum")
            ],
            [12.0, 4.0, 3.0, 0.0, 7.0]
        );
    }

    #[test]
    fn a_period_without_samples_has_no_datapoint() {
        for name in ["Sum", "SampleCount", "Average", "p99"] {
            assert_eq!(Statistic::parse(name).unwrap().of(&[]), None, "{name}");
        }
    }

    #[test]
    fn percentiles_are_the_nearest_rank() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        let values = samples(&hundred);
        assert_eq!(Statistic::Percentile(50.0).of(&values), Some(50.0));
        assert_eq!(Statistic::Percentile(99.0).of(&values), Some(99.0));
        assert_eq!(Statistic::Percentile(99.9).of(&values), Some(100.0));
        assert_eq!(Statistic::Percentile(100.0).of(&values), Some(100.0));
        assert_eq!(Statistic::Percentile(0.5).of(&values), Some(1.0));
    }

    #[test]
    fn counts_weigh_values() {
        let weighted = [
            Sample {
                value: 10.0,
                count: 98.0,
            },
            Sample {
                value: 500.0,
                count: 2.0,
            },
        ];
        assert_eq!(Statistic::Percentile(98.0).of(&weighted), Some(10.0));
        assert_eq!(Statistic::Percentile(99.0).of(&weighted), Some(500.0));
        assert_eq!(Statistic::Sum.of(&weighted), Some(1980.0));
        assert_eq!(Statistic::SampleCount.of(&weighted), Some(100.0));
        assert_eq!(Statistic::Average.of(&weighted), Some(19.8));
    }

    #[test]
    fn names_read_and_print_as_cloudwatch_spells_them() {
        assert_eq!(Statistic::parse("p99.9"), Ok(Statistic::Percentile(99.9)));
        assert_eq!(Statistic::parse("p99.9").unwrap().to_string(), "p99.9");
        for bad in ["sum", "p0", "p101", "tm99", "p", ""] {
            let error = Statistic::parse(bad).unwrap_err();
            assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
        }
    }
}
