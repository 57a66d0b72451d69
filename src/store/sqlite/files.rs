//! The database's files under the server's feet: the database, its `-wal`
//! and its `-shm`, as admins (or their tools) may touch them while the
//! server runs.
//!
//! SQLite cannot tell when its files are pulled away. A deleted or replaced
//! `-wal` keeps being written — the unlinked file — and everything in it is
//! lost at the next crash; a deleted database is written to nowhere; an
//! `-shm` made immutable makes the next write to its memory map a `SIGBUS`.
//! [`Files`] records each file's identity (device and inode) when the store
//! opens and checks it, and the immutable and append-only attributes,
//! every [`CHECK_EVERY`] and after any write that fails. Once something is
//! wrong the store is *tripped*: it logs once what happened and what to do,
//! copies what the WAL still holds into the database where that can save
//! it, and refuses every later write (callers get the apology, status
//! callbacks a 503) rather than acknowledge a step that would be lost.
//! [`explain_sigbus`] turns the `SIGBUS` that no check can outrun into a
//! message instead of a silent death.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// How often the files are checked.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);

/// What tripped the store, and whether copying the WAL into the database
/// can still save what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tripped {
    /// What happened and what to do, for the log and for errors.
    pub why: String,
    /// The database file itself is intact, so a full checkpoint saves the
    /// WAL's pages into it.
    pub rescue: bool,
}

/// One file's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Id {
    dev: u64,
    ino: u64,
}

/// The three files of one database.
#[derive(Debug)]
pub struct Files {
    db: PathBuf,
    ids: [Option<Id>; 3],
    tripped: OnceLock<Tripped>,
}

const SUFFIXES: [&str; 3] = ["", "-wal", "-shm"];

impl Files {
    /// Record the identities of `db`'s files as they are now (the store has
    /// opened them in WAL mode).
    pub fn new(db: &Path) -> Files {
        let mut files = Files {
            db: db.to_owned(),
            ids: [None; 3],
            tripped: OnceLock::new(),
        };
        for (i, path) in files.paths().into_iter().enumerate() {
            files.ids[i] = look(&path).ok().map(|(id, _)| id);
        }
        files
    }

    fn paths(&self) -> [PathBuf; 3] {
        SUFFIXES.map(|s| {
            let mut p = self.db.clone().into_os_string();
            p.push(s);
            PathBuf::from(p)
        })
    }

    /// What tripped the store, if anything has.
    pub fn tripped(&self) -> Option<&Tripped> {
        self.tripped.get()
    }

    /// Check every file; the first problem found trips the store (and is
    /// logged, once). Returns what tripped it, now or before.
    pub fn check(&self) -> Option<&Tripped> {
        if let Some(t) = self.tripped.get() {
            return Some(t);
        }
        let problem = self.problem()?;
        let mut first = false;
        let t = self.tripped.get_or_init(|| {
            first = true;
            problem
        });
        if first {
            tracing::error!(
                "the database's files changed under the server: {}. New calls get the apology and no step is acknowledged until the server is restarted",
                t.why
            );
        }
        Some(t)
    }

    fn problem(&self) -> Option<Tripped> {
        let paths = self.paths();
        let db = paths[0].display();
        for (i, path) in paths.iter().enumerate() {
            let Some(was) = self.ids[i] else { continue };
            let shown = path.display();
            let what = match SUFFIXES[i] {
                "" => "the database file",
                "-wal" => "the write-ahead log",
                _ => "the shared-memory index",
            };
            let (now, attributes) = match look(path) {
                Ok(found) => found,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Some(gone(i, &format!("{what} {shown} was deleted"), &db));
                }
                Err(e) => {
                    return Some(Tripped {
                        why: format!(
                            "{what} {shown} cannot be examined ({e}): check the disk and the directory's permissions, then restart the server"
                        ),
                        rescue: i != 0,
                    });
                }
            };
            if now != was {
                return Some(gone(
                    i,
                    &format!("{what} {shown} was replaced by another file"),
                    &db,
                ));
            }
            if let Some(attribute) = attributes {
                return Some(Tripped {
                    why: format!(
                        "{what} {shown} was made {attribute}, so SQLite can no longer write it: undo it (`chattr -i -a {shown}`) and restart the server; never change the attributes of a running server's database files"
                    ),
                    rescue: i != 0,
                });
            }
        }
        None
    }
}

