//! Shows a run's progress: a bar on a terminal, a log line every few seconds otherwise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use taxistream_pipeline::Progress;

/// A background thread reporting progress until dropped.
pub struct ProgressDisplay {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressDisplay {
    /// Starts reporting `progress` (counting `unit`: rows, records): a bar when `bar` is allowed
    /// and stderr is a terminal, else a log line every 5 seconds.
    pub fn start(progress: Arc<Progress>, bar: bool, unit: &'static str) -> ProgressDisplay {
        let stop = Arc::new(AtomicBool::new(false));
        let on_terminal = bar && std::io::stderr().is_terminal();
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("progress".to_owned())
                .spawn(move || {
                    if on_terminal {
                        draw_bar(&progress, &stop, unit);
                    } else {
                        log_lines(&progress, &stop, unit);
                    }
                })
                .ok()
        };
        ProgressDisplay { stop, thread }
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn draw_bar(progress: &Progress, stop: &AtomicBool, unit: &str) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {elapsed} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if let Some(expected) = progress.expected_rows() {
            if bar.length().is_none() {
                let style = ProgressStyle::with_template("{bar:30} {percent:>3}% {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
            }
            // An estimate: the bar never runs past its end.
            bar.set_length(expected.max(progress.rows()));
            bar.set_position(progress.rows());
        }
        bar.set_message(status(progress, started, unit));
        bar.tick();
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
}

fn log_lines(progress: &Progress, stop: &AtomicBool, unit: &str) {
    let started = Instant::now();
    let mut last_report = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if last_report.elapsed() >= Duration::from_secs(5) {
            tracing::info!("progress: {}", status(progress, started, unit));
            last_report = Instant::now();
        }
    }
}

fn status(progress: &Progress, started: Instant, unit: &str) -> String {
    let count = progress.rows();
    let seconds = started.elapsed().as_secs_f64().max(1e-3);
    let mut status = format!("{count} {unit}, {:.0} {unit}/s", count as f64 / seconds);
    if progress.bytes() > 0 {
        status.push_str(&format!(
            ", {} read",
            crate::summary::human_bytes(progress.bytes())
        ));
    }
    status
}
