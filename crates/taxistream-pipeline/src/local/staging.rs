//! A new database is written under a staging name, `<db>.partial`, and given its real name when
//! the writer is done: until then nothing exists at the database's path, so no reader sees a run
//! in progress, and the staging file needs no journal (a crash leaves only the staging file, which
//! the next run replaces). What is published is what the writer committed: every item of a run
//! that succeeds, the items before the error of a run stopped by its input.
//!
//! A lock file beside it, `<db>.partial.lock`, is locked for the whole run (an advisory `flock`,
//! apart from the files SQLite opens and locks itself), so two runs writing the same new database
//! cannot share the staging file: the second is refused. Where such locks are not supported, and on
//! platforms other than Unix, a new database is written in place like an existing one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// A claimed staging file for a database that does not exist yet. Dropped unpublished (a run
/// that failed, or returned early), it removes the staging file.
#[derive(Debug)]
pub struct Staging {
    database: PathBuf,
    staging: PathBuf,
    lock_path: PathBuf,
    /// Open and locked for the whole run (held, not read: closing it releases the lock).
    _lock: File,
    /// Whether the staging file stays when this is dropped (published, or kept for the user).
    keep: bool,
}

impl Staging {
    /// Claims `<database>.partial`, empty, for a new database; `None` when `database` exists or
    /// the platform cannot lock (it is then written in place). Fails if another run holds it.
    pub fn claim(database: &Path) -> io::Result<Option<Staging>> {
        if !cfg!(unix) || exists(database)? {
            return Ok(None);
        }
        let staging = staging_path(database);
        let lock_path = with_suffix(&staging, ".lock");
        // A run that held the lock may have just removed its lock file: the lock is then on a file
        // without a name, and the name is free again.
        for _ in 0..3 {
            let lock = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)
                .map_err(|error| named(&lock_path, "cannot create", error))?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ResourceBusy,
                        format!(
                            "another run is writing this new database ({} is locked)",
                            lock_path.display()
                        ),
                    ));
                }
                Err(TryLockError::Error(error)) => {
                    tracing::debug!(
                        "{}: no lock ({error}): written in place",
                        lock_path.display()
                    );
                    return Ok(None);
                }
            }
            if !same_file(&lock, &lock_path)? {
                continue;
            }
            let claimed = Staging {
                database: database.to_owned(),
                staging,
                lock_path,
                _lock: lock,
                keep: false,
            };
            if exists(database)? {
                // Published by another run meanwhile: written in place.
                return Ok(None);
            }
            // Left by a run that was killed: an empty file is a new database to SQLite.
            File::create(&claimed.staging)
                .map_err(|error| named(&claimed.staging, "cannot create", error))?;
            return Ok(Some(claimed));
        }
        Err(io::Error::other(format!(
            "{}: another run keeps replacing this lock file",
            lock_path.display()
        )))
    }

    /// The file SQLite writes.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Makes the database durable and gives it its real name; refuses to replace a database
    /// created meanwhile (the staging file is then kept, and named in the error).
    pub fn publish(mut self) -> io::Result<()> {
        File::open(&self.staging)?.sync_all()?;
        match std::fs::hard_link(&self.staging, &self.database) {
            // The database's name is now the file's; the staging name goes before the directory
            // is synced, so both changes are durable together.
            Ok(()) => std::fs::remove_file(&self.staging)?,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                self.keep = true;
                return Err(self.taken());
            }
            // A file system without hard links: rename, after checking the name is still free.
            Err(_) => {
                if exists(&self.database)? {
                    self.keep = true;
                    return Err(self.taken());
                }
                std::fs::rename(&self.staging, &self.database)?;
            }
        }
        sync_directory(&self.database)
    }

    fn taken(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} was created by something else during this run; this run's tables are in {}",
                self.database.display(),
                self.staging.display()
            ),
        )
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // The staging name goes (once published, the database's name is the file's only one),
        // unless kept for the user; the lock file goes while still locked.
        let mut remove = vec![&self.lock_path];
        if !self.keep {
            remove.push(&self.staging);
        }
        for path in remove {
            if let Err(error) = std::fs::remove_file(path)
                && error.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!("cannot remove {}: {error}", path.display());
            }
        }
    }
}

