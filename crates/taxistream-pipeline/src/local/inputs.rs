//! The inputs and outputs of a local run: files given or found in directories, checked before
//! anything is written.

use super::error::RunError;
use std::path::{Path, PathBuf};
use taxistream_core::{InputError, open_path};

/// An input file, and whether it was named or found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The file.
    pub path: PathBuf,
    /// True when found by listing a directory (a non-trip file there is skipped, not fatal).
    pub from_directory: bool,
}

/// The files to read: each file as given, and each directory's `.csv`, `.csv.gz` and `.parquet`
/// files in name order, leaving out `outputs` (the run's own database and rejects file).
pub fn expand_inputs(inputs: &[PathBuf], outputs: &[&Path]) -> Result<Vec<InputFile>, RunError> {
    let outputs: Vec<PathBuf> = outputs.iter().filter_map(|path| absolute(path)).collect();
    let mut files = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            files.push(InputFile {
                path: input.clone(),
                from_directory: false,
            });
            continue;
        }
        let entries = std::fs::read_dir(input).map_err(|error| {
            RunError::Refused(format!(
                "{}: cannot list directory: {error}",
                input.display()
            ))
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.is_file() && is_trip_file_name(path))
            .filter(|path| absolute(path).is_none_or(|path| !outputs.contains(&path)))
            .collect();
        if found.is_empty() {
            return Err(RunError::Refused(format!(
                "{}: directory holds no .csv, .csv.gz or .parquet file",
                input.display()
            )));
        }
        found.sort();
        files.extend(found.into_iter().map(|path| InputFile {
            path,
            from_directory: true,
        }));
    }
    if files.is_empty() {
        return Err(RunError::Refused("no input file given".to_owned()));
    }
    Ok(files)
}

/// The absolute form of a path whose directory exists (the file itself need not).
pub(super) fn absolute(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::canonicalize(parent)
        .ok()
        .map(|parent| parent.join(name))
}

/// Refuses outputs that are inputs, or each other, or in a directory that does not exist:
/// before anything is created or truncated.
pub(super) fn check_outputs(
    database: &Path,
    rejects: &Path,
    files: &[InputFile],
) -> Result<(), RunError> {
    let outputs = [("--db", database), ("--rejects", rejects)];
    let mut seen: Vec<(&str, PathBuf)> = Vec::new();
    for (flag, path) in outputs {
        let Some(resolved) = absolute(path) else {
            return Err(RunError::Refused(format!(
                "{flag} {}: its directory does not exist",
                path.display()
            )));
        };
        if let Some(input) = files
            .iter()
            .find(|file| absolute(&file.path).as_ref() == Some(&resolved))
        {
            return Err(RunError::Refused(format!(
                "{flag} {} is also an input file ({}): refusing to overwrite it",
                path.display(),
                input.path.display()
            )));
        }
        if let Some((other, _)) = seen.iter().find(|(_, earlier)| *earlier == resolved) {
            return Err(RunError::Refused(format!(
                "{flag} and {other} are the same file ({})",
                path.display()
            )));
        }
        seen.push((flag, resolved));
    }
    Ok(())
}

fn is_trip_file_name(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| taxistream_core::read::is_trip_file_name(&name.to_string_lossy()))
}

/// The files that are trip files: every named file must open and have a trip header (refused
/// otherwise, before anything is written); a file found in a directory that is not a trip file is
/// skipped, and said so (the second list).
pub(super) fn trip_files(files: Vec<InputFile>) -> Result<(Vec<PathBuf>, Vec<String>), RunError> {
    let mut skipped = Vec::new();
    let mut readable = Vec::with_capacity(files.len());
    for file in files {
        match open_path(&file.path, 1) {
            Ok(_) => readable.push(file.path),
            Err(error @ InputError::NotATripFile { .. }) if file.from_directory => {
                tracing::warn!("skipped: {error}");
                skipped.push(error.to_string());
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok((readable, skipped))
}
