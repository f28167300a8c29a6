//! The real-kernel proof of the per-VF rtnetlink code (issue 19), compiled
//! only with the `vfproof` feature for `examples/vfproof.rs`: it calls
//! `kernel::netlink`'s own `Rtnl::set_vfs` / `Rtnl::get_vfs`, nothing else.
//! Not part of the tool's interface (no subcommand reaches it).
//!
//! ```text
//! vfproof set PF 'vf=0 mac=02:00:00:00:00:10 vlan=100 qos=3 spoofchk=off' 'vf=1 mac=…'
//! vfproof get PF
//! ```
//! `set` sends every argument after PF (one VF each) in one `set_vfs` call and
//! prints `set: round_trips=N ok`, or one `refused: …` line per error
//! (exit 1), then `set-time: us=N`, the microseconds `set_vfs` took (the
//! socket already open; scripts/bench-vf.sh reports it). `get` prints one `describe` line per VF and `reply-hex: …`, the
//! kernel's RTM_GETLINK reply as it came off the socket.

use crate::kernel::netlink::{LinkState, NetlinkError, Proto, Rtnl, VfRequest, describe};

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(format!("bad mac {s:?}"));
    }
    let mut mac = [0u8; 6];
    for (b, p) in mac.iter_mut().zip(parts) {
        *b = u8::from_str_radix(p, 16).map_err(|_| format!("bad mac {s:?}"))?;
    }
    Ok(mac)
}

fn on_off(v: &str) -> Result<bool, String> {
    match v {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("expected on|off, got {v:?}")),
    }
}

fn parse_request(spec: &str) -> Result<VfRequest, String> {
    let mut r = VfRequest::default();
    let (mut vlan, mut qos, mut proto) = (None, 0u8, Proto::Dot1q);
    for kv in spec.split_whitespace() {
        let (k, v) = kv
            .split_once('=')
            .ok_or(format!("expected key=value, got {kv:?}"))?;
        let num = |v: &str| v.parse::<u32>().map_err(|_| format!("{k}: bad number {v:?}"));
        match k {
            "vf" => r.vf = num(v)?,
            "mac" => r.mac = Some(parse_mac(v)?),
            "vlan" => vlan = Some(u16::try_from(num(v)?).map_err(|_| format!("bad vlan {v:?}"))?),
            "qos" => qos = u8::try_from(num(v)?).map_err(|_| format!("bad qos {v:?}"))?,
            "proto" => {
                proto = match v {
                    "802.1Q" => Proto::Dot1q,
                    "802.1ad" => Proto::Dot1ad,
                    _ => return Err(format!("bad proto {v:?}")),
                }
            }
            "spoofchk" => r.spoof_check = Some(on_off(v)?),
            "trust" => r.trust = Some(on_off(v)?),
            "state" => {
                r.link_state = Some(match v {
                    "auto" => LinkState::Auto,
                    "enable" => LinkState::Enable,
                    "disable" => LinkState::Disable,
                    _ => return Err(format!("bad link state {v:?}")),
                })
            }
            "max_tx_rate" => r.rate = Some((0, num(v)?)),
            _ => return Err(format!("unknown key {k:?}")),
        }
    }
    r.vlan = vlan.map(|id| (id, qos, proto));
    Ok(r)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn run(args: &[String]) -> Result<bool, String> {
    let (cmd, pf) = match args {
        [cmd, pf, ..] => (cmd.as_str(), pf.as_str()),
        _ => return Err("usage: vfproof set|get PF [VF-SPEC…]".into()),
    };
    let mut rtnl = Rtnl::open().map_err(|e| e.to_string())?;
    match cmd {
        "set" => {
            let reqs = args[2..]
                .iter()
                .map(|s| parse_request(s))
                .collect::<Result<Vec<_>, _>>()?;
            let start = std::time::Instant::now();
            let result = rtnl.set_vfs(pf, &reqs);
            let us = start.elapsed().as_micros();
            let n = rtnl.round_trips;
            let landed = match result {
                Ok(()) => {
                    println!("set: round_trips={n} ok");
                    true
                }
                Err(errors) => {
                    println!("set: round_trips={n} errors={}", errors.len());
                    for e in &errors {
                        let errno = match e {
                            NetlinkError::Refused { errno, .. } | NetlinkError::Request { errno, .. } => {
                                *errno
                            }
                            _ => 0,
                        };
                        println!("refused: errno={errno} {e}");
                    }
                    false
                }
            };
            println!("set-time: us={us}");
            Ok(landed)
        }
        "get" => {
            rtnl.capture = Some(Vec::new());
            let vfs = rtnl.get_vfs(pf).map_err(|e| e.to_string())?;
            for v in &vfs {
                println!("{}", describe(v));
            }
            for d in rtnl.capture.take().unwrap_or_default() {
                println!("reply-hex: {}", hex(&d));
            }
            Ok(true)
        }
        _ => Err(format!("unknown command {cmd:?}")),
    }
}

/// The example's whole work: 0 when every setting landed, 1 when the kernel
/// refused one (each refusal printed), 2 on a usage error.
pub fn main(args: &[String]) -> u8 {
    match run(args) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("vfproof: {e}");
            2
        }
    }
}
