//! `switchboard serve` as a real process on 127.0.0.1:0, for tests that
//! kill it, pull its files away or read its log.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `switchboard serve` and the address its banner names.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) addr: String,
    /// Kept open: the server prints to it, and would stop on a closed pipe.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Spawned {
    /// Serve the demo flows on `db`, signed with `token`; the log goes to a
    /// pipe ([`Spawned::log`]) or, with `quiet`, nowhere.
    pub(crate) fn start(db: &Path, token: &str, quiet: bool) -> Spawned {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--listen", "127.0.0.1:0", "--flows", "flows"])
            .arg("--database")
            .arg(format!("sqlite://{}", db.display()))
            .env("NO_COLOR", "1")
            .env("TWILIO_AUTH_TOKEN", token)
            .env("SWITCHBOARD_LOG", if quiet { "warn" } else { "info" })
            .stdout(Stdio::piped())
            .stderr(if quiet { Stdio::null() } else { Stdio::piped() })
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        stdout.read_line(&mut banner).unwrap();
        let addr = banner.trim().rsplit("http://").next().unwrap().to_owned();
        Spawned {
            child,
            addr,
            _stdout: stdout,
        }
    }

    /// `http://ADDR` and `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `kill -9`, and wait for it.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// End it (if it still runs) and return everything it logged.
    pub(crate) fn log(mut self) -> String {
        let _ = self.child.kill();
        let out = self.child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}
