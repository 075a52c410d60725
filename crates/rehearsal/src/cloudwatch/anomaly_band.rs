//! A documented stand-in for CloudWatch's anomaly detection band, whose model AWS does not publish.
//! Every verdict that uses it is **approximate**, and says so wherever it is shown.
//!
//! The band of a period is built from the datapoints before it (a missing one counts as 0, as a count
//! metric without data is zero): their mean ± `width` × their standard deviation, the half-width never
//! below `width` itself, so a metric that was flat at zero gets a band of ±`width` rather than none.
//! The first period has no history and no band.

use super::metric_math::Series;

/// The lower and upper edges of the band over `series`, period by period.
pub fn band(series: &[Option<f64>], width: f64) -> (Series, Series) {
    let mut lower = Vec::with_capacity(series.len());
    let mut upper = Vec::with_capacity(series.len());
    let (mut count, mut sum, mut sum_of_squares) = (0.0_f64, 0.0_f64, 0.0_f64);
    for value in series {
        if count == 0.0 {
            lower.push(None);
            upper.push(None);
        } else {
            let mean = sum / count;
            let deviation = (sum_of_squares / count - mean * mean).max(0.0).sqrt();
            let half_width = (width * deviation).max(width);
            lower.push(Some(mean - half_width));
            upper.push(Some(mean + half_width));
        }
        let value = value.unwrap_or(0.0);
        count += 1.0;
        sum += value;
        sum_of_squares += value * value;
    }
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_follows_the_history_before_each_period() {
        let (lower, upper) = band(&[Some(10.0), Some(10.0), None, Some(40.0)], 2.0);
        assert_eq!(lower[0], None);
        assert_eq!(
            (lower[1], upper[1]),
            (Some(8.0), Some(12.0)),
            "flat history: ±width"
        );
        // History 10, 10: still flat.
        assert_eq!(upper[2], Some(12.0));
        // History 10, 10, 0 (missing): mean 6.67, deviation 4.71.
        let upper = upper[3].unwrap();
        assert!(
            (upper - (20.0 / 3.0 + 2.0 * (200.0_f64 / 9.0).sqrt())).abs() < 1e-9,
            "{upper}"
        );
    }
}
