//! Logs and metrics of a node: the tracing subscriber (text or JSON lines on stderr) and the
//! Prometheus recorder behind `/metrics`.

use std::sync::{Arc, OnceLock};

use bulkwrite_api::observe::MetricsExporter;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::LogFormat;

/// Buckets of the job duration histogram, in seconds: jobs take from under a second to hours.
const JOB_DURATION_BUCKETS: &[f64] =
    &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0];
/// Buckets of the HTTP duration histogram, in seconds.
const HTTP_DURATION_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Logs to stderr in `format`; `RUST_LOG` filters (default `info`). JSON lines carry the event's
/// fields at the top level, the innermost span's fields under `span` (a job's `job` and `org`,
/// a request's `request_id`) and every open span under `spans`.
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(true).try_init(),
    };
}

/// Renders the installed Prometheus recorder.
struct PrometheusExporter(PrometheusHandle);

impl MetricsExporter for PrometheusExporter {
    fn render(&self) -> String {
        // Histograms and idle series are maintained on scrape; no background thread is needed.
        self.0.run_upkeep();
        self.0.render()
    }
}

/// Installs the process-wide Prometheus recorder once and describes every metric; `None` (and a
/// warning) when another recorder holds the process.
pub fn install_metrics() -> Option<Arc<dyn MetricsExporter>> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    let handle = HANDLE.get_or_init(|| {
        let installed = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(bulkwrite_worker::observe::JOB_DURATION.to_string()),
                JOB_DURATION_BUCKETS,
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full(bulkwrite_api::observe::HTTP_DURATION.to_string()),
                    HTTP_DURATION_BUCKETS,
                )
            })
            .and_then(|builder| builder.install_recorder());
        match installed {
            Ok(handle) => {
                bulkwrite_api::observe::describe_metrics();
                bulkwrite_worker::observe::describe_metrics();
                Some(handle)
            }
            Err(error) => {
                tracing::warn!(error = %error, "metrics recorder not installed; /metrics stays empty");
                None
            }
        }
    });
    handle.clone().map(|handle| Arc::new(PrometheusExporter(handle)) as Arc<dyn MetricsExporter>)
}
