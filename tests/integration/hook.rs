//! `hook`: the unattended installer entry point, driven as the real binary,
//! with the install config served over HTTP as Harvester's installer serves
//! nothing but names it: `HARVESTER_STREAMDISK_CLOUDINIT_URL` (the URL of
//! `install.config_url`), fetched with the real curl.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

use crate::support::repo;

const ENV: &str = "HARVESTER_STREAMDISK_CLOUDINIT_URL";
const LOG: &str = "oem/harvester-sriov/hook.log";

fn sysfs() -> PathBuf {
    repo().join("samples/sysfs/qemu-igb-2vfs")
}

/// The hook, with no URL inherited from the environment running the tests.
fn hook() -> Command {
    let mut c = Command::cargo_bin("harvester-sriov").unwrap();
    c.env_remove(ENV).arg("hook").arg("--sysfs").arg(sysfs());
    c
}

/// Every file under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = vec![];
    if root.exists() {
        walk(root, root, &mut out);
    }
    out.sort();
    out
}

fn read_log(root: &Path) -> String {
    std::fs::read_to_string(root.join(LOG)).unwrap_or_default()
}

/// curl is what the hook fetches with (Harvester's OS image has it).
fn need_curl() {
    let found = std::process::Command::new("curl").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "curl is needed by the hook tests: apt-get install curl"
    );
}

/// A tiny HTTP/1.1 server on 127.0.0.1 serving `files` by path (404
/// otherwise), for as long as the test process lives. Returns its base URL.
fn serve(files: BTreeMap<String, Vec<u8>>) -> String {
    need_curl();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let (status, body) = match files.get(&path) {
                Some(b) => ("200 OK", b.clone()),
                None => ("404 Not Found", b"not here\n".to_vec()),
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(&body);
        }
    });
    base
}

fn config_server(text: &str) -> String {
    let base = serve(BTreeMap::from([(
        "/harvester/config.yaml".to_owned(),
        text.as_bytes().to_vec(),
    )]));
    format!("{base}/harvester/config.yaml")
}

const APPLIES: &str = "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 2\n";

#[test]
fn config_from_the_installers_url_is_applied_under_oem_only_and_logged() {
    let url = config_server(APPLIES);
    let t = tempfile::tempdir().unwrap();
    hook()
        .env(ENV, &url)
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0)
        .stdout(contains(format!("install config: {url} (from {ENV})")))
        .stdout(contains("applying its sriov section"));
    assert_eq!(
        tree(t.path()),
        [
            "oem/95_harvester-sriov.yaml",
            "oem/harvester-sriov/harvester-sriov",
            "oem/harvester-sriov/hook.log",
            "oem/harvester-sriov/state.json",
        ],
        "the hook writes nothing into the image's /etc or /var"
    );
    let log = read_log(t.path());
    assert!(
        log.starts_with("== 20") && log.contains(" hook (exit 0)\n"),
        "{log}"
    );
    assert!(log.contains(&url) && log.contains("wrote "), "{log}");
}

#[test]
fn config_url_flag_is_used_too() {
    let url = config_server(APPLIES);
    let t = tempfile::tempdir().unwrap();
    hook()
        .arg("--config-url")
        .arg(&url)
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0);
    assert!(t.path().join("oem/harvester-sriov/state.json").is_file());
}

#[test]
fn no_url_exit_0_and_the_log_says_what_to_do() {
    let t = tempfile::tempdir().unwrap();
    for env in [None, Some("")] {
        let mut c = hook();
        if let Some(v) = env {
            c.env(ENV, v);
        }
        c.arg("--target")
            .arg(t.path())
            .assert()
            .code(0)
            .stdout(contains("no install config"));
    }
    assert_eq!(tree(t.path()), ["oem/harvester-sriov/hook.log"]);
    let log = read_log(t.path());
    assert_eq!(log.matches("== ").count(), 2, "one entry per run: {log}");
    assert!(log.contains("harvester-sriov configure --now"), "{log}");
}

