//! Per-VF settings through rtnetlink, with the rust-netlink crates
//! (`netlink-packet-route` builds and parses the messages, `netlink-sys` is
//! the socket): no `ip` is run.
//!
//! Setting: one `RTM_SETLINK` on the PF carries an `IFLA_VFINFO_LIST` with one
//! `IFLA_VF_INFO` per VF; the kernel walks them in order and calls
//! `do_setvfinfo` for each, stopping at the first error
//! (torvalds/linux:`net/core/rtnetlink.c` `do_setlink`, `do_setvfinfo`). So all
//! VFs of a PF take one round trip when everything lands. When the kernel
//! refuses the batch, the VFs before the failing one are already set: the
//! batch is then replayed one setting per message, so the error names the VF,
//! the setting and the errno, and every setting that can land has landed —
//! never a silent half-setting.
//!
//! Reading: `RTM_GETLINK` for the PF with `IFLA_EXT_MASK` = `RTEXT_FILTER_VF`;
//! the reply's `IFLA_VFINFO_LIST` has each VF's MAC, VLAN (and proto through
//! `IFLA_VF_VLAN_LIST`), rates, spoof check, trust and link state.

use netlink_packet_core::{
    DecodeError, NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    LinkAttribute, LinkExtentMask, LinkMessage, LinkVfInfo, VfInfo, VfInfoLinkState, VfInfoMac, VfInfoRate,
    VfInfoSpoofCheck, VfInfoTrust, VfLinkState, VfVlan, VfVlanInfo, VlanProtocol,
};
use rustix::io::Errno;

use crate::plan::vf::Mac;
#[cfg(any(test, feature = "vfproof"))]
use crate::plan::vf::format_mac;

/// `vlan_proto` and `link_state` are the config's own types: the kernel
/// side takes what the intent says, with no second copy to convert between.
pub(crate) use crate::intent::vf::{LinkState, VlanProto as Proto};

/// What one VF should get; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VfRequest {
    pub(crate) vf: u32,
    pub(crate) mac: Option<Mac>,
    /// VLAN id, QoS, protocol.
    pub(crate) vlan: Option<(u16, u8, Proto)>,
    pub(crate) spoof_check: Option<bool>,
    pub(crate) trust: Option<bool>,
    pub(crate) link_state: Option<LinkState>,
    /// Min and max TX rate in Mbit/s (0 = no limit).
    pub(crate) rate: Option<(u32, u32)>,
}

/// One VF as the kernel reports it; `None` where the driver reports nothing.
/// (Spoof check and trust: netlink-packet-route reads the kernel's -1, "the
/// driver filled nothing", as false; every driver of the table in
/// `crate::plan::vf` fills both.) Serialised for `detect --format json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct VfState {
    pub(crate) vf: u32,
    #[serde(serialize_with = "mac_text")]
    pub(crate) mac: Option<Mac>,
    pub(crate) vlan_id: Option<u16>,
    pub(crate) qos: Option<u8>,
    pub(crate) vlan_proto: Option<Proto>,
    pub(crate) spoof_check: Option<bool>,
    pub(crate) trust: Option<bool>,
    pub(crate) link_state: Option<LinkState>,
    pub(crate) min_tx_rate: Option<u32>,
    pub(crate) max_tx_rate: Option<u32>,
}