/// `<database>.partial`, beside the database (so that giving it its name is a rename).
pub fn staging_path(database: &Path) -> PathBuf {
    with_suffix(database, ".partial")
}

pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn named(path: &Path, what: &str, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{what} {}: {error}", path.display()))
}

fn exists(path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// Whether `path` still names the file open as `file`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(named) => Ok(open.dev() == named.dev() && open.ino() == named.ino()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> io::Result<bool> {
    exists(path)
}

/// Replaces the file at `path` with `contents` atomically and durably: written to `<path>.tmp`,
/// synced, renamed over `path`, and the directory synced, so that a crash leaves the old file or
/// the new one, whole.
pub fn replace_durably(path: &Path, contents: &[u8]) -> io::Result<()> {
    let temporary = with_suffix(path, ".tmp");
    let mut file = File::create(&temporary)?;
    io::Write::write_all(&mut file, contents)?;
    file.sync_all()?;
    drop(file);
    publish_by_rename(&temporary, path)
}

/// Renames a synced file `from` over `path`, then syncs the directory so the name is durable.
pub(crate) fn publish_by_rename(from: &Path, path: &Path) -> io::Result<()> {
    std::fs::rename(from, path)?;
    sync_directory(path)
}

/// Makes the new name durable (the directory entry), where the platform allows it.
#[cfg(unix)]
fn sync_directory(path: &Path) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_replaced_durably_holds_the_new_contents_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.json");
        replace_durably(&path, b"old").unwrap();
        replace_durably(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["checkpoint.json"]);
    }

    #[test]
    fn an_existing_database_is_written_in_place() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("t.db");
        std::fs::write(&database, b"")?;
        assert!(Staging::claim(&database)?.is_none());
        assert_eq!(names(dir.path()), ["t.db"]);
        Ok(())
    }

    #[test]
    fn a_new_database_appears_only_when_published() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("t.db");
        let staging = Staging::claim(&database)?.unwrap();
        assert_eq!(staging.path(), dir.path().join("t.db.partial"));
        std::fs::write(staging.path(), b"tables")?;
        assert_eq!(names(dir.path()), ["t.db.partial", "t.db.partial.lock"]);
        staging.publish()?;
        assert_eq!(std::fs::read(&database)?, b"tables");
        assert_eq!(names(dir.path()), ["t.db"]);
        Ok(())
    }

    #[test]
    fn a_second_run_is_refused_while_the_first_holds_the_lock() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("t.db");
        let first = Staging::claim(&database)?.unwrap();
        let second = Staging::claim(&database).err().map(|e| e.to_string());
        assert!(
            second
                .as_ref()
                .is_some_and(|e| e.contains("another run is writing")),
            "{second:?}"
        );
        first.publish()?;
        // Once published, the database exists: a later run writes it in place.
        assert!(Staging::claim(&database)?.is_none());
        assert_eq!(names(dir.path()), ["t.db"]);
        Ok(())
    }

    #[test]
    fn a_killed_runs_staging_file_is_emptied_and_an_unpublished_one_removed() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("t.db");
        std::fs::write(staging_path(&database), b"half a database")?;
        let staging = Staging::claim(&database)?.unwrap();
        assert_eq!(std::fs::metadata(staging.path())?.len(), 0);
        // A run that fails, or returns early, drops its claim unpublished.
        drop(staging);
        assert!(names(dir.path()).is_empty());
        Ok(())
    }

    #[test]
    fn a_database_created_meanwhile_is_not_replaced() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("t.db");
        let staging = Staging::claim(&database)?.unwrap();
        std::fs::write(staging.path(), b"ours")?;
        std::fs::write(&database, b"theirs")?;
        let error = staging.publish().err().map(|e| e.to_string());
        assert!(
            error.as_ref().is_some_and(|e| e.contains("t.db.partial")),
            "{error:?}"
        );
        assert_eq!(std::fs::read(&database)?, b"theirs");
        assert_eq!(std::fs::read(staging_path(&database))?, b"ours");
        assert_eq!(names(dir.path()), ["t.db", "t.db.partial"]);
        Ok(())
    }
}
