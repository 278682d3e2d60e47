//! Real mail servers for the tests: Debian's postfix takes mail over SMTP on loopback ports and
//! delivers it into a journal mailbox that Debian's dovecot serves over IMAP. Configuration,
//! queue, mail and a fresh certificate live in a temporary folder; the servers run as root
//! beside any system mail service, and stop when the value is dropped.
//!
//! Missing servers (or no root) fail the test under `CI=true` (`.ci/run` installs them) and skip
//! it with a note otherwise.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const DOMAIN: &str = "journal.test";
/// The journal mailbox.
pub const JOURNAL: &str = "journal@journal.test";
/// A mailbox that answers every delivery with 451, as a full or locked one would.
pub const BUSY: &str = "travl@journal.test";
/// No mailbox at all: 550.
pub const UNKNOWN: &str = "ukendt@journal.test";
/// What `BUSY` answers.
pub const BUSY_REASON: &str = "Postkassen er midlertidigt optaget";
/// The account that may send over submission (587-style) and SMTPS (465-style).
pub const SENDER: &str = "journaliser";
pub const SENDER_PASSWORD: &str = "smtp-test-secret";
/// The account that reads the journal mailbox over IMAP.
pub const READER: &str = "journal";
pub const READER_PASSWORD: &str = "imap-test-secret";
/// The owner of the mail on disk: postfix delivers and dovecot reads as this user (nobody).
const MAIL_UID: u32 = 65534;
/// A postfix left behind by a test process that died without unwinding stops by itself.
const POSTFIX_LIFETIME_SECS: u32 = 1800;

/// The loopback ports the servers listen on.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// Plain SMTP, STARTTLS offered, no AUTH (a relay inside the network).
    pub smtp: u16,
    /// STARTTLS required, then AUTH required.
    pub submission: u16,
    /// TLS from the first byte, then AUTH required.
    pub smtps: u16,
    pub imap: u16,
    pub imaps: u16,
}

pub struct MailServer {
    dir: TempDir,
    pub ports: Ports,
    postfix: Option<Child>,
    dovecot: Option<Child>,
}

impl MailServer {
    /// Running servers, or `None` (with a note) where they cannot run here.
    pub fn start() -> Option<MailServer> {
        MailServer::start_with(None)
    }

    /// Running servers whose IMAP also takes SASL XOAUTH2, with each token checked at
    /// `introspection_url` (RFC 7662), as Exchange Online checks Entra ID's tokens.
    pub fn start_with_oauth(introspection_url: &str) -> Option<MailServer> {
        MailServer::start_with(Some(introspection_url))
    }

    fn start_with(introspection_url: Option<&str>) -> Option<MailServer> {
        if let Some(missing) = missing_prerequisite() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{missing}; CI needs it (`.ci/run` installs postfix and dovecot-imapd)"
            );
            eprintln!("skipped: {missing} (apt-get install postfix dovecot-imapd; run as root)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ports = free_ports();
        let mut server = MailServer {
            dir,
            ports,
            postfix: None,
            dovecot: None,
        };
        server.configure(introspection_url);
        server.start_dovecot();
        server.resume_smtp();
        Some(server)
    }