#[test]
fn no_sriov_section_exit_0_logged() {
    let url = config_server("install:\n  mode: create\n");
    let t = tempfile::tempdir().unwrap();
    hook()
        .env(ENV, &url)
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0)
        .stdout(contains("no sriov section: nothing to do"));
    assert_eq!(tree(t.path()), ["oem/harvester-sriov/hook.log"]);
    assert!(read_log(t.path()).contains("no sriov section"));
}

#[test]
fn a_failed_download_exit_2_nothing_but_the_log() {
    let base = serve(BTreeMap::new());
    let t = tempfile::tempdir().unwrap();
    hook()
        .env(ENV, format!("{base}/missing.yaml"))
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(2)
        .stderr(contains("fetching the install config failed: curl exit 22"));
    assert_eq!(tree(t.path()), ["oem/harvester-sriov/hook.log"]);
    let log = read_log(t.path());
    assert!(
        log.contains("(exit 2)") && log.contains("error: ") && log.contains("curl exit 22"),
        "{log}"
    );
}

const UNMATCHED_RULE: &str = "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 2\n  devices:\n    - match: {address: \"0000:99:00.0\"}\n      num_vfs: 1\n";

#[test]
fn warning_exits_0_and_writes() {
    let url = config_server(UNMATCHED_RULE);
    let t = tempfile::tempdir().unwrap();
    hook()
        .env(ENV, &url)
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0)
        .stderr(contains("warning: sriov.devices[0]"));
    assert!(t.path().join("oem/harvester-sriov/state.json").is_file());
    assert!(read_log(t.path()).contains("warning: sriov.devices[0]"));
}

#[test]
fn strict_refuses_a_partial_setup_nothing_written_and_logged() {
    let url = config_server(UNMATCHED_RULE);
    let t = tempfile::tempdir().unwrap();
    hook()
        .env(ENV, &url)
        .arg("--target")
        .arg(t.path())
        .arg("--strict")
        .assert()
        .code(2)
        .stderr(contains("matches no SR-IOV function"))
        .stderr(contains("nothing written"));
    assert_eq!(tree(t.path()), ["oem/harvester-sriov/hook.log"]);
    let log = read_log(t.path());
    assert!(
        log.contains("hook --strict (exit 2)") && log.contains("--strict: 1 warning(s)"),
        "{log}"
    );
}

#[test]
fn no_usable_nic_is_a_warning() {
    // eth0 is the only SR-IOV NIC of the sample: as management NIC it is left
    // alone, in the lower-cased key forms Harvester saves too
    let url = config_server(
        "os:\n  hostname: n1\ninstall:\n  managementinterface:\n    interfaces:\n      - name: eth0\nsriov:\n  enabled: true\n",
    );
    let t = tempfile::tempdir().unwrap();
    hook()
        .env(ENV, &url)
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0)
        .stderr(contains("no SR-IOV NIC on this node can be used"));
}

#[test]
fn invalid_config_exit_2_names_the_key_target_unchanged_but_logged() {
    let t = tempfile::tempdir().unwrap();
    let cfg = t.path().join("config.yaml");
    std::fs::write(&cfg, "sriov:\n  enabled: true\n  num_vfs: eight\n").unwrap();
    hook()
        .arg("--target")
        .arg(t.path())
        .arg("--config")
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(contains("sriov.num_vfs"));
    assert_eq!(tree(t.path()), ["config.yaml", "oem/harvester-sriov/hook.log"]);
    assert!(read_log(t.path()).contains("sriov.num_vfs"));
}

