//! A one-line progress bar on standard error for long CLI work.

use std::io::Write;
use std::time::Instant;

#[derive(Debug)]
pub struct Progress {
    label: String,
    total: usize,
    done: usize,
    started: Instant,
    /// When the bar was last drawn: at most ten redraws a second.
    drawn: Option<Instant>,
}

impl Progress {
    pub fn new(label: impl Into<String>, total: usize) -> Progress {
        let mut progress = Progress {
            label: label.into(),
            total,
            done: 0,
            started: Instant::now(),
            drawn: None,
        };
        progress.draw("");
        progress
    }

    /// Counts one more item done; `note` says which.
    pub fn tick(&mut self, note: &str) {
        self.done += 1;
        self.draw(note);
    }

    fn draw(&mut self, note: &str) {
        if self.done < self.total && self.drawn.is_some_and(|at| at.elapsed().as_millis() < 100) {
            return;
        }
        self.drawn = Some(Instant::now());
        const WIDTH: usize = 28;
        let filled = (self.done * WIDTH)
            .checked_div(self.total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        let bar: String = "█".repeat(filled) + &"░".repeat(WIDTH - filled);
        let note: String = note.chars().take(40).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} {bar} {}/{} {:.1}s {note}",
            self.label,
            self.done,
            self.total,
            self.started.elapsed().as_secs_f64()
        );
        let _ = err.flush();
    }

    pub fn finish(self) {
        let _ = writeln!(std::io::stderr());
    }
}
