//! `bulkwrite bench`'s options: defaults, and what cannot be measured together.

use clap::Parser;

use super::BenchArgs;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
}

fn parse(args: &[&str]) -> Result<BenchArgs, String> {
    let cli = Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).map_err(|e| e.to_string())?;
    cli.bench.check().map_err(|e| e.to_string())?;
    Ok(cli.bench)
}

#[test]
fn the_defaults_are_three_runs_of_25000_rows_on_the_benchs_own_file() {
    let args = parse(&[]).unwrap();
    assert_eq!((args.rows.clone(), args.runs, args.upsert, args.json), (vec![25_000], 3, true, false));
    assert!(!args.beside_floor());
    assert_eq!(args.work_dir, std::path::Path::new("target/floor"));
}

#[test]
fn the_floor_runs_on_a_realistic_file_of_each_size() {
    let args = parse(&["--perf-dir", "../shared/perf", "--rows", "25000,1000000", "--json"]).unwrap();
    assert!(args.beside_floor() && args.json);
    assert_eq!(args.rows, [25_000, 1_000_000]);
    let args = parse(&["--floor", "/x/limits", "--file", "leads.csv", "--upsert", "false"]).unwrap();
    assert!(args.beside_floor() && !args.upsert);
}

#[test]
fn what_cannot_be_measured_together_is_refused() {
    let refused = |args: &[&str], says: &str| {
        let error = parse(args).map(|_| ()).unwrap_err();
        assert!(error.contains(says), "{args:?}: {error}");
    };
    refused(&["--floor", "/x/limits"], "--floor needs a realistic file");
    refused(&["--file", "a.csv", "--rows", "1,2"], "--file is one size");
    refused(&["--export", "--json"], "--export runs on the bench's own file");
    refused(&["--export", "--perf-dir", "p"], "--export runs on the bench's own file");
    refused(&["--runs", "0"], "--runs must be at least 1");
    refused(&["--rows", "0"], "--rows must be at least 1");
    refused(&["--rows", "ten"], "invalid value");
    refused(&["--connections", "8"], "--reads");
    refused(&["--reads", "--runs", "2"], "cannot be used with");
    refused(&["--reads", "--export"], "cannot be used with");
    refused(&["--reads", "--floor", "/x/limits", "--file", "a.csv"], "cannot be used with");
    refused(&["--reads", "--connections", "0"], "--connections and --list-pages must be at least 1");
    refused(&["--reads", "--duration", "0"], "--duration must be more than 0");
    refused(&["--reads", "--duration", "NaN"], "--duration must be more than 0");
}

#[test]
fn reads_default_to_32_connections_for_10_seconds_and_take_a_realistic_file() {
    let args = parse(&["--reads"]).unwrap();
    assert!(args.reads);
    assert_eq!((args.connections, args.duration, args.list_pages, args.rows.clone()), (32, 10.0, 10, vec![25_000]));
    let args = parse(&["--reads", "--perf-dir", "../shared/perf", "--rows", "25000,1000000", "--json"]).unwrap();
    assert_eq!(args.rows, [25_000, 1_000_000]);
    let args = parse(&["--reads", "--connections", "64", "--duration", "2.5", "--list-pages", "3"]).unwrap();
    assert_eq!((args.connections, args.duration, args.list_pages), (64, 2.5, 3));
}
