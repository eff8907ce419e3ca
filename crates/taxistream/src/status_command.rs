//! `taxistream status s3://BUCKET/KEY`: whether an object uploaded for the producer function is
//! done, and its accounting, from the reports its invocations wrote.

use crate::cli::StatusArgs;
use crate::summary;
use anyhow::bail;
use std::fmt::Write as _;
use taxistream_aws::settings::process_environment;
use taxistream_aws::status::ChainState;
use taxistream_aws::{ObjectRef, ObjectStatus, S3Store, SdkTimeouts, clients, object_status};

/// Prints the object's status; fails (exit status 1) unless it is complete.
pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let Some(object) = ObjectRef::parse_url(&args.object) else {
        bail!("{}: expected s3://bucket/key", args.object);
    };
    taxistream_aws::settings::check_rejects_prefix("--reports-prefix", &args.reports_prefix)?;
    let timeouts = SdkTimeouts::from_env(&process_environment())?;
    let config = clients::load_config(&timeouts).await?;
    let s3 = S3Store::new(clients::s3(&config)).with_body_stall(timeouts.attempt);
    let status = object_status(
        &s3,
        &object,
        args.reports_bucket.as_deref(),
        &args.reports_prefix,
        &std::env::temp_dir(),
    )
    .await?;
    summary::print(&status, args.json, || to_text(&status))?;
    match &status.progress {
        ChainState::Complete => Ok(()),
        ChainState::Waiting { after_line } => {
            bail!("{object}: not complete: nothing reported after line {after_line} yet")
        }
        ChainState::Failed { after_line, .. } => {
            bail!("{object}: failed: the rows after line {after_line}")
        }
    }
}

fn to_text(status: &ObjectStatus) -> String {
    let mut out = String::new();
    let state = match &status.progress {
        ChainState::Complete => "complete".to_owned(),
        ChainState::Waiting { after_line } => format!(
            "in progress: rows up to line {after_line} done; the rest is being read, queued, or \
             failed without a report (see the work queue's dead-letter queue)"
        ),
        ChainState::Failed { after_line, error } => {
            format!("failed reading the rows after line {after_line}: {error}")
        }
    };
    let _ = writeln!(out, "{}  {state}", status.object);
    let _ = writeln!(
        out,
        "  version {}, {} invocation(s)",
        status.etag.as_deref().unwrap_or("unknown"),
        status.invocations
    );
    summary::write_rows(&mut out, &status.accounting);
    for rejects in &status.rejects_objects {
        let _ = writeln!(out, "  rejected rows: {rejects}");
    }
    out
}
