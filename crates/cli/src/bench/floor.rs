//! The floor (`../shared/perf/floor`, a hand-written job with nothing around it: zip → parse →
//! validate → one transaction → result zip) and the realistic file both it and the job read
//! (`gen_leads.py N --seed 42`: emails start with random names, so keys land at random places in
//! the unique index, as in real files).

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

/// The file one size runs on, zipped (both the floor and the job read the zip).
#[derive(Debug, Clone)]
pub struct InputFile {
    pub zip: PathBuf,
    pub header: Vec<String>,
    pub rows: usize,
    /// How the file came to be, for the report (`gen_leads.py 25000 --seed 42`, or its path).
    pub label: String,
}

/// The floor's binary: the one given, or built from `perf_dir/floor` into `work_dir/build`.
pub fn locate(given: Option<&Path>, perf_dir: Option<&Path>, work_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = given {
        if !path.is_file() {
            bail!("--floor {}: no such file", path.display());
        }
        return Ok(Some(path.to_path_buf()));
    }
    let Some(perf_dir) = perf_dir else { return Ok(None) };
    let manifest = perf_dir.join("floor/Cargo.toml");
    if !manifest.is_file() {
        bail!("--perf-dir {}: no floor/Cargo.toml there", perf_dir.display());
    }
    let target = work_dir.join("build");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .stdout(Stdio::null())
        .status()
        .context("running cargo to build the floor")?;
    if !status.success() {
        bail!("building the floor from {} failed", manifest.display());
    }
    Ok(Some(target.join("release/limits")))
}

/// `gen_leads.py rows --seed 42` from `perf_dir`, zipped into `work_dir` (kept there, so the next
/// run of the same size reuses it).
pub fn realistic(perf_dir: &Path, work_dir: &Path, rows: usize) -> anyhow::Result<InputFile> {
    let zip = work_dir.join(format!("leads_{rows}_seed42.zip"));
    let label = format!("gen_leads.py {rows} --seed 42");
    if !zip.is_file() {
        let csv = work_dir.join(format!("leads_{rows}_seed42.csv"));
        let status = Command::new("python3")
            .arg(perf_dir.join("gen_leads.py"))
            .arg(rows.to_string())
            .arg(&csv)
            .args(["--seed", "42"])
            .status()
            .context("running python3 gen_leads.py")?;
        if !status.success() {
            bail!("gen_leads.py failed");
        }
        zip_file(&csv, &zip)?;
        std::fs::remove_file(&csv)?;
    }
    let (header, counted) = header_and_rows(&zip)?;
    if counted != rows {
        bail!("{} holds {counted} rows, not {rows}", zip.display());
    }
    Ok(InputFile { zip, header, rows, label })
}

/// A file given with `--file`: a zip as it is, a CSV zipped into `work_dir`.
pub fn supplied(path: &Path, work_dir: &Path) -> anyhow::Result<InputFile> {
    let is_zip = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let zip = if is_zip {
        path.to_path_buf()
    } else {
        let name = path.file_name().context("--file names no file")?.to_string_lossy();
        let zip = work_dir.join(format!("{name}.zip"));
        zip_file(path, &zip)?;
        zip
    };
    let (header, rows) = header_and_rows(&zip)?;
    Ok(InputFile { zip, header, rows, label: path.display().to_string() })
}

fn zip_file(csv: &Path, zip: &Path) -> anyhow::Result<()> {
    let name = csv.file_name().context("no file name")?.to_string_lossy().to_string();
    let partial = zip.with_extension("zip.partial");
    let mut writer = zip::ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(&partial)?));
    writer.start_file(name, zip::write::SimpleFileOptions::default().large_file(true))?;
    std::io::copy(&mut BufReader::new(std::fs::File::open(csv)?), &mut writer)?;
    writer.finish()?.flush()?;
    std::fs::rename(&partial, zip)?;
    Ok(())
}

/// The header and the number of data rows of the zip's first CSV.
fn header_and_rows(zip: &Path) -> anyhow::Result<(Vec<String>, usize)> {
    let mut archive = zip::ZipArchive::new(BufReader::new(std::fs::File::open(zip)?))?;
    let entry = archive.by_index(0)?;
    read_csv(entry)
}

fn read_csv(input: impl Read) -> anyhow::Result<(Vec<String>, usize)> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = reader.headers()?.iter().map(str::to_string).collect();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record)? {
        rows += 1;
    }
    Ok((header, rows))
}

