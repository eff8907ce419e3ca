//! Command-line flags, as parsed (validation happens in `settings`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use rust_decimal::Decimal;
use std::path::PathBuf;
use taxistream_aws::settings as aws_settings;
use taxistream_core::Table;

/// Where the rejected rows of local files go unless told otherwise.
const DEFAULT_REJECTS_FILE: &str = "taxistream-rejects.csv";

/// Real-time analytics of taxi trips: the pipeline on one machine, or on AWS.
#[derive(Debug, Parser)]
#[command(name = "taxistream", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline locally: files → sharded stream → the three tables in SQLite.
    Run(RunArgs),
    /// The producer role on AWS: trip files or S3 objects → records on a Kinesis stream.
    Produce(ProduceArgs),
    /// The consumer role on AWS: a Kinesis stream → the three DynamoDB tables, with checkpoints.
    Consume(ConsumeArgs),
    /// Whether an object uploaded on AWS is done, and its accounting (from the producer's reports).
    Status(StatusArgs),
    /// A self-contained HTML page of plots of the three tables, from SQLite or DynamoDB.
    Report(ReportArgs),
}

/// `taxistream status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The object (`s3://bucket/key`).
    #[arg(value_name = "OBJECT")]
    pub object: String,

    /// Bucket of the producer's reports [default: the object's bucket].
    #[arg(long, value_name = "BUCKET", env = aws_settings::REJECTS_BUCKET)]
    pub reports_bucket: Option<String>,

    /// Key prefix of the producer's reports.
    #[arg(
        long,
        value_name = "PREFIX",
        env = aws_settings::REPORTS_PREFIX,
        default_value = aws_settings::DEFAULT_REPORTS_PREFIX
    )]
    pub reports_prefix: String,

    /// Print the status as JSON (for scripts) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `taxistream produce`.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Trip files (CSV, .csv.gz, Parquet) or S3 objects (`s3://bucket/key`).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,

    #[command(flatten)]
    pub stream: StreamArgs,

    /// CSV file for the rejected rows of local files.
    #[arg(
        long,
        value_name = "PATH",
        env = "TAXISTREAM_REJECTS",
        default_value = DEFAULT_REJECTS_FILE
    )]
    pub rejects: PathBuf,

    /// Bucket for the rejected rows of S3 objects [default: the object's bucket].
    #[arg(long, value_name = "BUCKET", env = aws_settings::REJECTS_BUCKET)]
    pub rejects_bucket: Option<String>,

    /// Key prefix for the rejected rows of S3 objects (`<prefix><key>.rejects.csv`).
    #[arg(
        long,
        value_name = "PREFIX",
        env = aws_settings::REJECTS_PREFIX,
        default_value = aws_settings::DEFAULT_REJECTS_PREFIX
    )]
    pub rejects_prefix: String,

    /// Trips as KPL aggregated records (`kpl`: many trips per stream record) or one record each
    /// (`none`).
    #[arg(
        long,
        value_name = "MODE",
        env = taxistream_aws::aggregation::AGGREGATION,
        default_value = "kpl"
    )]
    pub aggregation: String,

    /// Bound on an aggregated record's bytes.
    #[arg(
        long,
        value_name = "BYTES",
        env = taxistream_aws::aggregation::AGGREGATE_MAX_BYTES
    )]
    pub aggregate_max_bytes: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where a shard without a checkpoint starts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StartFrom {
    /// The oldest record the stream keeps.
    TrimHorizon,
    /// Only records put from now on.
    Latest,
}

/// `taxistream consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub stream: StreamArgs,

    /// Where shards without a checkpoint start.
    #[arg(long, value_enum, default_value = "trim-horizon")]
    pub from: StartFrom,

    /// Checkpoint file: per shard, the last record done; a restart resumes after it
    /// [default: taxistream-<stream>.checkpoint.json].
    #[arg(long, value_name = "PATH", env = "TAXISTREAM_CHECKPOINT")]
    pub checkpoint: Option<PathBuf>,

    /// Stop once every shard is read to its tip (else run until Ctrl-C).
    #[arg(long)]
    pub until_idle: bool,

    /// Records per GetRecords call.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(i32).range(1..=10_000))]
    pub batch_size: i32,

    /// Milliseconds to wait after a round that found no new record.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,

    /// CSV file receiving undecodable records (appended to).
    #[arg(
        long,
        value_name = "PATH",
        env = "TAXISTREAM_CONSUME_REJECTS",
        default_value = "taxistream-consume-rejects.csv"
    )]
    pub rejects: PathBuf,

    #[command(flatten)]
    pub tables: DynamoTableArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub rules: RulesArgs,
}

/// `taxistream run`.
#[derive(Debug, Args)]
#[command(mut_arg("no_progress", |arg| arg.help(
    "No progress report: neither the bar (on a terminal) nor the log lines (otherwise)"
)))]
pub struct RunArgs {
    /// Trip files (CSV, .csv.gz, Parquet; told apart by content) or directories of them.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// SQLite database for the three tables (created if missing; rows are upserted).
    #[arg(
        long,
        value_name = "PATH",
        env = "TAXISTREAM_DB",
        default_value = "taxistream.db"
    )]
    pub db: PathBuf,

    /// CSV file for rejected rows (source, line, column, reason, detail, raw, raw_encoding).
    #[arg(
        long,
        value_name = "PATH",
        env = "TAXISTREAM_REJECTS",
        default_value = DEFAULT_REJECTS_FILE
    )]
    pub rejects: PathBuf,

    /// Shards of the in-process stream, one consumer each [default: number of cores].
    #[arg(long, value_name = "N", env = "TAXISTREAM_SHARDS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub shards: Option<u16>,

    /// Trips that duplicate detection keeps in memory, all shards together (32 bytes each),
    /// before it writes sorted runs to a temporary file beside the database.
    #[arg(long, value_name = "N", env = "TAXISTREAM_DEDUP_MEMORY_TRIPS", default_value_t = taxistream_pipeline::local::run::DEFAULT_DEDUP_MEMORY_TRIPS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub dedup_memory_trips: usize,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub rules: RulesArgs,
}