#[test]
fn every_config_sample_applies_against_the_sample_sysfs() {
    let samples = repo().join("config-samples");
    let mut n = 0;
    for e in std::fs::read_dir(&samples).unwrap() {
        let cfg = e.unwrap().path();
        if cfg.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        n += 1;
        // A copy of the sysfs tree: the hook must never depend on writing to it.
        let sys = tempfile::tempdir().unwrap();
        copy_tree(&sysfs(), sys.path());
        let t = tempfile::tempdir().unwrap();
        let mut c = Command::cargo_bin("harvester-sriov").unwrap();
        c.env_remove(ENV)
            .arg("hook")
            .arg("--sysfs")
            .arg(sys.path())
            .arg("--target")
            .arg(t.path())
            .arg("--config")
            .arg(&cfg)
            .assert()
            .code(0);
        let files = tree(t.path());
        for want in [
            "oem/95_harvester-sriov.yaml",
            "oem/harvester-sriov/state.json",
            "oem/harvester-sriov/harvester-sriov",
            "oem/harvester-sriov/hook.log",
        ] {
            assert!(
                files.iter().any(|f| f == want),
                "{}: {want} missing in {files:?}",
                cfg.display()
            );
        }
        assert!(files.iter().all(|f| f.starts_with("oem/")), "{files:?}");
        // the hand-off (a per-node or per-policy file) is written at boot by the yip file
        let yip = std::fs::read_to_string(t.path().join("oem/95_harvester-sriov.yaml")).unwrap();
        assert!(
            yip.contains("path: \"/var/lib/rancher/rke2/server/manifests/harvester-sriov-"),
            "{}: no hand-off file in the yip file",
            cfg.display()
        );
        let state = std::fs::read_to_string(t.path().join("oem/harvester-sriov/state.json")).unwrap();
        assert!(
            state.contains("\"address\": \"0000:01:00.0\""),
            "{}",
            cfg.display()
        );
    }
    assert!(n >= 5, "only {n} samples");
}

/// Copy a directory tree, keeping symlinks as symlinks (sysfs is made of them).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// The commands of a snippet: yip stages, or a Harvester config fragment's
/// `os.after_install_chroot_commands`.
fn snippet_commands(f: &Path, doc: &serde_yaml::Value) -> Vec<String> {
    let mut commands: Vec<String> = vec![];
    if let Some(stages) = doc.get("stages") {
        let stages = stages.as_mapping().expect("stages: a mapping");
        for (_, steps) in stages {
            for step in steps.as_sequence().expect("a stage is a list") {
                assert!(
                    step.get("name").and_then(|v| v.as_str()).is_some(),
                    "{}",
                    f.display()
                );
                for c in step["commands"].as_sequence().expect("commands: a list") {
                    commands.push(c.as_str().expect("a command is text").to_owned());
                }
            }
        }
    }
    if let Some(list) = doc.get("os").and_then(|o| o.get("after_install_chroot_commands")) {
        for c in list.as_sequence().expect("after_install_chroot_commands: a list") {
            commands.push(c.as_str().expect("a command is text").to_owned());
        }
    }
    commands
}

/// The chroot stage of a snippet, run for real with `sh` as elemental runs
/// it (`sh -c COMMAND`, one after the other, statuses ignored), with the
/// installer's variable set, the binary and the snippet itself (as the raw
/// install config) served over HTTP, and its absolute paths moved into a
/// scratch root (`/oem/` -> ROOT/oem/; `hook` gets `--target ROOT --sysfs
/// SAMPLE`): the result is the files under ROOT/oem, the download gone.
fn run_snippet(f: &Path, commands: &[String], binary: Option<&[u8]>) -> (tempfile::TempDir, String) {
    let text = std::fs::read_to_string(f).unwrap();
    let mut files = BTreeMap::from([("/harvester/config.yaml".to_owned(), text.into_bytes())]);
    if let Some(b) = binary {
        files.insert("/harvester/harvester-sriov".to_owned(), b.to_vec());
    }
    let base = serve(files);
    let root = tempfile::tempdir().unwrap();
    let r = root.path().display().to_string();
    let mut said = String::new();
    for c in commands {
        assert!(
            c.contains("http://10.0.0.1/"),
            "{}: serve by IP: {c}",
            f.display()
        );
        assert!(
            c.contains(".download hook"),
            "{}: the hook runs as the download: {c}",
            f.display()
        );
        let c = c
            .replace("http://10.0.0.1", &base)
            .replace("/oem/", &format!("{r}/oem/"))
            .replace(
                ".download hook",
                &format!(".download hook --target {r} --sysfs {}", sysfs().display()),
            );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&c)
            .env(ENV, format!("{base}/harvester/config.yaml"))
            .output()
            .unwrap();
        said.push_str(&String::from_utf8_lossy(&out.stdout));
        said.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    (root, said)
}

