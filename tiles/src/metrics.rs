//! Request metrics in the Prometheus text format (`/metrics`), kept by `metrics` and rendered by
//! `metrics-exporter-prometheus`: requests by route and status, a latency histogram by route, and
//! the gauges the state reports at each scrape (data version, uptime, caches, workers, streams).
//!
//! Each server state has its own recorder (not the process-wide one), so that two servers in one
//! process — the tests run many — count apart; nothing listens on a port of its own: `/metrics` is a
//! route of the server, behind its monitor role.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Requests between two folds of the recorded latencies into the histogram's buckets (the recorder
/// keeps each observation until then: this bounds its memory when nobody scrapes).
const UPKEEP_EVERY: u64 = 1024;

const REQUESTS: &str = "fengqiao_requests_total";
const LATENCY: &str = "fengqiao_request_seconds";

/// A figure of the state at the time of a scrape.
pub enum Gauge<'a> {
    /// Set to this value.
    Value(&'a str, &'a [(&'static str, &'static str)], f64),
    /// A counter kept elsewhere, reported at its current total.
    Total(&'a str, u64),
}

/// The recorder of one server, updated by the request middleware.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    since_upkeep: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(LATENCY.to_string()), &BUCKETS)
            .expect("the latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics {
            recorder,
            handle,
            since_upkeep: AtomicU64::new(0),
        };
        metrics.with(|| {
            metrics::describe_counter!(REQUESTS, "Requests by route and status.");
            metrics::describe_histogram!(LATENCY, metrics::Unit::Seconds, "Request latency by route.");
            metrics::describe_gauge!("fengqiao_data_version", "Data version of the store.");
            metrics::describe_gauge!("fengqiao_uptime_seconds", "Seconds since the server started.");
            metrics::describe_gauge!("fengqiao_cache_bytes", "Bytes held by the caches.");
            metrics::describe_gauge!("fengqiao_workers_busy", "Heavy requests running.");
            metrics::describe_gauge!("fengqiao_queue", "Heavy requests waiting.");
            metrics::describe_gauge!("fengqiao_streams", "Open event streams.");
            metrics::describe_counter!(
                "fengqiao_audit_dropped_total",
                "Audit entries that could not be queued."
            );
        });
        metrics
    }
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// Counts one request to `route` (the route's pattern, e.g. `/tiles/hex/{z}/{x}/{y}.mvt`).
    pub fn record(&self, route: &str, status: u16, elapsed: Duration) {
        self.with(|| {
            metrics::counter!(REQUESTS, "route" => route.to_string(), "status" => status.to_string()).increment(1);
            metrics::histogram!(LATENCY, "route" => route.to_string()).record(elapsed.as_secs_f64());
        });
        if self.since_upkeep.fetch_add(1, Ordering::Relaxed) + 1 >= UPKEEP_EVERY {
            self.since_upkeep.store(0, Ordering::Relaxed);
            self.handle.run_upkeep();
        }
    }

    /// The Prometheus exposition, with the data version, the uptime and `gauges`.
    pub fn render(&self, version: u64, uptime: Duration, gauges: &[Gauge]) -> String {
        self.with(|| {
            metrics::gauge!("fengqiao_data_version").set(version as f64);
            metrics::gauge!("fengqiao_uptime_seconds").set(uptime.as_secs_f64());
            for gauge in gauges {
                match *gauge {
                    Gauge::Value(name, labels, value) => {
                        metrics::gauge!(name.to_string(), labels).set(value);
                    }
                    Gauge::Total(name, total) => metrics::counter!(name.to_string()).absolute(total),
                }
            }
        });
        self.handle.run_upkeep();
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_add_up() {
        let m = Metrics::default();
        m.record("/healthz", 200, Duration::from_micros(500));
        m.record("/healthz", 200, Duration::from_millis(30));
        m.record("/healthz", 401, Duration::from_millis(2));
        let gauges = [
            Gauge::Value("fengqiao_cache_bytes", &[("cache", "tiles")], 4096.0),
            Gauge::Total("fengqiao_audit_dropped_total", 3),
        ];
        let text = m.render(7, Duration::from_secs(3), &gauges);
        assert!(text.contains("# TYPE fengqiao_requests_total counter"), "{text}");
        assert!(
            text.contains("fengqiao_requests_total{route=\"/healthz\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("fengqiao_requests_total{route=\"/healthz\",status=\"401\"} 1"));
        assert!(text.contains("# TYPE fengqiao_request_seconds histogram"));
        assert!(text.contains("fengqiao_request_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1"));
        assert!(text.contains("fengqiao_request_seconds_bucket{route=\"/healthz\",le=\"0.05\"} 3"));
        assert!(text.contains("fengqiao_request_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 3"));
        assert!(text.contains("fengqiao_request_seconds_count{route=\"/healthz\"} 3"));
        assert!(text.contains("fengqiao_data_version 7"));
        assert!(text.contains("fengqiao_cache_bytes{cache=\"tiles\"} 4096"));
        assert!(text.contains("fengqiao_audit_dropped_total 3"));
    }

    #[test]
    fn two_servers_count_apart_and_latencies_survive_upkeep() {
        let (a, b) = (Metrics::default(), Metrics::default());
        for _ in 0..UPKEEP_EVERY + 5 {
            a.record("/tiles", 200, Duration::from_millis(1));
        }
        b.record("/tiles", 200, Duration::from_millis(1));
        let (ta, tb) = (a.render(1, Duration::ZERO, &[]), b.render(1, Duration::ZERO, &[]));
        let n = UPKEEP_EVERY + 5;
        assert!(
            ta.contains(&format!(
                "fengqiao_requests_total{{route=\"/tiles\",status=\"200\"}} {n}"
            )),
            "{ta}"
        );
        assert!(
            ta.contains(&format!("fengqiao_request_seconds_count{{route=\"/tiles\"}} {n}")),
            "{ta}"
        );
        assert!(
            tb.contains("fengqiao_requests_total{route=\"/tiles\",status=\"200\"} 1"),
            "{tb}"
        );
    }
}
