//! A TCP relay on loopback that holds every byte for a fixed time each way, as a long
//! path would (2.5 s one way is a 5 s round trip). Each accepted connection gets its own
//! upstream connection and two pipes; a pipe reads what arrives, stamps it, and writes it
//! on once its time has come, so throughput is not limited by the delay. Ends (and an
//! end of either side) pass through: a shutdown or reset on one side closes the other.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running relay; stops accepting and closes its connections when dropped.
pub struct Relay {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Bytes forwarded, both ways together.
    pub bytes: Arc<AtomicU64>,
    /// Connections accepted.
    pub connections: Arc<AtomicU64>,
    accept: Option<JoinHandle<()>>,
}

impl Relay {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream`, `delay` each way.
    pub fn start(upstream: SocketAddr, delay: Duration) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let addr = listener.local_addr().expect("relay address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking relay listener");
        let stop = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let accept = {
            let (stop, bytes, connections) = (stop.clone(), bytes.clone(), connections.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((down, _)) => {
                            connections.fetch_add(1, Ordering::Relaxed);
                            let Ok(up) = TcpStream::connect(upstream) else {
                                continue;
                            };
                            let _ = down.set_nonblocking(false);
                            let _ = down.set_nodelay(true);
                            let _ = up.set_nodelay(true);
                            pipe(&down, &up, delay, &stop, &bytes);
                            pipe(&up, &down, delay, &stop, &bytes);
                        }
                        // The accept loop polls so that it sees `stop`.
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Relay {
            addr,
            stop,
            bytes,
            connections,
            accept: Some(accept),
        }
    }
}

/// One direction: a reader thread stamps chunks, a writer thread sends each at its time.
fn pipe(
    from: &TcpStream,
    to: &TcpStream,
    delay: Duration,
    stop: &Arc<AtomicBool>,
    bytes: &Arc<AtomicU64>,
) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    // A read timeout lets the reader see `stop`.
    let _ = from.set_read_timeout(Some(Duration::from_millis(100)));
    let (tx, rx) = mpsc::channel::<(Instant, Option<Vec<u8>>)>();
    let stop_r = stop.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        while !stop_r.load(Ordering::Relaxed) {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, Some(buf[..n].to_vec())))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        // The end travels with the same delay as the bytes before it.
        let _ = tx.send((Instant::now() + delay, None));
    });
    let (stop_w, bytes) = (stop.clone(), bytes.clone());
    std::thread::spawn(move || {
        while let Ok((due, chunk)) = rx.recv() {
            // The relay's whole job is to hold bytes until their time.
            while let Some(left) = due.checked_duration_since(Instant::now()) {
                if stop_w.load(Ordering::Relaxed) {
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
                std::thread::sleep(left.min(Duration::from_millis(50)));
            }
            match chunk {
                Some(c) => {
                    if to.write_all(&c).is_err() {
                        break;
                    }
                    bytes.fetch_add(c.len() as u64, Ordering::Relaxed);
                }
                None => break,
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}
