//! What one size measured, as lines for a reader or as JSON for scripts (`--json`, read by
//! `scripts/perf-chart.py`). Medians over the runs, and ratios taken run by run: the floor and the
//! job of one run met the same machine, so their ratio is steadier than the ratio of two medians.

use serde::Serialize;
use serde_json::{json, Value};

/// The version of the JSON document; a script checks it.
pub const FORMAT: u32 = 1;

/// Every run of one size.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Size {
    /// Data rows of the file.
    pub rows: usize,
    /// The floor's time per run (its own `secs=`), empty without a floor.
    pub floor_ms: Vec<f64>,
    /// The floor process's peak RSS per run (sampled).
    pub floor_peak_rss_mib: Vec<f64>,
    /// MiB of PostgreSQL's write-ahead log the floor wrote per run (see `cpu::wal_position`).
    pub floor_wal_mib: Vec<f64>,
    /// The insert's HTTP round trip per run.
    pub insert_ms: Vec<f64>,
    /// The server's own creation-to-finish time of each insert.
    pub insert_server_job_ms: Vec<f64>,
    /// CPU time the server used over each insert's round trip (`None` where `/proc` does not say).
    pub insert_server_cpu_ms: Vec<f64>,
    /// CPU time the server's PostgreSQL sessions used over each insert's round trip.
    pub insert_database_cpu_ms: Vec<f64>,
    /// MiB of PostgreSQL's write-ahead log written over each insert's round trip.
    pub insert_wal_mib: Vec<f64>,
    /// The upsert by Email over the inserted records, per run (empty with `--upsert false`).
    pub upsert_ms: Vec<f64>,
    /// The server's own time of each upsert.
    pub upsert_server_job_ms: Vec<f64>,
    /// CPU time of the server over each upsert, and of its PostgreSQL sessions.
    pub upsert_server_cpu_ms: Vec<f64>,
    pub upsert_database_cpu_ms: Vec<f64>,
    /// MiB of write-ahead log over each upsert.
    pub upsert_wal_mib: Vec<f64>,
    /// The server process's peak RSS (`VmHWM`), per server started.
    pub peak_rss_mib: Vec<f64>,
    /// Rows each insert skipped (with their errors in the result file).
    pub skipped: Vec<u64>,
}

/// The median of `values` (the upper one of an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

fn max(values: &[f64]) -> Option<f64> {
    values.iter().copied().filter(|v| v.is_finite()).max_by(f64::total_cmp)
}

/// The median of `top[i] / bottom[i]` over the runs that have both.
pub fn paired_ratio(top: &[f64], bottom: &[f64]) -> Option<f64> {
    let ratios: Vec<f64> = top.iter().zip(bottom).filter(|(_, b)| **b > 0.0).map(|(t, b)| t / b).collect();
    median(&ratios)
}

impl Size {
    /// The job's insert against the floor, run by run.
    pub fn insert_to_floor(&self) -> Option<f64> {
        paired_ratio(&self.insert_ms, &self.floor_ms)
    }

    /// The upsert against the insert of the same run.
    pub fn upsert_to_insert(&self) -> Option<f64> {
        paired_ratio(&self.upsert_ms, &self.insert_ms)
    }

    /// The size as JSON: every run's figures, their medians, the ratios.
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self).expect("plain numbers serialise");
        value["median"] = json!({
            "floor_ms": median(&self.floor_ms),
            "insert_ms": median(&self.insert_ms),
            "insert_server_job_ms": median(&self.insert_server_job_ms),
            "upsert_ms": median(&self.upsert_ms),
            "insert_server_cpu_ms": median(&self.insert_server_cpu_ms),
            "insert_database_cpu_ms": median(&self.insert_database_cpu_ms),
            "upsert_server_cpu_ms": median(&self.upsert_server_cpu_ms),
            "upsert_database_cpu_ms": median(&self.upsert_database_cpu_ms),
            "floor_wal_mib": median(&self.floor_wal_mib),
            "insert_wal_mib": median(&self.insert_wal_mib),
            "upsert_wal_mib": median(&self.upsert_wal_mib),
        });
        value["max_peak_rss_mib"] = json!(max(&self.peak_rss_mib));
        value["max_floor_peak_rss_mib"] = json!(max(&self.floor_peak_rss_mib));
        value["ratio"] = json!({
            "insert_to_floor": self.insert_to_floor(),
            "upsert_to_insert": self.upsert_to_insert(),
        });
        value
    }

    /// The size for a reader: one line per measured thing.
    pub fn lines(&self) -> Vec<String> {
        let ms = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1} ms"));
        let times = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}x"));
        let mib = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1} MiB"));
        let mut lines = Vec::new();
        if !self.floor_ms.is_empty() {
            lines.push(format!(
                "job     {:>8} rows  median {:>10}  (insert round trip; server job {})",
                self.rows,
                ms(median(&self.insert_ms)),
                ms(median(&self.insert_server_job_ms))
            ));
            lines.push(format!(
                "floor   {:>8} rows  median {:>10}  peak RSS {}",
                self.rows,
                ms(median(&self.floor_ms)),
                mib(max(&self.floor_peak_rss_mib))
            ));
            lines.push(format!(
                "ratio   {:>8} rows  insert round trip / floor: {} (median of {} paired runs)",
                self.rows,
                times(self.insert_to_floor()),
                self.floor_ms.len().min(self.insert_ms.len())
            ));
        }
        if !self.upsert_ms.is_empty() {
            lines.push(format!("ratio   {:>8} rows  upsert / insert: {}", self.rows, times(self.upsert_to_insert())));
        }
        if !self.insert_server_cpu_ms.is_empty() {
            let database = median(&self.insert_database_cpu_ms)
                .map_or_else(String::new, |v| format!(", its PostgreSQL sessions {v:.0} ms"));
            lines.push(format!(
                "cpu     {:>8} rows  insert: server {}{database} (medians)",
                self.rows,
                ms(median(&self.insert_server_cpu_ms))
            ));
        }
        if !self.insert_wal_mib.is_empty() {
            let of = |name: &str, values: &[f64]| median(values).map(|v| format!("{name} {v:.0} MiB"));
            let parts: Vec<String> = [
                of("insert", &self.insert_wal_mib),
                of("upsert", &self.upsert_wal_mib),
                of("floor", &self.floor_wal_mib),
            ]
            .into_iter()
            .flatten()
            .collect();
            lines.push(format!("wal     {:>8} rows  {} (medians)", self.rows, parts.join(", ")));
        }
        lines
    }
}

