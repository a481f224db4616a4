//! How client commands talk to a person or a script: plain text, colour and a live progress line
//! only on a terminal, JSON with `--json`.

use std::io::IsTerminal;

use bulkwrite_client::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Writes one line to stdout (the `out!` macro). A reader that has gone away ends the command
/// quietly with status 141, what a shell reports for SIGPIPE; any other write error ends it with
/// a message and status 1.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n"));
    if let Err(error) = written {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: cannot write to stdout: {error}");
        std::process::exit(1);
    }
}

/// Stdout for bulk output (an export's CSV): a reader that has gone away (`| head`) ends the
/// command quietly with status 141, as [`write_line`] does.
pub struct PipeStdout(std::io::Stdout);

impl PipeStdout {
    /// The process's stdout.
    pub fn new() -> PipeStdout {
        PipeStdout(std::io::stdout())
    }
}

impl std::io::Write for PipeStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).inspect_err(exit_on_broken_pipe)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().inspect_err(exit_on_broken_pipe)
    }
}

fn exit_on_broken_pipe(error: &std::io::Error) {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
}

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
        out!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
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

/// What the progress line shows after the label: the bar, the counts, then the rate and time
/// left as `indicatif` estimates them from the rows done so far.
const TEMPLATE: &str = "{prefix}[{bar:24}] {msg}  {rate} rows/s  ETA {eta}";

/// A progress line redrawn in place on a terminal, drawn by `indicatif` (which smooths the rate,
/// estimates the time left and fits the terminal's width); off a terminal, or with `--json`,
/// nothing is drawn. For a split import it shows the whole file: the counts of finished jobs plus
/// the running one.
#[derive(Debug, Clone)]
pub struct ProgressLine {
    bar: ProgressBar,
    /// Counts of the finished jobs of a split import.
    before: Counts,
    total_rows: u64,
    /// Shown before the bar (`job 2/3 `).
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
        let target = if output.interactive { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        ProgressLine::drawn_on(target, total_rows)
    }

    fn drawn_on(target: ProgressDrawTarget, total_rows: u64) -> ProgressLine {
        ProgressLine { bar: bar(target, total_rows), before: Counts::default(), total_rows, label: String::new() }
    }

    /// Adds a finished job's counts to those shown before the running job's.
    pub fn job_done(&mut self, last: &Progress) {
        self.before.added += last.added;
        self.before.updated += last.updated;
        self.before.skipped += last.skipped;
        self.before.total += last.total;
    }

    /// The counts of one progress update: status, rows done of all, added, updated, skipped.
    fn counts(&self, progress: &Progress) -> String {
        format!(
            "{:<11} {}/{} rows  added {}  updated {}  skipped {}",
            progress.status,
            grouped(self.before.total + progress.total),
            grouped(self.total_rows),
            grouped(self.before.added + progress.added),
            grouped(self.before.updated + progress.updated),
            grouped(self.before.skipped + progress.skipped),
        )
    }

    pub fn update(&self, progress: &Progress) {
        self.bar.set_prefix(self.label.clone());
        self.bar.set_message(self.counts(progress));
        self.bar.set_position(self.before.total + progress.total);
    }

    /// Leaves the last state on screen, so later output starts on a fresh line. A line that
    /// never had an update is not drawn at all.
    pub fn finish(&self) {
        if !self.bar.message().is_empty() {
            self.bar.finish();
        }
    }
}

fn bar(target: ProgressDrawTarget, total_rows: u64) -> ProgressBar {
    // An unknown total (0) leaves the bar empty rather than full.
    let length = (total_rows > 0).then_some(total_rows);
    let rate = |state: &ProgressState, out: &mut dyn std::fmt::Write| {
        let _ = write!(out, "{}", grouped(state.per_sec() as u64));
    };
    let style = ProgressStyle::with_template(TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#-")
        .with_key("rate", rate);
    ProgressBar::with_draw_target(length, target).with_style(style)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use indicatif::TermLike;

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

    /// A terminal that keeps what is written to it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            200
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, text: &str) -> std::io::Result<()> {
            self.write_str(&format!("{text}\n"))
        }
        fn write_str(&self, text: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(text);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.write_str("\r")
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        fn target(&self) -> ProgressDrawTarget {
            ProgressDrawTarget::term_like(Box::new(self.clone()))
        }

        fn text(&self) -> String {
            self.0.lock().unwrap().clone()
        }
    }

    fn progress(added: u64, skipped: u64) -> Progress {
        Progress {
            status: "IN PROGRESS".into(),
            added,
            updated: 0,
            skipped,
            total: added + skipped,
            polls: 3,
            elapsed: Duration::from_secs(2),
        }
    }

    #[test]
    fn the_progress_line_shows_counts_and_a_bar() {
        let screen = Screen::default();
        let mut line = ProgressLine::drawn_on(screen.target(), 100);
        line.update(&progress(40, 10));
        line.finish();
        let text = screen.text();
        let shown = "[############------------] IN PROGRESS 50/100 rows  added 40  updated 0  skipped 10  ";
        assert!(text.contains(shown) && text.contains(" rows/s  ETA "), "{text:?}");

        // A split import's second job: the first job's counts are added to the running one's.
        let screen = Screen::default();
        line.bar = bar(screen.target(), 100);
        line.job_done(&progress(40, 10));
        line.label = "job 2/2 ".into();
        line.update(&progress(5, 0));
        line.finish();
        let text = screen.text();
        let shown = "job 2/2 [#############-----------] IN PROGRESS 55/100 rows  added 45  updated 0  skipped 10  ";
        assert!(text.contains(shown), "{text:?}");
    }

    #[test]
    fn off_a_terminal_nothing_is_drawn() {
        assert!(ProgressLine::new(Output::plain(), 100).bar.is_hidden());
        let screen = Screen::default();
        ProgressLine::drawn_on(screen.target(), 100).finish();
        assert_eq!(screen.text(), "", "a line without an update stays blank");
    }
}