/// Every snippet of `installer-hooks/` is valid YAML of the shape its
/// consumer reads, its commands pass `sh -n`, its `sriov` section is accepted,
/// and its chroot commands, run for real, leave the configured node under
/// /oem (and, with the binary's download failing, a line in hook.log).
#[test]
fn installer_hook_snippets_parse() {
    let dir = repo().join("installer-hooks");
    let program = std::fs::read(assert_cmd::cargo::cargo_bin("harvester-sriov")).unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let f = e.unwrap().path();
        if f.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        n += 1;
        let text = std::fs::read_to_string(&f).unwrap();
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let commands = snippet_commands(&f, &doc);
        for c in &commands {
            let ok = std::process::Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(c)
                .status()
                .unwrap();
            assert!(ok.success(), "{}: not valid sh: {c}", f.display());
        }
        let has_sriov = doc.get("sriov").is_some() || doc.get("sriov-config").is_some();
        assert!(
            has_sriov || !commands.is_empty(),
            "{}: neither commands nor an sriov section",
            f.display()
        );
        if has_sriov {
            // The section as the hook reads it, against the sample tree.
            let t = tempfile::tempdir().unwrap();
            hook()
                .arg("--target")
                .arg(t.path())
                .arg("--config")
                .arg(&f)
                .assert()
                .code(0);
        }
        if commands.is_empty() {
            continue;
        }
        // The chroot stage for real.
        let (root, said) = run_snippet(&f, &commands, Some(&program));
        let files = tree(root.path());
        assert_eq!(
            files,
            [
                "oem/95_harvester-sriov.yaml",
                "oem/harvester-sriov/harvester-sriov",
                "oem/harvester-sriov/hook.log",
                "oem/harvester-sriov/state.json",
            ],
            "{}: {said}",
            f.display()
        );
        let log = read_log(root.path());
        assert!(
            log.contains("(exit 0)")
                && log.contains("/harvester/config.yaml (from HARVESTER_STREAMDISK_CLOUDINIT_URL)"),
            "{}: {log}",
            f.display()
        );
        // The binary cannot be downloaded: the node keeps a line saying so.
        let (root, said) = run_snippet(&f, &commands, None);
        assert_eq!(
            tree(root.path()),
            ["oem/harvester-sriov/hook.log"],
            "{}: {said}",
            f.display()
        );
        let log = read_log(root.path());
        assert!(
            log.contains("harvester-sriov: the download or the hook failed (exit 22): SR-IOV not configured"),
            "{}: {log}",
            f.display()
        );
    }
    assert!(n >= 3, "only {n} snippets");
}

/// A server on 127.0.0.1 that accepts every connection, reads the request
/// and then says nothing, holding the connection for `hold` at most.
fn silent_server(hold: std::time::Duration) -> String {
    need_curl();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(hold));
                let mut sink = [0u8; 4096];
                let started = std::time::Instant::now();
                while started.elapsed() < hold {
                    match std::io::Read::read(&mut &conn, &mut sink) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e)
                            if e.kind() == std::io::ErrorKind::WouldBlock
                                || e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => break,
                    }
                }
            });
        }
    });
    base
}