/// The whole run as one JSON document.
pub fn document(backend: &str, runs: usize, file: &str, floor: Option<&str>, sizes: &[Size]) -> Value {
    json!({
        "format": FORMAT,
        "tool": "bulkwrite bench",
        "backend": backend,
        "runs": runs,
        "file": file,
        "floor": floor,
        "sizes": sizes.iter().map(Size::to_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_value_and_skips_what_was_not_measured() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(4.0));
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn ratios_are_taken_run_by_run() {
        // Run 1 meets a slow machine (both slower); the paired ratio stays 2.
        let size = Size {
            rows: 10,
            floor_ms: vec![100.0, 200.0, 100.0],
            insert_ms: vec![200.0, 400.0, 260.0],
            upsert_ms: vec![220.0, 400.0, 260.0],
            ..Size::default()
        };
        assert_eq!(size.insert_to_floor(), Some(2.0));
        assert_eq!(size.upsert_to_insert(), Some(1.0));
        assert_eq!(Size::default().insert_to_floor(), None);
    }

    #[test]
    fn the_json_holds_every_run_the_medians_and_the_ratios() {
        let size = Size {
            rows: 25_000,
            floor_ms: vec![120.0, 130.0, 125.0],
            floor_peak_rss_mib: vec![20.0, 21.0, 22.0],
            floor_wal_mib: vec![],
            insert_ms: vec![300.0, 260.0, 250.0],
            insert_server_job_ms: vec![280.0, 240.0, 230.0],
            insert_server_cpu_ms: vec![200.0, 210.0, 190.0],
            insert_database_cpu_ms: vec![],
            insert_wal_mib: vec![],
            upsert_ms: vec![],
            upsert_server_job_ms: vec![],
            upsert_server_cpu_ms: vec![],
            upsert_database_cpu_ms: vec![],
            upsert_wal_mib: vec![],
            peak_rss_mib: vec![90.0, 99.5, 95.0],
            skipped: vec![0, 0, 0],
        };
        let doc = document("sqlite", 3, "gen_leads.py 25000 --seed 42", Some("/x/limits"), &[size]);
        assert_eq!(doc["format"], 1);
        assert_eq!(doc["backend"], "sqlite");
        assert_eq!(doc["floor"], "/x/limits");
        let size = &doc["sizes"][0];
        assert_eq!(size["rows"], 25_000);
        assert_eq!(size["insert_ms"], json!([300.0, 260.0, 250.0]));
        assert_eq!(size["median"]["floor_ms"], 125.0);
        assert_eq!(size["median"]["insert_ms"], 260.0);
        assert_eq!(size["median"]["upsert_ms"], Value::Null);
        assert_eq!(size["median"]["insert_server_cpu_ms"], 200.0);
        assert_eq!(size["median"]["insert_database_cpu_ms"], Value::Null, "SQLite has no sessions");
        assert_eq!(size["median"]["insert_wal_mib"], Value::Null, "nor a write-ahead log of PostgreSQL");
        assert_eq!(size["max_peak_rss_mib"], 99.5);
        assert_eq!(size["max_floor_peak_rss_mib"], 22.0);
        assert_eq!(size["ratio"]["insert_to_floor"], 2.0, "300/120, 260/130, 250/125");
        assert_eq!(size["ratio"]["upsert_to_insert"], Value::Null);
    }

    #[test]
    fn the_lines_name_the_floor_and_the_ratio_only_when_measured() {
        let mut size = Size { rows: 200, insert_ms: vec![10.0], ..Size::default() };
        assert!(size.lines().is_empty());
        size.floor_ms = vec![5.0];
        let lines = size.lines();
        assert!(lines[0].starts_with("job          200 rows  median    10.0 ms"), "{lines:?}");
        assert!(lines[1].starts_with("floor        200 rows  median     5.0 ms"), "{lines:?}");
        assert!(lines[2].contains("insert round trip / floor: 2.00x (median of 1 paired runs)"), "{lines:?}");
        assert_eq!(lines.len(), 3, "no CPU line without CPU figures");
        size.insert_server_cpu_ms = vec![8.0];
        size.insert_database_cpu_ms = vec![3.0];
        let lines = size.lines();
        assert!(lines[3].contains("insert: server 8.0 ms, its PostgreSQL sessions 3 ms"), "{lines:?}");
        assert_eq!(lines.len(), 4, "no log line without log figures");
        size.insert_wal_mib = vec![700.0, 650.0, 690.0];
        size.floor_wal_mib = vec![300.0, 310.0, 305.0];
        let lines = size.lines();
        assert_eq!(lines[4], "wal          200 rows  insert 690 MiB, floor 305 MiB (medians)");
    }
}
