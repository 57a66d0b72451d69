//! `switchboard serve` run as an admin runs it: a child process on
//! 127.0.0.1:0, its address read from its banner, stopped by a signal.

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
    pub(crate) fn start(mut command: Command) -> Serving {
        let mut child = command
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
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