/// Issue 15 item 1: a config server that is up but never answers ends the
/// hook within its stated bound, with one error line saying "timed out".
#[test]
fn a_silent_server_times_out_within_the_bound_one_line() {
    let base = silent_server(std::time::Duration::from_secs(120));
    let t = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = hook()
        .env(ENV, format!("{base}/harvester/config.yaml"))
        .arg("--target")
        .arg(t.path())
        .timeout(std::time::Duration::from_secs(70))
        .output()
        .unwrap();
    let took = started.elapsed().as_secs();
    assert_eq!(out.status.code(), Some(2), "took {took} s: {out:?}");
    // docs/install.md: the hook's fetch waits at most 50 s.
    assert!(took <= 52, "took {took} s");
    assert_eq!(tree(t.path()), ["oem/harvester-sriov/hook.log"]);
    let log = read_log(t.path());
    let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(errors[0].contains("timed out"), "{log}");
    assert!(!errors[0].contains("no route"), "{log}");
    assert_eq!(log.matches("curl: (28)").count(), 1, "{log}");
}

/// Issue 15 item 2: a chunked answer without a length is cut at the 4 MiB
/// limit while it is read, not read whole first.
#[test]
fn a_chunked_answer_is_cut_at_the_limit_while_reading() {
    need_curl();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (sent_tx, sent_rx) = std::sync::mpsc::channel::<u64>();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
        }
        let _ = conn.set_write_timeout(Some(std::time::Duration::from_secs(5)));
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/yaml\r\n\r\n"
        );
        // Up to 1 GiB in 64 KiB chunks of comment lines, for 60 s at most.
        let chunk = {
            let mut c = b"# padding ".repeat(6553);
            c.extend_from_slice(b"\n\n\n\n\n\n");
            c
        };
        let mut sent = 0u64;
        let started = std::time::Instant::now();
        while sent < 1 << 30 && started.elapsed().as_secs() < 60 {
            let head = format!("{:x}\r\n", chunk.len());
            if conn.write_all(head.as_bytes()).is_err()
                || conn.write_all(&chunk).is_err()
                || conn.write_all(b"\r\n").is_err()
            {
                break;
            }
            sent += chunk.len() as u64;
        }
        let _ = sent_tx.send(sent);
    });
    let t = tempfile::tempdir().unwrap();
    let out = hook()
        .env(ENV, format!("{base}/harvester/config.yaml"))
        .arg("--target")
        .arg(t.path())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("larger than 4194304 bytes"), "{stderr}");
    let sent = sent_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the server stops when the hook hangs up");
    // Read up to the limit, then hung up: what the server got out is the
    // limit plus what the pipes and socket buffers hold, far below 1 GiB.
    assert!(sent < 64 << 20, "the server sent {sent} bytes");
    assert_eq!(tree(t.path()), ["oem/harvester-sriov/hook.log"]);
}

/// The value after `flag` in a curl command line.
fn curl_flag(c: &str, flag: &str) -> Option<u64> {
    let mut words = c.split_whitespace();
    words.find(|w| *w == flag)?;
    words.next()?.parse().ok()
}

