//! A real WebDAV server for the tests: wsgidav on a loopback port, serving a temporary folder
//! with basic authentication and properties kept on disk, stopped and started again at will.
//!
//! Missing wsgidav fails the test under `CI=true` (`.ci/run` installs it) and skips it with a
//! note otherwise.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tempfile::TempDir;

pub const USER: &str = "journaliser";
pub const PASSWORD: &str = "dav-test-secret";

pub struct DavServer {
    dir: TempDir,
    port: u16,
    child: Option<Child>,
}

impl DavServer {
    /// A running server, or `None` (with a note) where wsgidav is not installed.
    pub fn start() -> Option<DavServer> {
        let installed = Command::new("wsgidav")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "wsgidav is not installed (pip install wsgidav cheroot); CI needs it"
            );
            eprintln!("skipped: wsgidav is not installed (pip install wsgidav cheroot)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        // A free port, taken by binding port 0 and letting go: wsgidav takes only a number.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = json!({
            "host": "127.0.0.1",
            "port": port,
            "provider_mapping": {"/": dir.path().join("root")},
            "simple_dc": {"user_mapping": {"*": {USER: {"password": PASSWORD}}}},
            "http_authenticator": {"accept_basic": true, "accept_digest": false, "default_to_digest": false},
            // Properties survive a restart, as on a real server.
            "property_manager": {
                "class": "wsgidav.prop_man.property_manager.ShelvePropertyManager",
                "kwargs": {"storage_path": dir.path().join("properties.shelve")}
            },
            "lock_storage": true,
            "dir_browser": {"enable": false},
            "verbose": 1,
        });
        std::fs::write(dir.path().join("wsgidav.json"), config.to_string()).unwrap();
        let mut server = DavServer {
            dir,
            port,
            child: None,
        };
        server.resume();
        Some(server)
    }

    /// The served folder: what a WebDAV client sees at `/`.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Stops the server; connections are refused until `resume`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on its port and waits until it answers.
    pub fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("wsgidav.log")).unwrap();
        let mut child = Command::new("wsgidav")
            .arg("--config")
            .arg(self.dir.path().join("wsgidav.json"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let log = || std::fs::read_to_string(self.dir.path().join("wsgidav.log")).unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                panic!("wsgidav exited with {status}: {}", log());
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("wsgidav did not answer within 20 s: {}", log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }
}

impl Drop for DavServer {
    fn drop(&mut self) {
        self.stop();
    }
}
