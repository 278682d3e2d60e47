//! Tells systemd that the service is ready (`Type=notify`): `READY=1` as one datagram on the
//! Unix socket named by `NOTIFY_SOCKET`.
//!
//! The protocol is a single `sendto` of `KEY=VALUE` lines (sd_notify(3)); a crate for it would
//! bring more than these lines.

use std::io;
use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. `READY=1`) to systemd. Without `NOTIFY_SOCKET` (not started by systemd,
/// or a unit of another type) it does nothing and answers `false`.
pub fn notify(state: &str) -> io::Result<bool> {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(socket) => {
            send(&socket.to_string_lossy(), state)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// `socket` is a path, or `@name` for a socket in Linux's abstract namespace.
fn send(socket: &str, state: &str) -> io::Result<()> {
    let datagram = UnixDatagram::unbound()?;
    match socket.strip_prefix('@') {
        Some(name) => send_abstract(&datagram, name, state),
        None => datagram.send_to(state.as_bytes(), socket).map(|_| ()),
    }
}

#[cfg(target_os = "linux")]
fn send_abstract(datagram: &UnixDatagram, name: &str, state: &str) -> io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    datagram
        .send_to_addr(state.as_bytes(), &address)
        .map(|_| ())
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_: &UnixDatagram, name: &str, _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("NOTIFY_SOCKET @{name} is an abstract socket, which only Linux has"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(listener: &UnixDatagram) -> String {
        let mut buffer = [0u8; 256];
        listener
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let length = listener.recv(&mut buffer).unwrap();
        String::from_utf8(buffer[..length].to_vec()).unwrap()
    }

    #[test]
    fn readiness_reaches_a_socket_bound_to_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        send(&path.to_string_lossy(), "READY=1").unwrap();
        assert_eq!(received(&listener), "READY=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn readiness_reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("journaliser-test-{}", uuid::Uuid::new_v4());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&address).unwrap();
        send(&format!("@{name}"), "READY=1\nSTATUS=serving").unwrap();
        assert_eq!(received(&listener), "READY=1\nSTATUS=serving");
    }

    #[test]
    fn a_socket_that_is_not_there_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(send(&dir.path().join("none.sock").to_string_lossy(), "READY=1").is_err());
    }
}