/// Issue 15 item 1: every snippet's download is bounded (connect timeout,
/// time per try, counted retries), its bound plus the hook's 50 s is the
/// total docs/install.md states, and against a silent server (the times scaled
/// down, the same commands) the node keeps a line saying "timed out".
#[test]
fn every_snippet_download_is_bounded_and_a_silent_server_is_logged_as_timed_out() {
    const HOOK_BOUND: u64 = 50;
    let readme = std::fs::read_to_string(repo().join("docs/install.md")).unwrap();
    let dir = repo().join("installer-hooks");
    let base = silent_server(std::time::Duration::from_secs(30));
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let f = e.unwrap().path();
        if f.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for c in snippet_commands(&f, &doc).iter().filter(|c| c.contains("curl ")) {
            n += 1;
            let (Some(connect), Some(per_try), Some(retries), Some(delay)) = (
                curl_flag(c, "--connect-timeout"),
                curl_flag(c, "--max-time"),
                curl_flag(c, "--retry"),
                curl_flag(c, "--retry-delay"),
            ) else {
                panic!("{}: unbounded curl: {c}", f.display());
            };
            assert!(connect <= per_try, "{c}");
            let bound = per_try * (retries + 1) + delay * retries;
            let total = bound + HOOK_BOUND;
            assert!(
                readme.contains(&format!("at most {bound} s"))
                    && readme.contains(&format!("waits at most {total} s for the network")),
                "{}: docs/install.md must state the download's {bound} s and the total {total} s",
                f.display()
            );
            // The same command, against a server that accepts and says nothing.
            let root = tempfile::tempdir().unwrap();
            let r = root.path().display().to_string();
            let c = c
                .replace("http://10.0.0.1", &base)
                .replace(&format!("--max-time {per_try}"), "--max-time 1")
                .replace(&format!("--retry-delay {delay}"), "--retry-delay 1")
                .replace("/oem/", &format!("{r}/oem/"));
            let started = std::time::Instant::now();
            let out = std::process::Command::new("timeout")
                .args(["30", "sh", "-c", &c])
                .env(ENV, format!("{base}/harvester/config.yaml"))
                .output()
                .unwrap();
            let took = started.elapsed().as_secs();
            assert!(took < 15, "{}: took {took} s: {out:?}", f.display());
            assert_eq!(
                tree(root.path()),
                ["oem/harvester-sriov/hook.log"],
                "{}",
                f.display()
            );
            let log = read_log(root.path());
            assert_eq!(log.lines().count(), 1, "{log}");
            assert!(
                log.contains("the download or the hook failed (exit 28: timed out): SR-IOV not configured"),
                "{}: {log}",
                f.display()
            );
        }
    }
    assert!(n >= 2, "only {n} downloads");
}

/// The yip file the installer hands `elemental install` as its cloud-init,
/// copied to the OEM partition as 90_custom.yaml before the chroot stage
/// (harvester/harvester-installer:pkg/config/cos.go `ConvertToCOS`:
/// `network` carries the host name, and `initramfs` too but for `install`
/// mode). Abridged to the keys that matter here.
const INSTALLER_COS: &str = "name: Harvester Configuration\nstages:\n  initramfs:\n  - users:\n      rancher:\n        passwd: x\n    hostname: harvester-x7k2p\n  network:\n  - hostname: harvester-x7k2p\n    authorized_keys: {}\n";

/// Issue 15 item 8: without os.hostname, the node is named as the installer
/// named it: the host name in its cloud-config (/oem/90_custom.yaml in the
/// chroot), not the chroot's kernel host name; hook.log says where it came from.
#[test]
fn without_os_hostname_the_installers_chosen_name_is_used() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("oem")).unwrap();
    std::fs::write(t.path().join("oem/90_custom.yaml"), INSTALLER_COS).unwrap();
    let url = config_server("sriov:\n  enabled: true\n  num_vfs: 2\n");
    hook()
        .env(ENV, &url)
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0);
    let state = std::fs::read_to_string(t.path().join("oem/harvester-sriov/state.json")).unwrap();
    assert!(state.contains("\"node\": \"harvester-x7k2p\""), "{state}");
    let log = read_log(t.path());
    assert!(log.contains("node name: harvester-x7k2p (no os.hostname in the config: the host name the installer chose, from /oem/90_custom.yaml)"), "{log}");
}

/// Issue 15 item 8: when the live system is `rancher` and the installer's
/// cloud-config names no host (the installer then picks a random
/// `harvester-XXXXX`), the hook does not guess: nothing written, hook.log
/// says the name cannot be known. Run in a UTS namespace named `rancher`.
#[test]
fn a_node_name_that_cannot_be_known_is_said_not_guessed() {
    let t = tempfile::tempdir().unwrap();
    let url = config_server("sriov:\n  enabled: true\n  num_vfs: 2\n");
    let program = assert_cmd::cargo::cargo_bin("harvester-sriov");
    let out = std::process::Command::new("unshare")
        .args(["--uts", "sh", "-c", "hostname rancher && exec \"$@\"", "sh"])
        .arg(&program)
        .args(["hook", "--sysfs"])
        .arg(sysfs())
        .arg("--target")
        .arg(t.path())
        .env(ENV, &url)
        .output()
        .expect("unshare (util-linux) runs this test, as root");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(tree(t.path()), ["oem/harvester-sriov/hook.log"]);
    let log = read_log(t.path());
    assert!(
        log.contains("error: the node name cannot be known") && log.contains("set os.hostname"),
        "{log}"
    );
}

