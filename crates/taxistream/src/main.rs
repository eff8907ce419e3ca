//! `taxistream`: the command-line tool. Thin: parse flags, wire adapters, print.

mod cli;
mod consume_command;
mod produce_command;
mod progress_display;
mod report_command;
mod settings;
mod status_command;
mod summary;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command, RunArgs};
use progress_display::ProgressDisplay;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use taxistream_pipeline::Progress;
use taxistream_pipeline::local::{LocalRunConfig, run_local};

/// Trips are allocated on reader threads and freed on the producer's: mimalloc handles such
/// cross-thread frees far better than the system allocator (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    quiet_panics();
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Run(args) => run(args),
        Command::Produce(args) => runtime()?.block_on(produce_command::produce(args)),
        Command::Consume(args) => runtime()?.block_on(consume_command::consume(args)),
        Command::Status(args) => runtime()?.block_on(status_command::status(args)),
        Command::Report(args) => runtime()?.block_on(report_command::report(args)),
    })
    .unwrap_or_else(|_| {
        let message = LAST_PANIC
            .lock()
            .ok()
            .and_then(|mut last| last.take())
            .unwrap_or_default();
        Err(anyhow::anyhow!(
            "internal error, please report it: {message}"
        ))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The message of the last panic, for the one-line error (no backtrace on the user's terminal).
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Panics are caught where input may cause them (the Parquet library on corrupt metadata) and
/// turned into errors; keep them off the terminal, and keep the last message for `main`.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        tracing::debug!("panic: {info}");
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(info.to_string());
        }
    }));
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// Cores available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores())
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let rules = settings::resolve(&args.rules.thresholds, args.rules.config.as_deref())?;
    let cores = cores();
    let config = LocalRunConfig {
        inputs: args.inputs,
        database: args.db,
        rejects: args.rejects,
        shards: args.shards.map_or(cores, usize::from),
        reader_workers: cores,
        rules,
        dedup_memory_trips: args.dedup_memory_trips,
    };
    let runtime = runtime()?;
    let progress = Arc::new(Progress::default());
    let display = (!args.output.no_progress)
        .then(|| ProgressDisplay::start(Arc::clone(&progress), !args.output.json, "rows"));
    let report = runtime.block_on(run_local(&config, progress));
    drop(display);
    let report = report?;
    let summary = summary::Summary::new(
        &report,
        &config.database,
        &config.rejects,
        config.rules.thresholds(),
    );
    summary::print(&summary, args.output.json, || summary.to_text())
}
