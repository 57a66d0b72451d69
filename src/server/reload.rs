//! Reloading the flow directory: on `SIGHUP` and when a flow file's content
//! changes, a set that compiles is stored under its version and serves new
//! calls (calls in progress keep theirs); a set with errors is refused and
//! the last good one keeps serving.
//!
//! Only changes of content start a reload — a file written, created,
//! removed or renamed — never reading one: a reload reads every flow file,
//! and reacting to that would reload forever. A set whose version is the one
//! installed is not installed again, and a refused set's diagnostics are
//! logged once per distinct version, not at every reminder.

use super::AppState;
use notify::event::{EventKind, ModifyKind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{error, info};

/// How long the directory must be quiet before a change is reloaded, so an
/// editor's save (often several writes, or a write then a rename) is one reload.
pub const SETTLE: Duration = Duration::from_millis(250);

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// A new version is stored and serves new calls.
    Installed(String),
    /// The directory holds the version already serving: nothing to do.
    Unchanged(String),
    /// The set has errors; the last good set keeps serving. `again` is true
    /// when this very version was refused before.
    Refused {
        /// The refused set's version.
        version: String,
        /// Its diagnostics, rendered for the log.
        diagnostics: String,
        /// Refused before (its diagnostics were logged then).
        again: bool,
    },
    /// The directory could not be read, or the store refused the version.
    Failed(String),
}

/// Reloads one flow directory into a server's state.
pub struct Reloader {
    state: AppState,
    dir: PathBuf,
    /// The last refused version, so its diagnostics are logged once.
    refused: Mutex<Option<String>>,
    reloads: AtomicU64,
    /// One reload at a time (a signal's and a change's), so an older read
    /// of the directory never installs over a newer one.
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader of `dir` for `state`.
    pub fn new(state: AppState, dir: PathBuf) -> Reloader {
        Reloader {
            state,
            dir,
            refused: Mutex::new(None),
            reloads: AtomicU64::new(0),
            one_at_a_time: tokio::sync::Mutex::new(()),
        }
    }

    /// How many reloads have been tried (by a signal, a change or a caller).
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Read and compile the directory; install it if it compiles and is new.
    pub async fn reload(&self) -> Reloaded {
        let _one = self.one_at_a_time.lock().await;
        self.reloads.fetch_add(1, Ordering::Relaxed);
        let dir = self.dir.clone();
        let current = self.state.program().version.clone();
        // Reading and compiling are file IO and CPU work: off the runtime.
        let read = tokio::task::spawn_blocking(move || {
            let set = crate::flow::load_dir(&dir)?;
            let version = crate::compile::version(&set);
            let compiled = (version != current).then(|| crate::compile::compile(&set));
            Ok::<_, crate::flow::LoadError>((set, version, compiled))
        })
        .await;
        let (set, version, compiled) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(e)) => return Reloaded::Failed(e.to_string()),
            Err(e) => return Reloaded::Failed(format!("the reload task failed: {e}")),
        };
        let Some(compiled) = compiled else {
            self.forget_refused();
            return Reloaded::Unchanged(version);
        };
        let Some(program) = compiled.program else {
            let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
            let again = refused.as_deref() == Some(version.as_str());
            *refused = Some(version.clone());
            return Reloaded::Refused {
                version,
                diagnostics: crate::diagnostic::render_text(
                    &compiled.diagnostics,
                    &set.sources,
                    crate::diagnostic::Style::Plain,
                ),
                again,
            };
        };
        match self.state.install(&set, program).await {
            Ok(()) => {
                self.forget_refused();
                Reloaded::Installed(version)
            }
            Err(e) => Reloaded::Failed(format!(
                "version {version} compiles but could not be stored, so it does not serve calls: {e}"
            )),
        }
    }

    /// A good set serves again: the next refusal, even of a version refused
    /// before, is news.
    fn forget_refused(&self) {
        *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// [`Reloader::reload`], logged: `why` says what asked for it.
    pub async fn reload_logged(&self, why: &str) -> Reloaded {
        let outcome = self.reload().await;
        self.state.note_reload(why, &outcome);
        super::metrics::reloaded(match &outcome {
            Reloaded::Installed(_) => "installed",
            Reloaded::Unchanged(_) => "unchanged",
            Reloaded::Refused { .. } => "refused",
            Reloaded::Failed(_) => "failed",
        });
        let dir = self.dir.display();
        match &outcome {
            Reloaded::Installed(version) => info!(
                %version,
                "{why}: reloaded {dir}; new calls use it, calls in progress keep theirs"
            ),
            Reloaded::Unchanged(version) => {
                info!(%version, "{why}: {dir} is unchanged, nothing to reload")
            }
            Reloaded::Refused {
                version,
                diagnostics,
                again: false,
            } => error!(
                %version,
                "{why}: reload refused, the last good flow set keeps serving:\n{diagnostics}"
            ),
            Reloaded::Refused { version, .. } => info!(
                %version,
                "{why}: reload still refused (the same errors as logged before); the last good flow set keeps serving"
            ),
            Reloaded::Failed(e) => {
                error!("{why}: reload failed, the last good flow set keeps serving: {e}")
            }
        }
        outcome
    }
}

/// Does this event change a flow file's content (not merely read it, or
/// touch its times or permissions)?
pub fn changes_content(event: &notify::Event) -> bool {
    let content = match event.kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Other | EventKind::Any => false,
    };
    content && event.paths.iter().any(|p| is_flow_file(p))
}

fn is_flow_file(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "toml")
}

/// Watch the reloader's directory and reload it after each settled change
/// of content; the watch lasts as long as the returned watcher.
pub fn watch(reloader: std::sync::Arc<Reloader>) -> notify::Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        match res {
            Ok(event) if changes_content(&event) => {
                // Full means a reload is pending already.
                let _ = tx.try_send(());
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("watching the flow directory: {e}"),
        }
    })?;
    watcher.watch(&reloader.dir, notify::RecursiveMode::NonRecursive)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Let the change settle; what arrives meanwhile is the same reload.
            loop {
                tokio::time::sleep(SETTLE).await;
                if rx.try_recv().is_err() {
                    break;
                }
            }
            reloader.reload_logged("a flow file changed").await;
        }
    });
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, MetadataKind, RenameMode};

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn only_changes_of_a_flow_files_content_count() {
        let changes = [
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Create(CreateKind::File),
            EventKind::Remove(notify::event::RemoveKind::File),
        ];
        for kind in changes {
            assert!(changes_content(&event(kind, "flows/main.toml")), "{kind:?}");
            assert!(
                !changes_content(&event(kind, "flows/.main.toml.swp")),
                "{kind:?}"
            );
        }
        let reads = [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
        ];
        for kind in reads {
            assert!(
                !changes_content(&event(kind, "flows/main.toml")),
                "{kind:?}"
            );
        }
    }
}