fn mac_text<S: serde::Serializer>(m: &Option<Mac>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.collect_str(&crate::plan::vf::format_mac(m)),
        None => s.serialize_none(),
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum NetlinkError {
    #[error("netlink socket: {0}")]
    Socket(#[source] std::io::Error),
    #[error("{pf}: VF {vf}: the kernel refused {setting}: {}", errno_text(*errno))]
    Refused {
        pf: String,
        vf: u32,
        setting: &'static str,
        /// As the kernel sent it (any value: a reply is not trusted).
        errno: i32,
    },
    #[error("{pf}: the kernel refused {what}: {}", errno_text(*errno))]
    Request {
        pf: String,
        what: &'static str,
        errno: i32,
    },
    #[error("{pf}: cannot decode the kernel's reply: {source}")]
    Decode { pf: String, source: DecodeError },
    #[error("{pf}: no reply from the kernel")]
    NoReply { pf: String },
}

/// An errno in words, as the rest of the tool says them (its number when
/// it is none of these, or no errno at all).
pub(crate) fn errno_text(errno: i32) -> String {
    let name = match Errno::from_io_error(&std::io::Error::from_raw_os_error(errno)) {
        None => return format!("errno {errno}"),
        Some(known) => known,
    };
    let name = match name {
        Errno::PERM => "EPERM (operation not permitted)",
        Errno::AGAIN => "EAGAIN (try again)",
        Errno::BUSY => "EBUSY (device busy)",
        Errno::NODEV => "ENODEV (no such device)",
        Errno::INVAL => "EINVAL (invalid argument: the driver refused the value)",
        Errno::RANGE => "ERANGE (out of range)",
        Errno::PROTONOSUPPORT => "EPROTONOSUPPORT (protocol not supported by the driver)",
        Errno::OPNOTSUPP => "EOPNOTSUPP (the driver has no such operation)",
        _ => return format!("errno {errno}"),
    };
    name.to_owned()
}

/// The netlink attributes of one request: which setting each is, for messages.
fn infos(r: &VfRequest) -> Vec<(&'static str, VfInfo)> {
    let mut out = Vec::new();
    if let Some(mac) = r.mac {
        out.push(("mac_address", VfInfo::Mac(VfInfoMac::new(r.vf, &mac))));
    }
    if let Some((id, qos, proto)) = r.vlan {
        let proto = match proto {
            Proto::Dot1q => VlanProtocol::Ieee8021Q,
            Proto::Dot1ad => VlanProtocol::Ieee8021Ad,
        };
        out.push((
            "vlan_id/qos/vlan_proto",
            VfInfo::VlanList(vec![VfVlan::Info(VfVlanInfo::new(
                r.vf,
                u32::from(id),
                u32::from(qos),
                proto,
            ))]),
        ));
    }
    if let Some((min, max)) = r.rate {
        out.push((
            "min_tx_rate/max_tx_rate",
            VfInfo::Rate(VfInfoRate::new(r.vf, min, max)),
        ));
    }
    if let Some(on) = r.spoof_check {
        out.push(("spoof_check", VfInfo::SpoofCheck(VfInfoSpoofCheck::new(r.vf, on))));
    }
    if let Some(state) = r.link_state {
        let state = match state {
            LinkState::Auto => VfLinkState::Auto,
            LinkState::Enable => VfLinkState::Enable,
            LinkState::Disable => VfLinkState::Disable,
        };
        out.push(("link_state", VfInfo::LinkState(VfInfoLinkState::new(r.vf, state))));
    }
    if let Some(on) = r.trust {
        out.push(("trust", VfInfo::Trust(VfInfoTrust::new(r.vf, on))));
    }
    out
}

fn frame(seq: u32, flags: u16, msg: RouteNetlinkMessage) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
    packet.finalize();
    let mut buf = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut buf);
    buf
}

fn link_for(ifname: &str) -> LinkMessage {
    let mut link = LinkMessage::default();
    link.attributes.push(LinkAttribute::IfName(ifname.to_owned()));
    link
}

/// The bytes of one `RTM_SETLINK` for `ifname` carrying `vfs` (one
/// `IFLA_VF_INFO` each, in order), asking for an ack.
pub(crate) fn encode_setlink(ifname: &str, seq: u32, vfs: &[Vec<VfInfo>]) -> Vec<u8> {
    let mut link = link_for(ifname);
    link.attributes.push(LinkAttribute::VfInfoList(
        vfs.iter().map(|v| LinkVfInfo(v.clone())).collect(),
    ));
    frame(seq, NLM_F_REQUEST | NLM_F_ACK, RouteNetlinkMessage::SetLink(link))
}

/// The bytes of `RTM_GETLINK` for `ifname` with its VFs.
pub(crate) fn encode_getlink(ifname: &str, seq: u32) -> Vec<u8> {
    let mut link = link_for(ifname);
    link.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::Vf]));
    frame(seq, NLM_F_REQUEST, RouteNetlinkMessage::GetLink(link))
}

/// What one reply datagram said.
#[derive(Debug)]
pub(crate) enum Reply {
    Ack,
    /// The errno of an `nlmsgerr`, as the kernel sent it.
    Errno(i32),
    Link(Vec<VfState>),
    Other,
}

/// Decode the first message of one reply datagram.
pub(crate) fn decode_reply(bytes: &[u8]) -> Result<Reply, DecodeError> {
    let msg = <NetlinkMessage<RouteNetlinkMessage>>::deserialize(bytes)?;
    Ok(match msg.payload {
        NetlinkPayload::Error(e) => match e.code {
            None => Reply::Ack,
            // nlmsgerr carries the negated errno
            Some(code) => Reply::Errno(code.get().wrapping_neg()),
        },
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => Reply::Link(vf_states(&link)),
        _ => Reply::Other,
    })
}