/// One run of the floor.
#[derive(Debug, Clone, Copy)]
pub struct FloorRun {
    pub ms: f64,
    pub peak_rss_mib: Option<f64>,
}

/// Runs the floor's whole job on SQLite (a fresh database in `scratch_dir`) or, given a database
/// URL, into PostgreSQL with binary `COPY` (its tables made again first, the unique Email index kept
/// during the load): the commands `../shared/perf/README.md` gives.
pub fn run(binary: &Path, input: &Path, scratch_dir: &Path, database_url: Option<&str>) -> anyhow::Result<FloorRun> {
    let out = scratch_dir.join("floor-result.zip");
    let (store, unique) = match database_url {
        Some(url) => {
            let reset = Command::new(binary).args(["pg-reset", url, "--unique", "before"]).output()?;
            if !reset.status.success() {
                bail!("floor pg-reset: {}", String::from_utf8_lossy(&reset.stderr));
            }
            (format!("pg-copy:{url}"), "none")
        }
        None => {
            let db = scratch_dir.join("floor.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            (format!("sqlite:{}", db.display()), "before")
        }
    };
    let mut command = Command::new(binary);
    command.arg("e2e").arg(input).arg(store).arg(&out);
    command.args(["--threads", "2", "--level", "1", "--unique", unique]);
    let (stdout, peak_rss_mib) = run_sampling_rss(command)?;
    let ms = parse_secs(&stdout).with_context(|| format!("the floor printed no secs=: {stdout}"))? * 1000.0;
    Ok(FloorRun { ms, peak_rss_mib })
}

/// `secs=` of the floor's `key=value` line.
pub fn parse_secs(stdout: &str) -> Option<f64> {
    stdout.split_whitespace().find_map(|word| word.strip_prefix("secs=")).and_then(|s| s.parse().ok())
}

/// Runs `command` to its end, reading its `VmHWM` every few milliseconds (the last reading before
/// it exits is its peak, short of what it grew in its last few milliseconds).
fn run_sampling_rss(mut command: Command) -> anyhow::Result<(String, Option<f64>)> {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(kib) = std::fs::read_to_string(&status_path).ok().as_deref().and_then(vm_hwm_kib) {
            peak = Some(kib / 1024.0);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        bail!("the floor failed ({status}): {stderr}");
    }
    Ok((text, peak))
}

/// `VmHWM` of a `/proc/PID/status` text, in KiB.
pub fn vm_hwm_kib(status: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floors_time_is_read_from_its_key_value_line() {
        let line = "cmd=e2e rows=25000 ok=25000 bad=0 secs=0.126 rows_per_s=198412\n";
        assert_eq!(parse_secs(line), Some(0.126));
        assert_eq!(parse_secs("cmd=e2e rows=1"), None);
    }

    #[test]
    fn a_csv_is_counted_by_records_not_lines() {
        let csv = "Last_Name,Description\nA,\"two\nlines\"\nB,x\n";
        let (header, rows) = read_csv(csv.as_bytes()).unwrap();
        assert_eq!(header, ["Last_Name", "Description"]);
        assert_eq!(rows, 2);
    }

    #[test]
    fn a_supplied_csv_is_zipped_and_a_missing_floor_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("mine.csv");
        std::fs::write(&csv, "Last_Name,Company,Email\nA,Co,a@x.example\nB,Co,b@x.example\n").unwrap();
        let input = supplied(&csv, dir.path()).unwrap();
        assert_eq!(input.zip, dir.path().join("mine.csv.zip"));
        assert_eq!((input.rows, input.header.len()), (2, 3));
        assert_eq!(supplied(&input.zip, dir.path()).unwrap().rows, 2, "a zip is read as it is");
        let error = locate(Some(&dir.path().join("nope")), None, dir.path()).unwrap_err();
        assert!(error.to_string().contains("--floor"), "{error}");
        assert_eq!(locate(None, None, dir.path()).unwrap(), None);
        assert!(locate(None, Some(dir.path()), dir.path()).unwrap_err().to_string().contains("floor/Cargo.toml"));
    }

    #[test]
    fn vm_hwm_is_read_in_kib() {
        assert_eq!(vm_hwm_kib("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t1 kB\n"), Some(2048.0));
    }
}
