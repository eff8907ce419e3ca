//! One pass of a bench stage over one file, for instruction counts under callgrind (the machine's
//! wall time is too noisy to compare variants):
//!
//! `cargo build --profile bench -p taxistream-core --example stage_once` then
//! `valgrind --tool=callgrind target/release/examples/stage_once FILE [read|analyse|record]`.
//! `stage_once FILE records` prints each trip's stream record instead (to compare builds).

use std::io::Write;
use taxistream_core::{AnalysisRules, ReadItem, analyse, open_path, record};

/// The allocator of `taxistream` and of the bench.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: stage_once FILE [read|analyse|record]")?;
    let stage = args.next().unwrap_or_else(|| "analyse".to_owned());
    let rules = AnalysisRules::default();
    let mut buffer = Vec::with_capacity(512);
    let (mut rows, mut items) = (0usize, 0usize);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for row in open_path(std::path::Path::new(&path), 1)? {
        rows += 1;
        let ReadItem::Trip { trip, id, .. } = row? else {
            continue;
        };
        items += match stage.as_str() {
            "read" => 1,
            "analyse" => analyse(&trip, &id, &rules).items.len(),
            "records" => {
                buffer.clear();
                record::encode(&trip, &id, &mut buffer);
                buffer.push(b'\n');
                out.write_all(&buffer)?;
                1
            }
            _ => {
                buffer.clear();
                record::encode(&trip, &id, &mut buffer);
                record::decode(&buffer)
                    .map(|decoded| analyse(&decoded.trip, &decoded.id, &rules).items.len())
                    .unwrap_or(0)
            }
        };
    }
    writeln!(out, "{rows} rows, {items} items")?;
    Ok(())
}