/// A file deleted or replaced: what happened and what to do.
fn gone(i: usize, what: &str, db: &std::path::Display<'_>) -> Tripped {
    let why = match i {
        0 => format!(
            "{what}: the server was writing to a file no longer in the directory. Stop the server, put the database back from a backup (the calls since then are only in the deleted file, which the server still held open), and never delete or move a running server's database"
        ),
        1 => format!(
            "{what}: SQLite would go on writing into the deleted log, to be lost at the next crash. What it holds is copied into {db} now (see the next message); restart the server to start a new log, and never delete or move the -wal or -shm files of a running server"
        ),
        _ => format!(
            "{what}: another process opening {db} now would not see this server's index and could corrupt the database. Restart the server, and never delete or move the -wal or -shm files of a running server"
        ),
    };
    Tripped {
        why,
        rescue: i != 0,
    }
}

/// A file's identity, and the attribute that stops SQLite writing it.
fn look(path: &Path) -> std::io::Result<(Id, Option<&'static str>)> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags, statx};
        let st = statx(CWD, path, AtFlags::empty(), StatxFlags::BASIC_STATS)?;
        let id = Id {
            dev: (u64::from(st.stx_dev_major) << 32) | u64::from(st.stx_dev_minor),
            ino: st.stx_ino,
        };
        let set = st.stx_attributes & st.stx_attributes_mask;
        let attribute = if set.contains(StatxAttributes::IMMUTABLE) {
            Some("immutable")
        } else if set.contains(StatxAttributes::APPEND) {
            Some("append-only")
        } else {
            None
        };
        Ok((id, attribute))
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        Ok((
            Id {
                dev: m.dev(),
                ino: m.ino(),
            },
            None,
        ))
    }
}

/// The message a `SIGBUS` prints: set once, before the handler is installed.
static SIGBUS_MESSAGE: OnceLock<Vec<u8>> = OnceLock::new();

/// Print what a `SIGBUS` most likely means for `db`, and what to do, before
/// the process ends with it. SQLite maps the `-shm` file into memory; when
/// it (or the database) is made immutable, truncated or loses its disk, the
/// next write to the map is a `SIGBUS`, which no check can outrun and no
/// program can survive. Steps already acknowledged are safe in the WAL.
/// Process-wide: call once, from the server's `main`.
#[cfg(target_os = "linux")]
pub fn explain_sigbus(db: &Path) {
    let shm = format!("{}-shm", db.display());
    let message = format!(
        "\nswitchboard: SIGBUS: a memory-mapped database file could not be written. {shm} (or {db}) was most likely made immutable (chattr +i), truncated, or its disk went away. Steps already acknowledged are safe in the write-ahead log. Undo the change (e.g. `chattr -i {shm}`), check the disk, and start the server again; never change a running server's database files.\n",
        db = db.display()
    );
    if SIGBUS_MESSAGE.set(message.into_bytes()).is_err() {
        return;
    }
    // SAFETY: the handler only reads a message that was fully written
    // before it was installed (a `OnceLock` never changes once set), and
    // calls `write` and `_exit`, both async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) != 0 {
            tracing::warn!(
                "could not install the SIGBUS explanation: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Without Linux's statx and signal handling, nothing is explained.
#[cfg(not(target_os = "linux"))]
pub fn explain_sigbus(_: &Path) {}

#[cfg(target_os = "linux")]
extern "C" fn on_sigbus(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    if let Some(m) = SIGBUS_MESSAGE.get() {
        // SAFETY: `m` is a live, immutable buffer; `write` and `_exit` are
        // async-signal-safe.
        unsafe {
            libc::write(2, m.as_ptr().cast(), m.len());
        }
    }
    // 128 + SIGBUS, as a shell reports a process killed by it.
    unsafe { libc::_exit(128 + libc::SIGBUS) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &Path) -> (PathBuf, Files) {
        let db = dir.join("calls.db");
        for s in SUFFIXES {
            std::fs::write(format!("{}{s}", db.display()), b"x").expect("a test file");
        }
        let files = Files::new(&db);
        (db, files)
    }

    #[test]
    fn untouched_files_pass_and_a_deleted_wal_trips_once_with_a_rescue() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (db, files) = files_in(dir.path());
        assert_eq!(files.check(), None);
        std::fs::remove_file(format!("{}-wal", db.display())).expect("removed");
        let t = files.check().expect("tripped").clone();
        assert!(t.why.contains("was deleted"), "{}", t.why);
        assert!(t.rescue, "the database is intact: copy the log into it");
        // Put back: still tripped (the server holds the deleted file).
        std::fs::write(format!("{}-wal", db.display()), b"x").expect("a new file");
        assert_eq!(files.check(), Some(&t));
    }

    #[test]
    fn a_replaced_database_trips_without_a_rescue() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (db, files) = files_in(dir.path());
        let other = dir.path().join("other.db");
        std::fs::write(&other, b"y").expect("another file");
        std::fs::rename(&other, &db).expect("replaced");
        let t = files.check().expect("tripped");
        assert!(t.why.contains("replaced by another file"), "{}", t.why);
        assert!(!t.rescue);
    }
}
