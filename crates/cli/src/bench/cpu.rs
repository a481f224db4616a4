//! CPU time of the processes a round trip keeps busy: the server and, on PostgreSQL, the
//! database's sessions of the server (a process each). On a shared machine CPU time is steadier
//! than wall time, and beside it says whether a job was short of CPU or waiting. On PostgreSQL,
//! also the write-ahead log written meanwhile: what the records cost in bytes, beside the floor's.

use std::collections::HashMap;

/// `utime` and `stime` in `/proc/<pid>/stat` count ticks of Linux's `USER_HZ`: 100 a second on
/// the architectures it runs on.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time (user and system, all threads) a process has used, in milliseconds; `None` where
/// `/proc` does not say (not Linux, the process gone, or not ours to read).
pub fn process_cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_cpu_ms(&stat)
}

/// `utime + stime` of a `/proc/<pid>/stat` line, in milliseconds.
fn stat_cpu_ms(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may hold spaces and ')': the fields
    // after it count from its last ')'. utime and stime are fields 14 and 15, the 12th and
    // 13th after the name.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let user: f64 = fields.nth(11)?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) * 1000.0 / TICKS_PER_SECOND)
}

/// The CPU time used so far by the server and by its database sessions, and where the
/// database's write-ahead log stands.
pub struct CpuSnapshot {
    server: Option<f64>,
    /// Each session's server process → its CPU time; `None` off PostgreSQL, or when the
    /// database runs elsewhere (its processes are not in this machine's `/proc`).
    sessions: Option<HashMap<u32, f64>>,
    /// The log's position in bytes (see [`wal_position`]); `None` off PostgreSQL.
    wal: Option<u64>,
}

/// What a round trip used: CPU time of the server and of its sessions (ms), WAL (MiB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Used {
    pub server_cpu: Option<f64>,
    pub database_cpu: Option<f64>,
    pub wal_mib: Option<f64>,
}

/// The write-ahead log's position on the PostgreSQL server of `url`, in bytes; `None` off
/// PostgreSQL or where it cannot be read. The log is the whole server's: two readings around a
/// piece of work measure it only while nothing else writes.
pub async fn wal_position(url: Option<&str>) -> Option<u64> {
    bulkwrite_store_postgres::scratch::wal_position(url?).await.ok()
}

/// MiB of log between two positions.
pub fn wal_mib(before: Option<u64>, after: Option<u64>) -> Option<f64> {
    let (before, after) = before.zip(after)?;
    Some(after.saturating_sub(before) as f64 / (1024.0 * 1024.0))
}

impl CpuSnapshot {
    /// Reads the server's CPU time and, given its database's URL, its sessions' and the log's
    /// position.
    pub async fn take(server_pid: u32, database_url: Option<&str>) -> CpuSnapshot {
        let sessions = match database_url {
            Some(url) => match bulkwrite_store_postgres::scratch::node_session_pids(url).await {
                Ok(pids) => {
                    let times: HashMap<u32, f64> =
                        pids.into_iter().filter_map(|pid| Some((pid, process_cpu_ms(pid)?))).collect();
                    (!times.is_empty()).then_some(times)
                }
                Err(_) => None,
            },
            None => None,
        };
        CpuSnapshot { server: process_cpu_ms(server_pid), sessions, wal: wal_position(database_url).await }
    }

    /// The server's CPU time since `before`, its sessions' (a session opened since counts
    /// whole; one closed since is lost, which the pool's long-lived sessions rarely are), and
    /// the log written.
    pub fn since(&self, before: &CpuSnapshot) -> Used {
        let server = self.server.zip(before.server).map(|(now, then)| now - then);
        let sessions = self
            .sessions
            .as_ref()
            .zip(before.sessions.as_ref())
            .map(|(now, then)| now.iter().map(|(pid, ms)| ms - then.get(pid).copied().unwrap_or(0.0)).sum::<f64>());
        Used { server_cpu: server, database_cpu: sessions, wal_mib: wal_mib(before.wal, self.wal) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_user_and_system_time() {
        let line = "4242 (tokio rt) worker) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 31 0 0 20 0 9 0 77 0 0";
        assert_eq!(stat_cpu_ms(line), Some(2810.0));
        assert_eq!(stat_cpu_ms("4242 (truncated"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn this_process_can_be_read() {
        assert!(process_cpu_ms(std::process::id()).is_some());
        assert_eq!(process_cpu_ms(u32::MAX), None, "no such process");
    }

    #[test]
    fn sessions_opened_since_count_whole() {
        let before =
            CpuSnapshot { server: Some(100.0), sessions: Some(HashMap::from([(1, 50.0)])), wal: Some(1 << 20) };
        let after = CpuSnapshot {
            server: Some(180.0),
            sessions: Some(HashMap::from([(1, 70.0), (2, 5.0)])),
            wal: Some(5 << 19),
        };
        let used = after.since(&before);
        assert_eq!(used, Used { server_cpu: Some(80.0), database_cpu: Some(25.0), wal_mib: Some(1.5) });
        let off = CpuSnapshot { server: Some(150.0), sessions: None, wal: None };
        let used = off.since(&before);
        assert_eq!(used, Used { server_cpu: Some(50.0), database_cpu: None, wal_mib: None }, "no database figures");
    }
}