/// A rule that matches a function an earlier rule took is shadowed, not
/// unmatched: `--strict` refuses it for that reason, by the earlier rule's index.
#[test]
fn strict_names_a_shadowed_rule_as_shadowed() {
    let url = config_server(
        "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 2\n  devices:\n    - match: {vendor: \"8086\"}\n      num_vfs: 1\n    - match: {vendor: \"8086\", device: \"10c9\"}\n      num_vfs: 2\n",
    );
    let t = tempfile::tempdir().unwrap();
    hook()
        .env(ENV, &url)
        .arg("--target")
        .arg(t.path())
        .arg("--strict")
        .assert()
        .code(2)
        .stderr(contains(
            "sriov.devices[1] (match {vendor: 8086, device: 10c9}) is shadowed by sriov.devices[0]",
        ))
        .stderr(contains("matches no SR-IOV function").not());
    assert_eq!(tree(t.path()), ["oem/harvester-sriov/hook.log"]);
}

/// Issue 16 item 11: a user name, password or query token in the config's
/// URL is used by curl but never shown nor written into hook.log.
#[test]
fn credentials_in_the_config_url_are_not_logged() {
    let base = serve(BTreeMap::from([(
        "/harvester/config.yaml?token=abc123&v=2".to_owned(),
        APPLIES.as_bytes().to_vec(),
    )]));
    let url = base.replace("http://", "http://admin:s3cret@") + "/harvester/config.yaml?token=abc123&v=2";
    let shown = base.replace("http://", "http://***@") + "/harvester/config.yaml?token=***&v=***";
    let t = tempfile::tempdir().unwrap();
    let out = hook()
        .env(ENV, &url)
        .arg("--target")
        .arg(t.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        t.path().join("oem/harvester-sriov/state.json").is_file(),
        "{stdout}"
    );
    let log = read_log(t.path());
    for text in [&*stdout, &*log] {
        assert!(
            text.contains(&format!("install config: {shown} (from {ENV})")),
            "{text}"
        );
        assert!(!text.contains("s3cret") && !text.contains("abc123"), "{text}");
    }
    // a failed download names the URL the same way
    let bad = base.replace("http://", "http://admin:s3cret@") + "/nothere?token=abc123";
    let out = hook()
        .env(ENV, &bad)
        .arg("--target")
        .arg(t.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = String::from_utf8_lossy(&out.stderr).into_owned() + &read_log(t.path());
    assert!(
        all.contains("http://***@") && !all.contains("s3cret") && !all.contains("abc123"),
        "{all}"
    );
}

/// Issue 16 item 11: on a read-only target the warning about hook.log
/// says why (it said "cannot append to;" and no cause). The read-only
/// mount is made in a user and mount namespace, as upgrade.rs does.
#[test]
fn a_log_that_cannot_be_written_is_warned_about_with_its_cause() {
    let t = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_harvester-sriov");
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg("mount -t tmpfs -o ro tmpfs \"$2\" && env -u HARVESTER_STREAMDISK_CLOUDINIT_URL \"$1\" hook --target \"$2\"")
        .args(["sh", bin])
        .arg(t.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: could not record this run in /oem/harvester-sriov/hook.log: ")
            && stderr.contains("check that the target is mounted read-write")
            && stderr.contains("Read-only file system (os error 30)"),
        "{stderr}"
    );
}
