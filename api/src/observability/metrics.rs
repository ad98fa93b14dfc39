//! Prometheus metrics, kept in a registry per application (tests run several in one process).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub in_flight: IntGaugeVec,
    /// Follow-ups open, and open past their due date, per dealer: refreshed at each scrape.
    pub follow_ups_open: IntGaugeVec,
    pub follow_ups_overdue: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let in_flight = IntGaugeVec::new(
            Opts::new(
                "http_requests_in_flight",
                "HTTP requests received and not yet answered, by route",
            ),
            &["method", "route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        let follow_ups_open = IntGaugeVec::new(
            Opts::new("follow_ups_open", "Follow-ups not yet done, per dealer"),
            &["dealer"],
        )?;
        let follow_ups_overdue = IntGaugeVec::new(
            Opts::new(
                "follow_ups_overdue",
                "Follow-ups not done by their due date, per dealer",
            ),
            &["dealer"],
        )?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(follow_ups_open.clone()))?;
        registry.register(Box::new(follow_ups_overdue.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            in_flight,
            follow_ups_open,
            follow_ups_overdue,
        })
    }

    /// Lets later capabilities (the outbox) add their own collectors.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition of every collector.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(error) = encoder.encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
