//! A flow set as data: every file's path, flow name and text, and the
//! recordings folder's index — exactly what [`compile`](crate::compile)
//! reads, so a stored snapshot rebuilds the very program it was taken of.
//!
//! The server stores one snapshot per installed version, so a call keeps
//! its version across restarts, reloads and instances (see
//! `store::versions`). Pure: no IO.

use super::{FlowSet, Recordings, parse_texts};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Everything a flow set was compiled from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every flow file, in the order it was compiled.
    pub files: Vec<SnapshotFile>,
    /// The recordings folder's name, as shown to admins.
    pub recordings_root: String,
    /// Relative paths of the recordings, e.g. `zh-CN/greeting.wav`.
    pub recordings: BTreeSet<String>,
}

/// One flow file of a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFile {
    /// The file's name, e.g. `main.toml` (not its folder: instances keep
    /// the same files in different places, and store one snapshot).
    pub path: String,
    /// The flow's name (the file's stem).
    pub name: String,
    /// The file's text.
    pub text: String,
}

impl FlowSet {
    /// What this set was read from, to store and rebuild it later.
    pub fn snapshot(&self) -> Snapshot {
        let files = self
            .files
            .iter()
            .map(|f| {
                let source = self.sources.get(f.file);
                SnapshotFile {
                    path: file_name(&source.path),
                    name: f.name.clone(),
                    text: source.text.clone(),
                }
            })
            .collect();
        Snapshot {
            files,
            recordings_root: file_name(&self.recordings.root.display().to_string()),
            recordings: self.recordings.files.clone(),
        }
    }
}

impl Snapshot {
    /// The flow set again, parsed from the stored texts: compiling it gives
    /// the program the snapshot was taken of.
    pub fn to_set(&self) -> FlowSet {
        let mut set = parse_texts(
            self.files
                .iter()
                .map(|f| (f.path.clone(), f.name.clone(), f.text.clone())),
        );
        set.recordings = Recordings {
            root: PathBuf::from(&self.recordings_root),
            files: self.recordings.clone(),
        };
        set
    }
}

/// The last component of `path`, e.g. `main.toml` of `/srv/ivr/flows/main.toml`.
pub(crate) fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_snapshot_rebuilds_the_same_program() {
        let set =
            crate::flow::load_dir(std::path::Path::new("flows")).expect("the demo flows load");
        let program = crate::compile::compile(&set)
            .program
            .expect("the demo flows compile");
        let snapshot = set.snapshot();
        let json = serde_json::to_string(&snapshot).expect("a snapshot serializes");
        let back: super::Snapshot = serde_json::from_str(&json).expect("and reads back");
        assert_eq!(back, snapshot);
        let rebuilt = crate::compile::compile(&back.to_set())
            .program
            .expect("the rebuilt set compiles");
        assert_eq!(rebuilt.version, program.version);
        assert_eq!(rebuilt.graph.node_count(), program.graph.node_count());
        assert_eq!(
            format!("{:?}", rebuilt.graph),
            format!("{:?}", program.graph),
            "the same nodes and exits, at the same indices"
        );
    }

    #[test]
    fn the_same_files_in_another_folder_are_the_same_version_and_snapshot() {
        let copies: Vec<_> = (0..2)
            .map(|_| {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let flows = dir.path().join("flows");
                std::fs::create_dir(&flows).expect("a flow folder");
                for e in std::fs::read_dir("flows").expect("the demo flows") {
                    let p = e.expect("an entry").path();
                    if p.extension().is_some_and(|x| x == "toml") {
                        let to = flows.join(p.file_name().expect("a file name"));
                        std::fs::copy(&p, to).expect("copied");
                    }
                }
                let set = crate::flow::load_dir(&flows).expect("the copy loads");
                (dir, set)
            })
            .collect();
        let version = |set: &crate::flow::FlowSet| crate::compile::version(set);
        assert_eq!(version(&copies[0].1), version(&copies[1].1));
        assert_eq!(copies[0].1.snapshot(), copies[1].1.snapshot());
        assert_eq!(super::file_name("/srv/ivr/flows/main.toml"), "main.toml");
    }
}