    /// The CA that signed the certificate both servers present (for 127.0.0.1 and
    /// localhost): what an organisation's own CA is to the connector.
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// A CA of our own and a server certificate it signs (a self-signed server certificate
    /// is a CA, which TLS clients rightly refuse as a server's).
    fn make_certificates(&self) {
        let new_key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run(Command::new("openssl")
            .args(["req", "-x509", "-days", "2", "-subj", "/CN=Journal Test CA"])
            .args(new_key)
            .arg("-keyout")
            .arg(self.path("ca.key"))
            .arg("-out")
            .arg(self.path("ca.pem")));
        run(Command::new("openssl")
            .args(["req", "-subj", "/CN=localhost"])
            .args(new_key)
            .arg("-keyout")
            .arg(self.path("key.pem"))
            .arg("-out")
            .arg(self.path("server.csr")));
        std::fs::write(
            self.path("server.ext"),
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = IP:127.0.0.1, DNS:localhost\n",
        )
        .unwrap();
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-set_serial", "1"])
            .arg("-in")
            .arg(self.path("server.csr"))
            .arg("-CA")
            .arg(self.path("ca.pem"))
            .arg("-CAkey")
            .arg(self.path("ca.key"))
            .arg("-extfile")
            .arg(self.path("server.ext"))
            .arg("-out")
            .arg(self.path("cert.pem")));
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn configure(&self, introspection_url: Option<&str>) {
        let root = self.dir.path();
        // postfix's and dovecot's unprivileged processes must reach into the folder.
        set_mode(root, 0o755);
        for sub in ["postfix", "queue", "run", "mail"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        std::os::unix::fs::chown(root.join("mail"), Some(MAIL_UID), Some(MAIL_UID)).unwrap();
        self.make_certificates();
        let root = root.display();
        let Ports {
            smtp,
            submission,
            smtps,
            imap,
            imaps,
        } = self.ports;
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/queue/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {root}/postfix.log
maillog_file_prefixes = {root}
myhostname = mail.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
biff = no
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = texthash:{root}/postfix/mailboxes
virtual_uid_maps = static:{MAIL_UID}
virtual_gid_maps = static:{MAIL_UID}
virtual_minimum_uid = 1
smtpd_recipient_restrictions = check_recipient_access texthash:{root}/postfix/access, permit_mynetworks, reject_unauth_destination
smtpd_tls_cert_file = {root}/cert.pem
smtpd_tls_key_file = {root}/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = {root}/run/auth-postfix
"
        );
        let authenticated = "-o smtpd_sasl_auth_enable=yes \
             -o smtpd_client_restrictions=permit_sasl_authenticated,reject";
        let mut master_cf = format!(
            "127.0.0.1:{smtp} inet n - n - - smtpd
127.0.0.1:{submission} inet n - n - - smtpd -o smtpd_tls_security_level=encrypt {authenticated}
127.0.0.1:{smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes {authenticated}
"
        );
        for service in [
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "tlsmgr unix - - n 1000? 1 tlsmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "smtp unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "virtual unix - n n - - virtual",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ] {
            master_cf.push_str(service);
            master_cf.push('\n');
        }
        let write = |name: &str, text: &str| std::fs::write(self.path(name), text).unwrap();
        write("postfix/main.cf", &main_cf);
        write("postfix/master.cf", &master_cf);
        write(
            "postfix/mailboxes",
            &format!("{JOURNAL} {DOMAIN}/journal/\n{BUSY} {DOMAIN}/travl/\n"),
        );
        write(
            "postfix/access",
            &format!("{BUSY} 451 4.2.1 {BUSY_REASON}\n"),
        );
        write(
            "users",
            &format!("{READER}:{{PLAIN}}{READER_PASSWORD}\n{SENDER}:{{PLAIN}}{SENDER_PASSWORD}\n"),
        );
        let oauth = match introspection_url {
            None => String::new(),
            Some(url) => {
                write(
                    "dovecot-oauth2.conf.ext",
                    &format!(
                        "introspection_mode = post\nintrospection_url = {url}\n\
                         username_attribute = username\nactive_attribute = active\n\
                         active_value = true\n"
                    ),
                );
                format!(
                    "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  \
                     args = {}/dovecot-oauth2.conf.ext\n}}\n",
                    root
                )
            }
        };
        let mechanisms = match introspection_url {
            None => "plain login",
            Some(_) => "plain login xoauth2",
        };
        write(
            "dovecot.conf",
            &format!(
                "base_dir = {root}/run/dovecot
state_dir = {root}/run/state
instance_name = journal-test-{imap}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
mail_location = maildir:{root}/mail/{DOMAIN}/%n
first_valid_uid = 1
{oauth}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/users
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={root}/mail/{DOMAIN}/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service auth {{
  unix_listener {root}/run/auth-postfix {{
    mode = 0666
  }}
}}
"
            ),
        );
        // Makes the queue's folders with the owners postfix wants.
        run(Command::new("postfix")
            .arg("-c")
            .arg(self.path("postfix"))
            .arg("check"));
    }

    fn start_dovecot(&mut self) {
        let child = self.spawn(
            Command::new("dovecot")
                .arg("-F")
                .arg("-c")
                .arg(self.path("dovecot.conf")),
            "dovecot.out",
        );
        self.dovecot = Some(child);
        self.wait_for_port(self.ports.imap, "dovecot", "dovecot.log");
    }

    /// Stops the SMTP server; connections are refused until `resume_smtp`. Mail already
    /// delivered stays in the mailbox.
    pub fn stop_smtp(&mut self) {
        if let Some(child) = self.postfix.take() {
            let _ = Command::new("postfix")
                .arg("-c")
                .arg(self.path("postfix"))
                .arg("stop")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            reap(child);
        }
    }

    /// Starts the SMTP server (again) on its ports and waits until it answers.
    pub fn resume_smtp(&mut self) {
        let daemons = run(Command::new("postconf")
            .arg("-c")
            .arg(self.path("postfix"))
            .args(["-h", "daemon_directory"]));
        let child = self.spawn(
            Command::new(Path::new(daemons.trim()).join("master"))
                .arg("-c")
                .arg(self.path("postfix"))
                .arg("-s")
                .arg("-e")
                .arg(POSTFIX_LIFETIME_SECS.to_string()),
            "master.out",
        );
        self.postfix = Some(child);
        self.wait_for_port(self.ports.smtp, "postfix", "postfix.log");
    }

    fn spawn(&self, command: &mut Command, log: &str) -> Child {
        let log = std::fs::File::create(self.path(log)).unwrap();
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn wait_for_port(&mut self, port: u16, name: &str, log: &str) {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let child = match name {
                "postfix" => self.postfix.as_mut(),
                _ => self.dovecot.as_mut(),
            };
            let exited = child.and_then(|c| c.try_wait().unwrap());
            let log = || std::fs::read_to_string(self.path(log)).unwrap_or_default();
            if let Some(status) = exited {
                panic!("{name} exited with {status}: {}", log());
            }
            if started.elapsed() > Duration::from_secs(20) {
                panic!("{name} did not answer within 20 s: {}", log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every message in the journal mailbox, read over IMAP once postfix has delivered all it
    /// accepted.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.wait_until_delivered();
        fetch_all(self.ports.imap)
    }

    /// Waits until postfix's queue is empty: every mail it accepted is in a mailbox (or
    /// bounced, which the log then says).
    fn wait_until_delivered(&self) {
        let started = Instant::now();
        let queues = ["maildrop", "incoming", "active", "deferred", "hold"];
        loop {
            let queued: usize = queues
                .iter()
                .map(|q| files_under(&self.path("queue").join(q)))
                .sum();
            if queued == 0 {
                return;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let log = std::fs::read_to_string(self.path("postfix.log")).unwrap_or_default();
                panic!("postfix still holds {queued} mails after 30 s: {log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.stop_smtp();
        if let Some(child) = self.dovecot.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            reap(child);
        }
    }
}

/// Waits for a server told to stop; kills it if it will not.
fn reap(mut child: Child) {
    let started = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What keeps the servers from running here, if anything.
fn missing_prerequisite() -> Option<String> {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !works("postconf", &["-d", "mail_version"]) {
        return Some("postfix is not installed".into());
    }
    if !works("dovecot", &["--version"]) {
        return Some("dovecot is not installed".into());
    }
    if !works("openssl", &["version"]) {
        return Some("openssl is not installed".into());
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("the mail servers must be started as root".into());
    }
    None
}

/// Runs a set-up command that must succeed; its output.
fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Five different free ports: all bound at once, then let go (postfix and dovecot take only
/// numbers).
fn free_ports() -> Ports {
    let listeners: Vec<TcpListener> = (0..5)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let port = |i: usize| listeners[i].local_addr().unwrap().port();
    Ports {
        smtp: port(0),
        submission: port(1),
        smtps: port(2),
        imap: port(3),
        imaps: port(4),
    }
}

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|entry| entry.unwrap().path())
        .map(|path| if path.is_dir() { files_under(&path) } else { 1 })
        .sum()
}

/// The test's own IMAP reader, apart from the connector's: every message of the journal
/// mailbox, whole, in the order of arrival.
fn fetch_all(port: u16) -> Vec<Vec<u8>> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut greeting = String::new();
    reader.read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("* OK"), "{greeting}");
    let mut exchange = |tag: &str, command: &str| {
        writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        let mut literals = Vec::new();
        loop {
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line).unwrap();
            assert!(!line.is_empty(), "the IMAP server hung up during {command}");
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            if let Some(status) = text.strip_prefix(&format!("{tag} ")) {
                assert!(status.starts_with("OK"), "{command}: {text}");
                return literals;
            }
            if let Some(length) = text
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            {
                let mut literal = vec![0; length];
                reader.read_exact(&mut literal).unwrap();
                literals.push(literal);
            }
        }
    };
    exchange("t1", &format!("LOGIN {READER} {READER_PASSWORD}"));
    exchange("t2", "EXAMINE INBOX");
    let messages = exchange("t3", "UID FETCH 1:* (BODY.PEEK[])");
    exchange("t4", "LOGOUT");
    messages
}

impl MailServer {
    /// Hands `mail` to postfix over plain SMTP for the journal mailbox, as another server
    /// would deliver it.
    pub fn deliver(&self, mail: &[u8]) {
        let stream = TcpStream::connect(("127.0.0.1", self.ports.smtp)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut expect = |code: &str| loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with(code), "SMTP: wanted {code}, got {line:?}");
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        };
        expect("220");
        for (command, code) in [
            ("EHLO test.example".to_string(), "250"),
            ("MAIL FROM:<afsender@example.dk>".to_string(), "250"),
            (format!("RCPT TO:<{JOURNAL}>"), "250"),
            ("DATA".to_string(), "354"),
        ] {
            writer
                .write_all(format!("{command}\r\n").as_bytes())
                .unwrap();
            expect(code);
        }
        // Dot-stuffing (RFC 5321, 4.5.2), then the end of the data.
        let text = String::from_utf8_lossy(mail).replace("\r\n.", "\r\n..");
        writer.write_all(text.as_bytes()).unwrap();
        writer.write_all(b"\r\n.\r\n").unwrap();
        expect("250");
        writer.write_all(b"QUIT\r\n").unwrap();
    }

    /// The keywords and flags of every message in `folder` of the journal mailbox, as the
    /// server lists them after delivery.
    pub fn flags(&self, folder: &str) -> Vec<String> {
        self.wait_until_delivered();
        let stream = TcpStream::connect(("127.0.0.1", self.ports.imap)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut lines = Vec::new();
        let mut exchange = |tag: &str, command: &str, ok: bool| {
            writer
                .write_all(format!("{tag} {command}\r\n").as_bytes())
                .unwrap();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(status) = line.strip_prefix(&format!("{tag} ")) {
                    return !ok || status.starts_with("OK");
                }
                if line.contains(" FETCH ") {
                    lines.push(line.trim().to_string());
                }
            }
        };
        // The greeting is read as the first untagged line of the first exchange.
        exchange("t0", "NOOP", false);
        exchange("t1", &format!("LOGIN {READER} {READER_PASSWORD}"), true);
        if exchange("t2", &format!("EXAMINE \"{folder}\""), true) {
            exchange("t3", "FETCH 1:* (FLAGS)", false);
        }
        exchange("t4", "LOGOUT", false);
        lines
    }
}