/// The DynamoDB table flags of `consume` and `report`.
#[derive(Debug, Args)]
pub struct DynamoTableArgs {
    /// DynamoDB table for high-value trips.
    #[arg(
        long,
        value_name = "TABLE",
        env = aws_settings::TABLE_VARIABLES[Table::HighValueTrips.index()],
        default_value = Table::HighValueTrips.name()
    )]
    pub high_value_table: String,

    /// DynamoDB table for trip durations.
    #[arg(
        long,
        value_name = "TABLE",
        env = aws_settings::TABLE_VARIABLES[Table::TripDurationAnalysis.index()],
        default_value = Table::TripDurationAnalysis.name()
    )]
    pub duration_table: String,

    /// DynamoDB table for fares per mile.
    #[arg(
        long,
        value_name = "TABLE",
        env = aws_settings::TABLE_VARIABLES[Table::DistanceToFareRatio.index()],
        default_value = Table::DistanceToFareRatio.name()
    )]
    pub ratio_table: String,
}

impl DynamoTableArgs {
    /// The names, in the order of [`Table::ALL`].
    pub fn names(&self) -> taxistream_aws::TableNames {
        taxistream_aws::TableNames::new([
            self.high_value_table.clone(),
            self.duration_table.clone(),
            self.ratio_table.clone(),
        ])
    }
}

/// `taxistream report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// SQLite database written by `taxistream run`.
    #[arg(
        long,
        value_name = "PATH",
        env = "TAXISTREAM_DB",
        default_value = "taxistream.db"
    )]
    pub db: PathBuf,

    /// Read the three DynamoDB tables instead of the database (`--db` is then not read; AWS
    /// credentials, region and endpoint come from the environment, as for every AWS command).
    #[arg(long)]
    pub dynamodb: bool,

    #[command(flatten)]
    pub tables: DynamoTableArgs,

    /// Parallel Scan segments per DynamoDB table.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub segments: u16,

    /// The HTML page to write.
    #[arg(
        long,
        value_name = "PATH",
        env = "TAXISTREAM_REPORT",
        default_value = "taxistream-report.html"
    )]
    pub out: PathBuf,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// The Kinesis stream flag of the AWS commands.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// The Kinesis stream.
    #[arg(
        id = "stream",
        long = "stream",
        value_name = "NAME",
        env = aws_settings::STREAM,
        default_value = aws_settings::DEFAULT_STREAM
    )]
    pub name: String,
}

/// How a command reports: the summary's form and the progress report.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print the summary as JSON (for scripts) instead of text.
    #[arg(long)]
    pub json: bool,

    /// No progress report.
    #[arg(long)]
    pub no_progress: bool,
}

/// The analysis rules' flags: a config file, and thresholds that override it.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// TOML file with thresholds (flags and environment variables override it).
    #[arg(long, value_name = "FILE", env = "TAXISTREAM_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

/// Threshold flags; each also reads `TAXISTREAM_<NAME>`.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Thresholds (default: the analytics contract's values)")]
pub struct ThresholdArgs {
    /// High value when total_amount is over this, USD [default: 50.00].
    #[arg(long, value_name = "USD", env = "TAXISTREAM_HIGH_VALUE_TOTAL", value_parser = decimal, allow_negative_numbers = true)]
    pub high_value_total: Option<Decimal>,
    /// Short when under this many minutes [default: 10].
    #[arg(long, value_name = "MIN", env = "TAXISTREAM_SHORT_TRIP_MINUTES", value_parser = decimal, allow_negative_numbers = true)]
    pub short_trip_minutes: Option<Decimal>,
    /// Long when over this many minutes [default: 30].
    #[arg(long, value_name = "MIN", env = "TAXISTREAM_LONG_TRIP_MINUTES", value_parser = decimal, allow_negative_numbers = true)]
    pub long_trip_minutes: Option<Decimal>,
    /// Invalid when over this many hours [default: 24].
    #[arg(long, value_name = "H", env = "TAXISTREAM_MAX_TRIP_HOURS", value_parser = decimal, allow_negative_numbers = true)]
    pub max_trip_hours: Option<Decimal>,
    /// Low tier under this fare per mile, USD [default: 3.00].
    #[arg(long, value_name = "USD", env = "TAXISTREAM_LOW_FARE_PER_MILE", value_parser = decimal, allow_negative_numbers = true)]
    pub low_fare_per_mile: Option<Decimal>,
    /// Premium tier over this fare per mile, USD [default: 7.00].
    #[arg(long, value_name = "USD", env = "TAXISTREAM_PREMIUM_FARE_PER_MILE", value_parser = decimal, allow_negative_numbers = true)]
    pub premium_fare_per_mile: Option<Decimal>,
}

fn decimal(text: &str) -> Result<Decimal, String> {
    taxistream_core::number::parse_decimal(text.trim())
        .map_err(|error| format!("{error}: {text:?}"))
}
