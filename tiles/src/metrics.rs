//! Request metrics in the Prometheus text format (`/metrics`): requests by route and status, and a
//! latency histogram by route.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Route {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    seconds: f64,
}

/// Counters, updated by the request middleware.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, Route>>,
}

impl Metrics {
    /// Counts one request to `route` (the route's pattern, e.g. `/tiles/hex/{z}/{x}/{y}.mvt`).
    pub fn record(&self, route: &str, status: u16, elapsed: Duration) {
        let mut routes = self.routes.lock().expect("metrics");
        let r = routes.entry(route.to_string()).or_default();
        *r.by_status.entry(status).or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        for (bucket, &bound) in r.buckets.iter_mut().zip(&BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        r.count += 1;
        r.seconds += seconds;
    }

    /// The Prometheus exposition, with the data version and uptime.
    pub fn render(&self, version: u64, uptime: Duration) -> String {
        let mut out = String::new();
        let routes = self.routes.lock().expect("metrics");
        let _ = writeln!(out, "# HELP fengqiao_requests_total Requests by route and status.");
        let _ = writeln!(out, "# TYPE fengqiao_requests_total counter");
        for (route, r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "fengqiao_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(out, "# HELP fengqiao_request_seconds Request latency by route.");
        let _ = writeln!(out, "# TYPE fengqiao_request_seconds histogram");
        for (route, r) in routes.iter() {
            for (bound, n) in BUCKETS.iter().zip(r.buckets) {
                let _ = writeln!(
                    out,
                    "fengqiao_request_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "fengqiao_request_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(out, "fengqiao_request_seconds_sum{{route=\"{route}\"}} {}", r.seconds);
            let _ = writeln!(out, "fengqiao_request_seconds_count{{route=\"{route}\"}} {}", r.count);
        }
        let _ = writeln!(out, "# HELP fengqiao_data_version Data version of the store.");
        let _ = writeln!(out, "# TYPE fengqiao_data_version gauge");
        let _ = writeln!(out, "fengqiao_data_version {version}");
        let _ = writeln!(out, "# HELP fengqiao_uptime_seconds Seconds since the server started.");
        let _ = writeln!(out, "# TYPE fengqiao_uptime_seconds gauge");
        let _ = writeln!(out, "fengqiao_uptime_seconds {}", uptime.as_secs_f64());
        out
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
        let text = m.render(7, Duration::from_secs(3));
        assert!(text.contains("fengqiao_requests_total{route=\"/healthz\",status=\"200\"} 2"));
        assert!(text.contains("fengqiao_requests_total{route=\"/healthz\",status=\"401\"} 1"));
        assert!(text.contains("fengqiao_request_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1"));
        assert!(text.contains("fengqiao_request_seconds_bucket{route=\"/healthz\",le=\"0.05\"} 3"));
        assert!(text.contains("fengqiao_request_seconds_count{route=\"/healthz\"} 3"));
        assert!(text.contains("fengqiao_data_version 7"));
    }
}
