//! How client commands talk to a person or a script: plain text, colour and a live progress line
//! only on a terminal, JSON with `--json`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use bulkwrite_client::Progress;

/// Output settings of one command.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    /// stderr is a terminal: the progress line is drawn there.
    pub interactive: bool,
    /// stdout is a terminal and `NO_COLOR` is unset: text on stdout is coloured.
    pub colour: bool,
    /// The same for stderr.
    pub colour_err: bool,
}

impl Output {
    pub fn new(json: bool) -> Output {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Output {
            json,
            interactive: !json && std::io::stderr().is_terminal(),
            colour: !json && !no_colour && std::io::stdout().is_terminal(),
            colour_err: !no_colour && std::io::stderr().is_terminal(),
        }
    }

    /// Plain output: no colour, no progress (tests).
    #[cfg(test)]
    pub fn plain() -> Output {
        Output { json: false, interactive: false, colour: false, colour_err: false }
    }

    /// Wraps text for stdout in an ANSI colour on a terminal.
    pub fn paint(self, text: &str, colour: Colour) -> String {
        paint(self.colour, text, colour)
    }

    /// Wraps text for stderr in an ANSI colour on a terminal.
    pub fn paint_err(self, text: &str, colour: Colour) -> String {
        paint(self.colour_err, text, colour)
    }

    /// Prints a JSON document on stdout.
    pub fn json(self, value: &serde_json::Value) {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    }
}

fn paint(enabled: bool, text: &str, colour: Colour) -> String {
    if !enabled {
        return text.to_string();
    }
    let code = match colour {
        Colour::Green => "32",
        Colour::Yellow => "33",
        Colour::Red => "31",
        Colour::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

#[derive(Debug, Clone, Copy)]
pub enum Colour {
    Green,
    Yellow,
    Red,
    Bold,
}

/// `12,345`
pub fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1 row`, `25,000 rows`
pub fn counted(number: u64, noun: &str) -> String {
    let plural = if number == 1 { "" } else { "s" };
    format!("{} {noun}{plural}", grouped(number))
}

/// A progress line redrawn in place on a terminal. For a split import it shows the whole
/// file: the counts of finished jobs plus the running one, and the rate since the start.
#[derive(Debug, Clone)]
pub struct ProgressLine {
    enabled: bool,
    started: Instant,
    /// Counts of the finished jobs of a split import.
    before: Counts,
    pub total_rows: u64,
    pub label: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    added: u64,
    updated: u64,
    skipped: u64,
    total: u64,
}

impl ProgressLine {
    pub fn new(output: Output, total_rows: u64) -> ProgressLine {
        ProgressLine {
            enabled: output.interactive,
            started: Instant::now(),
            before: Counts::default(),
            total_rows,
            label: String::new(),
        }
    }

    /// Adds a finished job's counts to those shown before the running job's.
    pub fn job_done(&mut self, last: &Progress) {
        self.before.added += last.added;
        self.before.updated += last.updated;
        self.before.skipped += last.skipped;
        self.before.total += last.total;
    }

    /// The text of one progress update.
    pub fn text(&self, progress: &Progress) -> String {
        self.text_at(progress, self.started.elapsed())
    }

    fn text_at(&self, progress: &Progress, elapsed: Duration) -> String {
        let done = self.before.total + progress.total;
        let width = 24u64;
        let filled = (done.min(self.total_rows) * width).checked_div(self.total_rows).unwrap_or(0) as usize;
        format!(
            "{}[{}{}] {:<11} {}/{} rows  added {}  updated {}  skipped {}  {} rows/s",
            self.label,
            "#".repeat(filled),
            "-".repeat(width as usize - filled),
            progress.status,
            grouped(done),
            grouped(self.total_rows),
            grouped(self.before.added + progress.added),
            grouped(self.before.updated + progress.updated),
            grouped(self.before.skipped + progress.skipped),
            grouped(rate(done, elapsed)),
        )
    }

    pub fn update(&self, progress: &Progress) {
        if !self.enabled {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", self.text(progress));
        let _ = err.flush();
    }

    /// Ends the line so later output starts on a fresh one.
    pub fn finish(&self) {
        if self.enabled {
            eprintln!();
        }
    }
}

fn rate(rows: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        return 0;
    }
    (rows as f64 / seconds) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(25_000), "25,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(counted(1, "row"), "1 row");
        assert_eq!(counted(25_000, "row"), "25,000 rows");
    }

    #[test]
    fn the_progress_line_shows_counts_and_a_bar() {
        let mut line = ProgressLine::new(Output::plain(), 100);
        let progress = Progress {
            status: "IN PROGRESS".into(),
            added: 40,
            updated: 0,
            skipped: 10,
            total: 50,
            polls: 3,
            elapsed: Duration::from_secs(2),
        };
        let text = line.text_at(&progress, Duration::from_secs(2));
        assert!(text.starts_with("[############------------] IN PROGRESS 50/100 rows"), "{text}");
        assert!(text.contains("skipped 10") && text.ends_with("25 rows/s"), "{text}");
        line.job_done(&progress);
        line.label = "job 2/2 ".into();
        let text = line.text_at(&Progress { added: 5, skipped: 0, total: 5, ..progress }, Duration::from_secs(11));
        assert!(text.starts_with("job 2/2 [#############-----------] IN PROGRESS 55/100 rows  added 45"), "{text}");
        assert!(text.contains("skipped 10") && text.ends_with("  5 rows/s"), "{text}");
    }
}