/// The VFs of a `RTM_NEWLINK`.
pub(crate) fn vf_states(link: &LinkMessage) -> Vec<VfState> {
    let mut out = Vec::new();
    for attr in &link.attributes {
        let LinkAttribute::VfInfoList(list) = attr else {
            continue;
        };
        for LinkVfInfo(infos) in list {
            let mut s = VfState::default();
            for info in infos {
                match info {
                    VfInfo::Mac(m) => {
                        s.vf = m.vf_id;
                        let mut mac = [0u8; 6];
                        mac.copy_from_slice(&m.mac[..6]);
                        s.mac = Some(mac);
                    }
                    VfInfo::Vlan(v) => {
                        s.vlan_id = u16::try_from(v.vlan_id).ok();
                        s.qos = u8::try_from(v.qos).ok();
                    }
                    VfInfo::VlanList(list) => {
                        for v in list.iter().filter_map(|v| match v {
                            VfVlan::Info(v) => Some(v),
                            _ => None,
                        }) {
                            s.vlan_proto = Some(match v.protocol {
                                VlanProtocol::Ieee8021Ad => Proto::Dot1ad,
                                _ => Proto::Dot1q,
                            });
                        }
                    }
                    VfInfo::Rate(r) => {
                        s.min_tx_rate = Some(r.min_tx_rate);
                        s.max_tx_rate = Some(r.max_tx_rate);
                    }
                    // -1 (the driver filled nothing) reads as false: see VfState.
                    VfInfo::SpoofCheck(c) => s.spoof_check = Some(c.enabled),
                    VfInfo::Trust(t) => s.trust = Some(t.enabled),
                    VfInfo::LinkState(l) => {
                        s.link_state = match l.state {
                            VfLinkState::Auto => Some(LinkState::Auto),
                            VfLinkState::Enable => Some(LinkState::Enable),
                            VfLinkState::Disable => Some(LinkState::Disable),
                            _ => None,
                        }
                    }
                    _ => {}
                }
            }
            out.push(s);
        }
    }
    out
}

/// A route netlink socket, talking to the kernel.
pub(crate) struct Rtnl {
    socket: netlink_sys::Socket,
    seq: u32,
    /// Messages sent (round trips), for the benchmark.
    pub(crate) round_trips: u32,
    /// Every reply datagram, when capturing fixtures (the vfproof example
    /// only: no other build has this hook).
    #[cfg(feature = "vfproof")]
    pub(crate) capture: Option<Vec<Vec<u8>>>,
}

