//! Flow versions: the program serving new calls, and every version a call
//! in progress may still need, compiled on demand from the snapshots the
//! store keeps.
//!
//! A version is data, not memory: a flow set is stored under its version
//! before any call starts on it ([`Versions::install`]), and a callback for
//! a version this process does not hold compiles it again from its stored
//! snapshot ([`Versions::get`]). A call therefore never continues on another
//! version's graph, whatever happened between two of its callbacks — a
//! restart onto edited flows, a reload, another instance. The compiled
//! versions are a bounded cache of the store: a version's snapshot never
//! changes once stored, so a cached program never goes stale, and an entry
//! dropped from the cache is compiled again when next needed.

use super::{Store, StoreError};
use crate::flow::FlowSet;
use crate::program::Program;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// How many versions besides the current one stay compiled in memory.
pub const CACHED: usize = 8;

/// Why a call's version cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// The store has no such version (a database from before versions were
    /// stored, or a version removed by hand).
    #[error("flow version {0} is not in the store")]
    Missing(String),
    /// The store could not be read.
    #[error("flow version {version} could not be read: {source}")]
    Store {
        /// The version asked for.
        version: String,
        /// What the store said.
        #[source]
        source: StoreError,
    },
    /// Found before (missing or not compiling): the reason, as it was then.
    #[error("{0}")]
    Known(String),
    /// The stored snapshot no longer compiles into its version (it compiles
    /// with errors, or into another version: a compiler change since).
    #[error("flow version {version} no longer compiles from its stored files: {why}")]
    Rebuild {
        /// The version asked for.
        version: String,
        /// What went wrong.
        why: String,
    },
}

/// The current program and a cache of earlier ones, over the store.
pub struct Versions {
    store: Store,
    current: ArcSwap<Program>,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Versions")
            .field("current", &self.current.load().version)
            .finish_non_exhaustive()
    }
}

/// One version's program, compiled once — or why it never can be (a
/// version missing from the store, or one that no longer compiles, stays
/// so: snapshots never change), so callbacks for it do not read and
/// compile it again each time. A store that could not be read is not
/// remembered: the next callback tries again.
type Slot = Arc<OnceCell<Result<Arc<Program>, Arc<VersionError>>>>;

/// Compiled versions by version, each with when it was last used. A slot is
/// filled once, by whichever callback needs it first; the others wait for it
/// rather than compile the same version again.
#[derive(Default)]
struct Cache {
    slots: HashMap<String, (Slot, u64)>,
    tick: u64,
}

impl Cache {
    /// The slot for `version`, made if missing, marked as just used; the
    /// least recently used slots beyond [`CACHED`] are dropped.
    fn slot(&mut self, version: &str) -> Slot {
        self.tick += 1;
        let tick = self.tick;
        let slot = match self.slots.get_mut(version) {
            Some((slot, used)) => {
                *used = tick;
                slot.clone()
            }
            None => {
                let slot = Arc::new(OnceCell::new());
                self.slots.insert(version.to_owned(), (slot.clone(), tick));
                slot
            }
        };
        while self.slots.len() > CACHED {
            let Some(oldest) = self
                .slots
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(v, _)| v.clone())
            else {
                break;
            };
            self.slots.remove(&oldest);
        }
        slot
    }

    fn put(&mut self, program: Arc<Program>) {
        let slot = self.slot(&program.version);
        // A slot being filled already holds (or will hold) the same program.
        let _ = slot.set(Ok(program));
    }
}

impl Versions {
    /// `current` serves new calls; it is not stored by this (see [`Versions::install`]).
    pub fn new(store: Store, current: Program) -> Versions {
        Versions {
            store,
            current: ArcSwap::from_pointee(current),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The program for new calls.
    pub fn current(&self) -> Arc<Program> {
        self.current.load_full()
    }

    /// Store `set` (compiled into `program`) under its version, then serve
    /// new calls with it; the program it replaces stays cached for the
    /// calls still on it. Nothing changes if the store refuses it.
    pub async fn install(
        &self,
        set: &FlowSet,
        program: Program,
        at: jiff::Timestamp,
    ) -> Result<Arc<Program>, StoreError> {
        self.store
            .save_version(&program.version, &set.snapshot(), at)
            .await?;
        let program = Arc::new(program);
        let old = self.current.swap(program.clone());
        self.lock().put(old);
        Ok(program)
    }

    /// Store the current program's flow set (at start, before serving).
    pub async fn save_current(&self, set: &FlowSet, at: jiff::Timestamp) -> Result<(), StoreError> {
        let version = self.current.load().version.clone();
        self.store.save_version(&version, &set.snapshot(), at).await
    }

    /// The program of `version`: the current one, a cached one, or compiled
    /// from the store (once, however many callbacks ask at the same time).
    pub async fn get(&self, version: &str) -> Result<Arc<Program>, VersionError> {
        let current = self.current.load_full();
        if current.version == version {
            return Ok(current);
        }
        let slot = self.lock().slot(version);
        let known = slot
            .get_or_try_init(|| async {
                match self.rebuild(version).await {
                    Err(e @ VersionError::Store { .. }) => Err(e),
                    settled => Ok(settled.map_err(Arc::new)),
                }
            })
            .await?;
        known
            .clone()
            .map_err(|e| VersionError::Known(e.to_string()))
    }

    async fn rebuild(&self, version: &str) -> Result<Arc<Program>, VersionError> {
        let snapshot = match self.store.load_version(version).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(VersionError::Missing(version.to_owned())),
            Err(source) => {
                return Err(VersionError::Store {
                    version: version.to_owned(),
                    source,
                });
            }
        };
        let wanted = version.to_owned();
        // Compiling is CPU work, milliseconds for a large set: off the runtime's threads.
        let compiled = tokio::task::spawn_blocking(move || {
            let set = snapshot.to_set();
            crate::compile::compile(&set).program
        })
        .await;
        let why = match compiled {
            Ok(Some(p)) if p.version == wanted => {
                tracing::info!(version = %wanted, "compiled a stored flow version for the calls still on it");
                return Ok(Arc::new(p));
            }
            Ok(Some(p)) => format!("it compiles into version {}", p.version),
            Ok(None) => "it compiles with errors".to_owned(),
            Err(e) => format!("the compiler failed: {e}"),
        };
        tracing::error!(version = %wanted, "a call's flow version cannot be rebuilt: {why}");
        Err(VersionError::Rebuild {
            version: wanted,
            why,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(version: &str) -> Arc<Program> {
        let flow = "[flow]\nstart = \"desk\"\n[queue.desk]\ngroup = \"desk\"\n";
        let groups = "[groups.desk]\nkind = \"service\"\n";
        let (_, c) = crate::compile::compile_texts([("main", flow), ("groups", groups)]);
        let mut p = c.program.expect("the test flow compiles");
        p.version = version.to_owned();
        Arc::new(p)
    }

    #[test]
    fn the_cache_keeps_the_most_recently_used_versions() {
        let mut cache = Cache::default();
        for i in 0..CACHED {
            cache.put(program(&format!("v{i}")));
        }
        // v0 is used again, so v1 is now the least recently used.
        assert!(cache.slot("v0").get().is_some_and(Result::is_ok));
        cache.put(program("new"));
        assert_eq!(cache.slots.len(), CACHED);
        assert!(cache.slots.contains_key("v0"));
        assert!(
            !cache.slots.contains_key("v1"),
            "the least recently used goes"
        );
        assert!(cache.slots.contains_key("new"));
    }
}
