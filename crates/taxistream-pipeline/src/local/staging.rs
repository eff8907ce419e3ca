//! A new database is written under a staging name, `<db>.partial`, and given its real name only
//! once complete: until then nothing exists at the database's path, so no reader ever sees half a
//! run, and the staging file needs no journal (a crash leaves only the staging file, which the
//! next run replaces).
//!
//! The staging file is locked for the whole run (an advisory `flock`, separate from SQLite's own
//! locks), so two runs writing the same new database cannot share it: the second is refused.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// A claimed staging file for a database that does not exist yet.
#[derive(Debug)]
pub struct Staging {
    database: PathBuf,
    staging: PathBuf,
    /// Open for the whole run: holds the lock.
    lock: File,
}

impl Staging {
    /// Claims `<database>.partial`, emptied, for a new database; `None` when `database` exists
    /// (it is then written in place). Fails if another run holds the staging file.
    pub fn claim(database: &Path) -> io::Result<Option<Staging>> {
        if exists(database)? {
            return Ok(None);
        }
        let staging = staging_path(database);
        // A run that held the staging file may have just published it under the database's name:
        // the lock is then on the published file, and the name is free again.
        for _ in 0..3 {
            let lock = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&staging)
                .map_err(|error| {
                    io::Error::new(
                        error.kind(),
                        format!("cannot create {}: {error}", staging.display()),
                    )
                })?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ResourceBusy,
                        format!(
                            "another run is writing this database (its staging file {} is locked)",
                            staging.display()
                        ),
                    ));
                }
                Err(TryLockError::Error(error)) => return Err(error),
            }
            if !same_file(&lock, &staging)? {
                continue;
            }
            if exists(database)? {
                return Ok(None);
            }
            // Left by a run that was killed: an empty file is a new database to SQLite.
            lock.set_len(0)?;
            return Ok(Some(Staging {
                database: database.to_owned(),
                staging,
                lock,
            }));
        }
        Err(io::Error::other(format!(
            "{}: another run keeps replacing this staging file",
            staging.display()
        )))
    }

    /// The file SQLite writes.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Makes the complete database durable and gives it its real name; refuses to replace a
    /// database created meanwhile (the staging file is then left as it is, and named).
    pub fn publish(self) -> io::Result<()> {
        self.lock.sync_all()?;
        match std::fs::hard_link(&self.staging, &self.database) {
            Ok(()) => std::fs::remove_file(&self.staging)?,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                return Err(self.taken());
            }
            // A file system without hard links: rename, after checking the name is still free.
            Err(_) => {
                if exists(&self.database)? {
                    return Err(self.taken());
                }
                std::fs::rename(&self.staging, &self.database)?;
            }
        }
        sync_directory(&self.database)
    }

    /// Removes the staging file of a run that failed.
    pub fn discard(self) {
        if let Err(error) = std::fs::remove_file(&self.staging) {
            tracing::warn!("cannot remove {}: {error}", self.staging.display());
        }
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

/// `<database>.partial`, beside the database (so that giving it its name is a rename).
pub fn staging_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
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

    #[test]
    fn an_existing_database_is_written_in_place() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("t.db");
        std::fs::write(&database, b"")?;
        assert!(Staging::claim(&database)?.is_none());
        assert!(!staging_path(&database).exists());
        Ok(())
    }

    #[test]
    fn a_new_database_appears_only_when_published() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("t.db");
        let staging = Staging::claim(&database)?.unwrap();
        assert_eq!(staging.path(), dir.path().join("t.db.partial"));
        std::fs::write(staging.path(), b"tables")?;
        assert!(!database.exists());
        staging.publish()?;
        assert_eq!(std::fs::read(&database)?, b"tables");
        assert!(!dir.path().join("t.db.partial").exists());
        Ok(())
    }

    #[test]
    fn a_second_run_is_refused_while_the_first_holds_the_staging_file() -> io::Result<()> {
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
        Ok(())
    }

    #[test]
    fn a_killed_runs_staging_file_is_emptied_and_reused() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("t.db");
        std::fs::write(staging_path(&database), b"half a database")?;
        let staging = Staging::claim(&database)?.unwrap();
        assert_eq!(std::fs::metadata(staging.path())?.len(), 0);
        staging.discard();
        assert!(!staging_path(&database).exists());
        assert!(!database.exists());
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
        Ok(())
    }
}