impl Rtnl {
    pub(crate) fn open() -> Result<Self, NetlinkError> {
        let mut socket =
            netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE).map_err(NetlinkError::Socket)?;
        socket.bind_auto().map_err(NetlinkError::Socket)?;
        socket
            .connect(&netlink_sys::SocketAddr::new(0, 0))
            .map_err(NetlinkError::Socket)?;
        Ok(Rtnl {
            socket,
            seq: 1,
            round_trips: 0,
            #[cfg(feature = "vfproof")]
            capture: None,
        })
    }

    /// Send one request and read its replies until the ack, an error, or
    /// (for a dump-less get) the one answer.
    fn call(&mut self, pf: &str, bytes: &[u8]) -> Result<Reply, NetlinkError> {
        self.round_trips += 1;
        self.socket.send(bytes, 0).map_err(NetlinkError::Socket)?;
        let mut buf = vec![0u8; 1 << 16];
        let n = self
            .socket
            .recv(&mut &mut buf[..], 0)
            .map_err(NetlinkError::Socket)?;
        if n == 0 {
            return Err(NetlinkError::NoReply { pf: pf.to_owned() });
        }
        #[cfg(feature = "vfproof")]
        if let Some(c) = &mut self.capture {
            c.push(buf[..n].to_vec());
        }
        decode_reply(&buf[..n]).map_err(|source| NetlinkError::Decode {
            pf: pf.to_owned(),
            source,
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    /// Read every VF of `pf` (its netdev name).
    pub(crate) fn get_vfs(&mut self, pf: &str) -> Result<Vec<VfState>, NetlinkError> {
        let seq = self.next_seq();
        match self.call(pf, &encode_getlink(pf, seq))? {
            Reply::Link(vfs) => Ok(vfs),
            Reply::Errno(errno) => Err(NetlinkError::Request {
                pf: pf.to_owned(),
                what: "RTM_GETLINK",
                errno,
            }),
            Reply::Ack | Reply::Other => Err(NetlinkError::NoReply { pf: pf.to_owned() }),
        }
    }

    /// Apply `vfs` to `pf` in one `RTM_SETLINK`. When the kernel refuses the
    /// batch, every setting is sent again on its own: all that can land
    /// lands, and each refusal is returned naming VF, setting and errno.
    pub(crate) fn set_vfs(&mut self, pf: &str, vfs: &[VfRequest]) -> Result<(), Vec<NetlinkError>> {
        let all: Vec<Vec<VfInfo>> = vfs
            .iter()
            .map(|r| infos(r).into_iter().map(|(_, i)| i).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect();
        if all.is_empty() {
            return Ok(());
        }
        let seq = self.next_seq();
        match self.call(pf, &encode_setlink(pf, seq, &all)) {
            Ok(Reply::Ack) => return Ok(()),
            Ok(Reply::Errno(_)) => {}
            Ok(_) => return Err(vec![NetlinkError::NoReply { pf: pf.to_owned() }]),
            Err(e) => return Err(vec![e]),
        }
        let mut errors = Vec::new();
        for r in vfs {
            for (setting, info) in infos(r) {
                let seq = self.next_seq();
                match self.call(pf, &encode_setlink(pf, seq, &[vec![info]])) {
                    Ok(Reply::Ack) => {}
                    Ok(Reply::Errno(errno)) => errors.push(NetlinkError::Refused {
                        pf: pf.to_owned(),
                        vf: r.vf,
                        setting,
                        errno,
                    }),
                    Ok(_) => errors.push(NetlinkError::NoReply { pf: pf.to_owned() }),
                    Err(e) => errors.push(e),
                }
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// One VF's state in the words `ip -d link show` uses, for logs and tests.
#[cfg(any(test, feature = "vfproof"))]
pub(crate) fn describe(s: &VfState) -> String {
    let mut out = format!("vf {}", s.vf);
    if let Some(m) = &s.mac {
        out.push_str(&format!(" mac {}", format_mac(m)));
    }
    if let Some(v) = s.vlan_id {
        out.push_str(&format!(" vlan {v}"));
    }
    if let Some(q) = s.qos {
        out.push_str(&format!(" qos {q}"));
    }
    if let Some(p) = s.vlan_proto {
        out.push_str(if p == Proto::Dot1ad {
            " proto 802.1ad"
        } else {
            " proto 802.1Q"
        });
    }
    if let Some(r) = s.max_tx_rate {
        out.push_str(&format!(" max_tx_rate {r}"));
    }
    if let Some(r) = s.min_tx_rate {
        out.push_str(&format!(" min_tx_rate {r}"));
    }
    if let Some(c) = s.spoof_check {
        out.push_str(if c { " spoofchk on" } else { " spoofchk off" });
    }
    if let Some(l) = s.link_state {
        out.push_str(match l {
            LinkState::Auto => " link-state auto",
            LinkState::Enable => " link-state enable",
            LinkState::Disable => " link-state disable",
        });
    }
    if let Some(t) = s.trust {
        out.push_str(if t { " trust on" } else { " trust off" });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's own RTM_GETLINK reply (RTEXT_FILTER_VF) for the igb PF of
    /// the QEMU guest, after the library set both VFs
    /// (tests/e2e/scenarios/vf-netlink.sh printed it; tests/fixtures/README.md).
    #[test]
    fn decodes_the_reply_a_real_igb_kernel_sent() {
        let text = include_str!("../../tests/fixtures/netlink/igb-82576-2vfs-getlink.hex").trim();
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect();
        assert_eq!(bytes.len(), 2044);
        let Reply::Link(vfs) = decode_reply(&bytes).expect("decodes") else {
            panic!("not a RTM_NEWLINK")
        };
        let vf = |vf, mac, vlan_id, qos, spoof_check, trust| VfState {
            vf,
            mac: Some(mac),
            vlan_id: Some(vlan_id),
            qos: Some(qos),
            vlan_proto: Some(Proto::Dot1q),
            spoof_check: Some(spoof_check),
            trust: Some(trust),
            // igb has no ndo_set_vf_link_state: the kernel reports its zeroed default (auto).
            link_state: Some(LinkState::Auto),
            min_tx_rate: Some(0),
            max_tx_rate: Some(0),
        };
        assert_eq!(
            vfs,
            [
                vf(0, [0x02, 0x00, 0x5e, 0x10, 0x00, 0x10], 100, 3, true, true),
                vf(1, [0x02, 0x00, 0x5e, 0x10, 0x00, 0x11], 0, 0, true, false),
            ]
        );
        assert_eq!(
            describe(&vfs[0]),
            "vf 0 mac 02:00:5e:10:00:10 vlan 100 qos 3 proto 802.1Q max_tx_rate 0 min_tx_rate 0 \
             spoofchk on link-state auto trust on"
        );
    }

    fn request() -> VfRequest {
        VfRequest {
            vf: 1,
            mac: Some([0x02, 0x11, 0x22, 0x33, 0x00, 0x01]),
            vlan: Some((100, 3, Proto::Dot1q)),
            spoof_check: Some(false),
            trust: Some(true),
            link_state: None,
            rate: Some((0, 100)),
        }
    }

    /// The SETLINK bytes carry one IFLA_VFINFO_LIST with one IFLA_VF_INFO
    /// per VF, each with the attributes asked for, in the kernel's layout.
    #[test]
    fn setlink_encodes_every_vf_in_one_message() {
        let a = infos(&request()).into_iter().map(|(_, i)| i).collect::<Vec<_>>();
        let mut r2 = request();
        r2.vf = 2;
        let b = infos(&r2).into_iter().map(|(_, i)| i).collect::<Vec<_>>();
        let bytes = encode_setlink("eth0", 7, &[a, b]);
        // nlmsghdr: length, type RTM_SETLINK (19), flags REQUEST|ACK (5), seq 7.
        assert_eq!(
            u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize,
            bytes.len()
        );
        assert_eq!(u16::from_ne_bytes([bytes[4], bytes[5]]), 19);
        assert_eq!(u16::from_ne_bytes([bytes[6], bytes[7]]), 5);
        assert_eq!(u32::from_ne_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]), 7);
        // Decoding our own bytes gives the settings back, VF by VF.
        let msg = <NetlinkMessage<RouteNetlinkMessage>>::deserialize(&bytes).expect("decodes");
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::SetLink(link)) = msg.payload else {
            panic!("not a SETLINK")
        };
        assert!(link.attributes.contains(&LinkAttribute::IfName("eth0".into())));
        let states = vf_states(&link);
        assert_eq!(states.len(), 2);
        assert_eq!(states[0].mac, Some([0x02, 0x11, 0x22, 0x33, 0x00, 0x01]));
        assert_eq!(states[0].vlan_proto, Some(Proto::Dot1q));
        assert_eq!(states[0].max_tx_rate, Some(100));
        assert_eq!(states[0].spoof_check, Some(false));
        assert_eq!(states[0].trust, Some(true));
        assert_eq!(states[1].vf, 2);
        assert_eq!(
            describe(&states[0]),
            "vf 1 mac 02:11:22:33:00:01 proto 802.1Q max_tx_rate 100 min_tx_rate 0 spoofchk off trust on"
        );
    }

    #[test]
    fn getlink_asks_for_the_vfs() {
        let bytes = encode_getlink("eth0", 3);
        assert_eq!(u16::from_ne_bytes([bytes[4], bytes[5]]), 18, "RTM_GETLINK");
        let msg = <NetlinkMessage<RouteNetlinkMessage>>::deserialize(&bytes).expect("decodes");
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetLink(link)) = msg.payload else {
            panic!("not a GETLINK")
        };
        assert!(
            link.attributes
                .contains(&LinkAttribute::ExtMask(vec![LinkExtentMask::Vf]))
        );
    }

    #[test]
    fn an_error_reply_is_its_errno() {
        // nlmsgerr for EOPNOTSUPP: header (type NLMSG_ERROR 2), error -95, the
        // original header.
        let mut b = Vec::new();
        b.extend_from_slice(&36u32.to_ne_bytes());
        b.extend_from_slice(&2u16.to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        b.extend_from_slice(&7u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&(-Errno::OPNOTSUPP.raw_os_error()).to_ne_bytes());
        b.extend_from_slice(&[0u8; 16]);
        assert!(matches!(decode_reply(&b), Ok(Reply::Errno(e)) if e == Errno::OPNOTSUPP.raw_os_error()));
        assert!(decode_reply(&b[..10]).is_err());
        assert!(errno_text(Errno::OPNOTSUPP.raw_os_error()).starts_with("EOPNOTSUPP"));
        assert_eq!(errno_text(4242), "errno 4242");
    }
}
