//! Counts as CloudWatch metrics: one line of embedded metric format (EMF) on standard output
//! per count, which Lambda's log stream hands to CloudWatch as a metric point. No API call, no
//! extra permission, no latency.

use std::sync::Arc;

use gatehouse_domain::clock::Clock;
use gatehouse_domain::metrics::{Metric, Metrics};

/// Metrics in `namespace` (`GATEHOUSE_METRICS_NAMESPACE`), without dimensions, so that alarms
/// and dashboards see one series per metric for the whole deployment.
pub struct EmfMetrics {
    namespace: String,
    clock: Arc<dyn Clock>,
}

impl EmfMetrics {
    pub fn new(namespace: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            namespace: namespace.into(),
            clock,
        }
    }

    /// The EMF line for `n` of `metric`.
    pub fn line(&self, metric: Metric, n: u64) -> String {
        let name = metric.name();
        serde_json::json!({
            "_aws": {
                "Timestamp": self.clock.now().unix_seconds().saturating_mul(1000),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [[]],
                    "Metrics": [{ "Name": name, "Unit": "Count" }],
                }],
            },
            name: n,
        })
        .to_string()
    }
}

impl Metrics for EmfMetrics {
    fn count(&self, metric: Metric, n: u64) {
        if n > 0 {
            println!("{}", self.line(metric, n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::clock::{FixedClock, Timestamp};

    #[test]
    fn a_count_is_one_embedded_metric_format_line() {
        let clock = Arc::new(FixedClock::at(Timestamp::from_unix_seconds(1_764_720_000)));
        let metrics = EmfMetrics::new("Gatehouse/prod", clock);
        let line = metrics.line(Metric::SignInsFailed, 3);
        assert!(!line.contains('\n'));
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["_aws"]["Timestamp"], 1_764_720_000_000i64);
        let directive = &json["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Gatehouse/prod");
        assert_eq!(directive["Dimensions"], serde_json::json!([[]]));
        assert_eq!(
            directive["Metrics"],
            serde_json::json!([{ "Name": "SignInsFailed", "Unit": "Count" }])
        );
        // The value sits at the top level under the metric's name, as EMF requires.
        assert_eq!(json["SignInsFailed"], 3);
    }
}
