//! `switchboard serve` run as an admin runs it: a child process on
//! 127.0.0.1:0, its address read from its banner, stopped by a signal.

use super::db::Database;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

/// A running `switchboard serve`.
pub(crate) struct Serving {
    child: Child,
    /// Kept open: the server writes the rest of its banner to it.
    _stdout: BufReader<ChildStdout>,
    /// `host:port`, from the banner.
    pub(crate) addr: String,
}

impl Serving {
    /// Start `command` (a `serve` listening on port 0) with its output
    /// piped, once it says where it listens.
    pub(crate) fn start(command: Command) -> Serving {
        Serving::launch(command, Stdio::piped())
    }

    /// `switchboard serve` on the demo flows and the database `db`,
    /// signed with `token`; with `quiet`, its log (warnings only) is
    /// dropped rather than kept for [`Serving::log`].
    pub(crate) fn demo(db: &(impl Database + ?Sized), token: &str, quiet: bool) -> Serving {
        Serving::on(std::path::Path::new("flows"), db, token, quiet)
    }

    /// [`Serving::demo`] on the flow directory `flows`.
    pub(crate) fn on(
        flows: &std::path::Path,
        db: &(impl Database + ?Sized),
        token: &str,
        quiet: bool,
    ) -> Serving {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--flows"])
            .arg(flows)
            .arg("--database")
            .arg(db.url())
            .env("TWILIO_AUTH_TOKEN", token)
            .env("SWITCHBOARD_LOG", if quiet { "warn" } else { "info" });
        Serving::launch(command, if quiet { Stdio::null() } else { Stdio::piped() })
    }

    fn launch(mut command: Command, stderr: Stdio) -> Serving {
        let mut child = command
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        stdout.read_line(&mut banner).unwrap();
        let addr = banner.trim().rsplit("http://").next().unwrap().to_owned();
        Serving {
            child,
            _stdout: stdout,
            addr,
        }
    }

    /// The next line of its banner (after the first, which gave its address).
    pub(crate) fn banner_line(&mut self) -> String {
        let mut line = String::new();
        self._stdout.read_line(&mut line).unwrap();
        line
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

    /// End it with `kill -9` (if it still runs): everything it logged.
    pub(crate) fn log(mut self) -> String {
        self.kill();
        let mut logs = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut logs);
        }
        logs
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send it `signal` (`-HUP`, `-TERM`, …).
    pub(crate) fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal}");
    }

    /// Stop it with `SIGTERM`: how it exited, and everything it logged.
    pub(crate) fn stop(mut self) -> (ExitStatus, String) {
        self.signal("-TERM");
        let status = self.child.wait().unwrap();
        let mut logs = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        (status, logs)
    }
}

impl Drop for Serving {
    /// A test that fails before `stop` leaves no server behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
