//! moto's server (PyPI `moto[server]`): SQS, S3, CloudWatch and CloudFormation APIs on 127.0.0.1.
//!
//! The executable comes from `MOTO_SERVER`, or the project's `.venv/moto`, created on first use.
//! moto stores what it is given and checks little: it never evaluates an alarm.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::{Server, free_port, python_tool};

/// The longest moto may take to start.
const START_WAIT: Duration = Duration::from_secs(60);

/// moto's server executable (installed once for all the tests of a binary).
pub fn executable() -> PathBuf {
    static EXECUTABLE: OnceLock<PathBuf> = OnceLock::new();
    EXECUTABLE
        .get_or_init(|| python_tool("MOTO_SERVER", "moto", "requirements-moto.txt", "moto_server"))
        .clone()
}

/// A running moto server, stopped when dropped.
pub struct Moto {
    server: Server,
}

impl Moto {
    /// Starts one on a free loopback port and waits until it listens.
    pub fn start() -> Self {
        let port = free_port();
        let mut command = Command::new(executable());
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        Self {
            server: Server::start(command, port, START_WAIT, "moto_server"),
        }
    }

    /// Its endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }
}
