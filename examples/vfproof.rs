//! Runs `harvester_sriov::vfproof` (feature `vfproof`): the per-VF rtnetlink
//! code on a real kernel, in the QEMU igb guest of
//! `tests/e2e/scenarios/vf-netlink.sh`. See `src/vfproof.rs` for the commands.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::ExitCode::from(harvester_sriov::vfproof::main(&args))
}
