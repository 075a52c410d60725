//! A documented stand-in for CloudWatch's anomaly detection band, whose model AWS does not publish.
//! Every verdict that uses it is **approximate**, and says so wherever it is shown.
//!
//! The band of a period is built from the datapoints before it (a missing one counts as 0, as a count
//! metric without data is zero), with robust statistics so that an incident in progress does not
//! widen its own band (CloudWatch's model is trained on two weeks and is robust to outliers too): the
//! median ± `width` × 1.4826 × the median absolute deviation (which equals the standard deviation
//! for normally distributed data), the half-width never below `width` itself, so a metric that was
//! flat at zero gets a band of ±`width` rather than none. The first period has no history and no band.

use super::metric_math::Series;

/// The lower and upper edges of the band over `series`, period by period.
pub fn band(series: &[Option<f64>], width: f64) -> (Series, Series) {
    let mut lower = Vec::with_capacity(series.len());
    let mut upper = Vec::with_capacity(series.len());
    let mut history: Vec<f64> = Vec::with_capacity(series.len());
    for value in series {
        if history.is_empty() {
            lower.push(None);
            upper.push(None);
        } else {
            let center = median(&history);
            let deviations: Vec<f64> = history.iter().map(|value| (value - center).abs()).collect();
            let half_width = (width * 1.4826 * median(&deviations)).max(width);
            lower.push(Some(center - half_width));
            upper.push(Some(center + half_width));
        }
        history.push(value.unwrap_or(0.0));
    }
    (lower, upper)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 0 {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_follows_the_history_before_each_period() {
        let (lower, upper) = band(&[Some(10.0), Some(12.0), Some(8.0), None, Some(40.0)], 2.0);
        assert_eq!((lower[0], upper[0]), (None, None), "no history, no band");
        assert_eq!(
            (lower[1], upper[1]),
            (Some(8.0), Some(12.0)),
            "a single point: ±width"
        );
        // History 10, 12, 8: median 10, deviations 0, 2, 2 → MAD 2 → half-width 2 × 1.4826 × 2.
        let half_width = 2.0 * 1.4826 * 2.0;
        assert_eq!(
            (lower[3], upper[3]),
            (Some(10.0 - half_width), Some(10.0 + half_width))
        );
    }

    #[test]
    fn an_incident_in_progress_does_not_widen_its_own_band() {
        let series = [Some(0.0), Some(0.0), Some(0.0), Some(7355.0), Some(7335.0)];
        let (_, upper) = band(&series, 3.0);
        assert_eq!(upper[3], Some(3.0));
        assert_eq!(
            upper[4],
            Some(3.0),
            "one outlier among four points leaves the median and MAD at 0"
        );
    }
}
