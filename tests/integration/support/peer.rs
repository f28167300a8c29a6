//! A raw-Ethernet peer on the host for a guest NIC on QEMU's `-netdev dgram` (each UDP datagram
//! is one Ethernet frame, no header of its own; QEMU's `net/dgram.c`). Bound to 127.0.0.1 only;
//! every send is bounded in count and every receive loop in time.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The peer's own MAC (locally administered), as the scenario gives testpmd (`--eth-peer`).
pub(crate) const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0xe2, 0xe2];
/// EtherTypes of the peer's frames (IEEE 802 local experimental): one per phase, so a capture
/// tells them apart without their payload.
pub(crate) const RXONLY_ETHERTYPE: u16 = 0x88b5;
pub(crate) const MACSWAP_ETHERTYPE: u16 = 0x88b6;
/// Length of the peer's frames (without FCS).
pub(crate) const FRAME_LEN: usize = 64;
const MAGIC: &[u8; 16] = b"harvester-sriov!";
/// No phase may ask for more.
const MAX_FRAMES: usize = 10_000;

/// One frame the peer received from QEMU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Got {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub ethertype: u16,
    pub len: usize,
    /// The sequence number of one of the peer's own frames (MAGIC found), else None.
    pub seq: Option<u32>,
}

/// What the peer sent: (ethertype, count, destination MAC).
pub(crate) type Sent = (u16, usize, [u8; 6]);

pub(crate) struct Peer {
    socket: UdpSocket,
    qemu: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    sent: Vec<Sent>,
    stop: Arc<AtomicBool>,
    receiver: Option<JoinHandle<()>>,
}

/// A free UDP port on 127.0.0.1 for QEMU's end (bound and released: QEMU binds it next).
pub(crate) fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("bind a UDP socket on 127.0.0.1")
        .port()
}

/// A peer frame: `dst`, the peer's MAC, `ethertype`, MAGIC, `seq` (big-endian), zeros.
pub(crate) fn frame(dst: [u8; 6], ethertype: u16, seq: u32) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&MAC);
    f[12..14].copy_from_slice(&ethertype.to_be_bytes());
    f[14..30].copy_from_slice(MAGIC);
    f[30..34].copy_from_slice(&seq.to_be_bytes());
    f
}

fn parse(data: &[u8]) -> Option<Got> {
    if data.len() < 14 {
        return None;
    }
    let seq = (data.len() >= 34 && &data[14..30] == MAGIC)
        .then(|| u32::from_be_bytes(data[30..34].try_into().unwrap()));
    Some(Got {
        dst: data[0..6].try_into().unwrap(),
        src: data[6..12].try_into().unwrap(),
        ethertype: u16::from_be_bytes([data[12], data[13]]),
        len: data.len(),
        seq,
    })
}

impl Peer {
    /// Binds 127.0.0.1:<free port> and starts receiving what QEMU sends from `qemu_port`;
    /// `deadline` bounds the receive loop even if `finish` is never called.
    pub(crate) fn start(qemu_port: u16, deadline: Duration) -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the peer on 127.0.0.1");
        let qemu: SocketAddr = ([127, 0, 0, 1], qemu_port).into();
        let rx = socket.try_clone().expect("clone the peer socket");
        rx.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (got2, stop2) = (Arc::clone(&got), Arc::clone(&stop));
        let receiver = std::thread::spawn(move || {
            let end = Instant::now() + deadline;
            let mut buf = vec![0u8; 65536];
            while !stop2.load(Ordering::Relaxed) && Instant::now() < end {
                match rx.recv_from(&mut buf) {
                    Ok((n, from)) if from == qemu => {
                        if let Some(g) = parse(&buf[..n]) {
                            got2.lock().unwrap().push(g);
                        }
                    }
                    _ => {}
                }
            }
        });
        Peer {
            socket,
            qemu,
            got,
            sent: Vec::new(),
            stop,
            receiver: Some(receiver),
        }
    }

    /// The port the peer listens on (QEMU's `remote.port`).
    pub(crate) fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }

    /// Forgets everything (a new boot of the same scenario: run.sh retries once).
    pub(crate) fn reset(&mut self) {
        self.got.lock().unwrap().clear();
        self.sent.clear();
    }

    /// Sends `count` frames to `dst` with `ethertype`, sequence numbers 0..count, paced.
    pub(crate) fn send(&mut self, ethertype: u16, count: usize, dst: [u8; 6]) {
        assert!(count <= MAX_FRAMES, "the scenario asked for {count} frames");
        for seq in 0..count {
            let f = frame(dst, ethertype, seq as u32);
            self.socket.send_to(&f, self.qemu).expect("send a frame to QEMU");
            // One a millisecond: QEMU under TCG on a loaded machine can leave its socket
            // unread for a while, and a full socket buffer (~256 such datagrams) drops frames.
            std::thread::sleep(Duration::from_millis(1));
        }
        self.sent.push((ethertype, count, dst));
    }

    /// Stops receiving; what was sent and received.
    pub(crate) fn finish(mut self) -> (Vec<Sent>, Vec<Got>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.receiver.take() {
            r.join().expect("peer receiver thread");
        }
        let got = std::mem::take(&mut *self.got.lock().unwrap());
        (std::mem::take(&mut self.sent), got)
    }
}
