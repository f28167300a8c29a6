//! End-to-end: a real Linux kernel in QEMU (TCG) with emulated SR-IOV hardware runs the static
//! binary (`tests/e2e/run.sh`, see `tests/e2e/README.md`). Each test is one guest boot.
//!
//! These tests never skip: without QEMU or the kernel they fail and say to run
//! `bash tests/e2e/setup.sh` (as root; `scripts/test-all.sh` does it). The binary comes from
//! `HARVESTER_SRIOV_STATIC_BIN`, else `scripts/build-static.sh` builds it. Boots run one at a
//! time (a 2-core machine, QEMU TCG uses both).

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use crate::support::repo;

/// One guest at a time.
static SERIAL: Mutex<()> = Mutex::new(());
static STATIC_BIN: OnceLock<PathBuf> = OnceLock::new();

fn serial() -> MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next boot is still valid.
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn static_bin() -> &'static PathBuf {
    STATIC_BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("HARVESTER_SRIOV_STATIC_BIN") {
            return PathBuf::from(bin);
        }
        let out = Command::new("bash")
            .arg(repo().join("scripts/build-static.sh"))
            .output()
            .expect("run scripts/build-static.sh");
        assert!(
            out.status.success(),
            "scripts/build-static.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// Fails (never skips) when the harness's prerequisites are missing.
fn preflight() {
    let setup = "run `bash tests/e2e/setup.sh` as root (scripts/test-all.sh does)";
    assert!(
        which::which("qemu-system-x86_64").is_ok(),
        "e2e: qemu-system-x86_64 is not installed: {setup}"
    );
    let version = repo().join("tests/e2e/cache/kernel.version");
    assert!(
        version.is_file(),
        "e2e: no kernel in tests/e2e/cache/ ({} missing): {setup}",
        version.display()
    );
    let bin = static_bin();
    assert!(bin.is_file(), "e2e: static binary {} not found", bin.display());
}

struct Boot {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Boot {
    fn assert_code(&self, want: i32) -> &Self {
        assert_eq!(
            self.code, want,
            "scenario exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
        self
    }

    fn assert_lines(&self, lines: &[&str]) -> &Self {
        for want in lines {
            assert!(
                self.stdout.lines().any(|l| l.contains(want)),
                "no line containing {want:?} in the guest output\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.stdout,
                self.stderr
            );
        }
        self
    }

    fn assert_no_failed_check(&self) -> &Self {
        let failed: Vec<&str> = self.stdout.lines().filter(|l| l.starts_with("FAIL:")).collect();
        assert!(
            failed.is_empty(),
            "failed checks in the guest: {failed:#?}\n{}",
            self.stderr
        );
        self
    }
}

/// Boots `tests/e2e/scenarios/<scenario>.sh` and returns its exit code and output.
fn boot(scenario: &str) -> Boot {
    let _one_at_a_time = serial();
    preflight();
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(repo().join("tests/e2e/run.sh"))
        .arg(scenario)
        .env("HARVESTER_SRIOV_STATIC_BIN", static_bin())
        .output()
        .expect("run tests/e2e/run.sh");
    let boot = Boot {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!("e2e {scenario}: exit {} in {:.1?}", boot.code, started.elapsed());
    // 2 = setup error, 3 = no result from the guest: the harness failed, not the scenario.
    assert!(
        boot.code != 2 && boot.code != 3,
        "e2e harness failure (exit {}) for {scenario}:\n{}",
        boot.code,
        boot.stderr
    );
    boot
}

#[test]
fn detect_finds_the_82576_pf_on_a_real_kernel() {
    boot("detect")
        .assert_code(0)
        .assert_no_failed_check()
        .assert_lines(&[
            "ok: detect --format json exit code = '0'",
            "ok: capability total_vfs = '8'",
            "ok: kernel total_vfs = '7'",
            "ok: kernel total_vfs vs sysfs sriov_totalvfs = '7'",
            "ok: driver vs sysfs driver link = 'igb'",
            "ok: interface vs sysfs net/ = 'eth0'",
            "\"driver\": \"igb\"",
            "ok: sysfs sriov_totalvfs with no driver = '8'",
            "e2e: all checks passed",
        ]);
}

#[test]
fn detect_on_a_conventional_pci_machine_exits_1_and_says_why() {
    boot("detect-pc")
        .assert_code(0)
        .assert_no_failed_check()
        .assert_lines(&[
            "ok: config space size = '256'",
            "ok: detect exit code = '1'",
            "no SR-IOV capable PCI function found",
            "ok: detect --format json exit code = '1'",
            "e2e: all checks passed",
        ]);
}

#[test]
fn kernel_creates_vfs_by_hand_and_binds_one_to_vfio() {
    boot("sriov-raw")
        .assert_code(0)
        .assert_no_failed_check()
        .assert_lines(&[
            "ok: sriov_numvfs = '4'",
            "ok: virtfn3 device = '0x10ca'",
            "ok: virtfn0 address = '0000:01:10.0'",
            "ok: virtfn0 driver = 'igbvf'",
            "ok: ERANGE message contains 'out of range'",
            "ok: EBUSY message contains 'busy'",
            "ok: virtfn0 driver after override = 'vfio-pci'",
            "ok: nvme virtfn1 exists",
            "ok: detect: 0000:01:00.0 num_vfs = '4'",
            "ok: virtfn0 is gone",
            "e2e: all checks passed",
        ]);
}

#[test]
fn harness_reports_the_scenario_exit_code_and_failed_checks() {
    boot("harness-exit")
        .assert_code(7)
        .assert_lines(&["FAIL: deliberately failed check", "harness-exit: about to exit 7"]);
}
