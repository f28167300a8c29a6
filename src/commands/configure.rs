//! `configure`: the console prompt as a command. It asks (through
//! [`Prompter`]), builds an `sriov` section from the answers, and hands it
//! to the same [`Pipeline`] and [`write_out`] as `apply --config`. Nothing
//! is written before the last confirmation, so Ctrl-C or Esc at any question
//! leaves the target (and `--save`) untouched.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::ExitCode;
use crate::cli::ConfigureArgs;
use crate::commands::apply::boot_now;
use crate::console::wizard::{DialoguerPrompter, Flow, Prompter, wizard};
use crate::intent::config::{self, InstallConfig};
use crate::pipeline::{Pipeline, Target, write_files};
use crate::render::answers::render_answers;
use crate::report::describe::describe;
use crate::scan::sysfs::{self, ScanOptions};
use crate::write::answers::{check_save_path, save_answers};

/// `configure`'s options, built once from its flags.
pub(crate) struct Options {
    /// Where the NICs are read and the files go.
    pub(crate) target: Target,
    /// An install config to pre-fill the answers from.
    pub(crate) config: Option<PathBuf>,
    /// Where to save the answers as a `sriov:` section too.
    pub(crate) save: Option<PathBuf>,
    pub(crate) dry_run: bool,
    pub(crate) now: bool,
}

impl From<&ConfigureArgs> for Options {
    fn from(args: &ConfigureArgs) -> Self {
        Options {
            target: Target::new(&args.sysfs, &args.target),
            config: args.config.clone(),
            save: args.save.clone(),
            dry_run: args.dry_run,
            now: args.now,
        }
    }
}

/// Set after the last confirmation: a SIGINT no longer cancels.
static WRITING: AtomicBool = AtomicBool::new(false);

/// The whole command on a real terminal.
pub(crate) fn run(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if !io::stdin().is_terminal() {
        writeln!(
            err,
            "harvester-sriov configure: stdin is not a terminal, so there is nobody to ask; \
             for an unattended install use `harvester-sriov apply --config FILE` (or `hook`)"
        )?;
        return Ok(ExitCode::Error);
    }
    // Ctrl-C while the terminal is in raw mode reaches dialoguer as a key
    // (an `Interrupted` error); between two reads the terminal is cooked and
    // it arrives as SIGINT. Until the last confirmation nothing is written,
    // so then: one line, exit 130. Once writing has begun, it is let finish.
    catch_ctrl_c(err)?;
    let mut p = DialoguerPrompter::new();
    let code = run_with(opts, &mut p, out, err);
    // dialoguer hides the cursor in its lists; give it back whatever happened.
    let _ = dialoguer::console::Term::stderr().show_cursor();
    code
}

/// Make a SIGINT between two questions exit 130 with nothing written. If
/// the handler cannot be installed, say so: Ctrl-C then still stops the
/// program (nothing is written before the last confirmation), but with the
/// default signal exit instead of the message and 130.
fn catch_ctrl_c(err: &mut dyn Write) -> io::Result<()> {
    let installed = ctrlc::set_handler(|| {
        if !WRITING.load(Ordering::SeqCst) {
            let _ = dialoguer::console::Term::stderr().show_cursor();
            eprintln!("\nharvester-sriov configure: cancelled, nothing written");
            std::process::exit(i32::from(ExitCode::Interrupted.code()));
        }
    });
    if let Err(e) = installed {
        writeln!(
            err,
            "warning: cannot catch Ctrl-C ({e}): Ctrl-C between questions ends the program without the usual message"
        )?;
    }
    Ok(())
}

/// The command with any [`Prompter`]: scan, ask, confirm, write.
pub(crate) fn run_with(
    opts: &Options,
    p: &mut dyn Prompter,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    // On an installed node, the installer's saved config names the
    // management NIC and the host name (it has no `sriov:` section); read
    // through the writer's resolver, like every read of the target.
    let root = &opts.target.root;
    let saved = match &opts.config {
        // a missing target is reported when writing, after the questions
        None if root.is_dir() => crate::write::open_file(root, Path::new("/oem/harvester.config"))?,
        _ => None,
    };
    let cfg = match (&opts.config, saved) {
        (Some(f), _) => config::load(f)?,
        (None, Some((host, file))) => match config::load_from(&host, file) {
            Ok(c) => {
                writeln!(out, "management NIC and node name from {}", host.display())?;
                c
            }
            Err(e) => {
                writeln!(
                    err,
                    "warning: {e}: the management NIC is not known, check the NICs offered"
                )?;
                InstallConfig {
                    file: PathBuf::from("(configure)"),
                    ..InstallConfig::default()
                }
            }
        },
        (None, None) => InstallConfig {
            file: PathBuf::from("(configure)"),
            ..InstallConfig::default()
        },
    };
    if let Some(s) = &opts.save {
        check_save_path(s)?;
    }
    let inventory = sysfs::scan(&opts.target.sysfs, ScanOptions::default())?;
    match wizard(&inventory, &cfg, p, out)? {
        Flow::Cancel => {
            writeln!(err, "harvester-sriov configure: cancelled, nothing written")?;
            Ok(ExitCode::Interrupted)
        }
        Flow::Go(None) => Ok(ExitCode::Success),
        Flow::Go(Some(sriov)) => {
            // the answers replace the config's sriov section (and its warnings)
            let intent = cfg.with_sriov(sriov);
            // The answers stay on the node, next to the state.
            let pl = Pipeline::for_answers(inventory, &intent, root, opts.now)?;
            writeln!(out, "\nThe plan:")?;
            out.write_all(describe(pl.plan()).as_bytes())?;
            crate::pipeline::warn(out, &pl)?;
            if !intent.sriov.enabled {
                writeln!(out, "{}", still_written(&pl))?;
            }
            out.flush()?;
            let q = if opts.dry_run {
                "Show the files (dry run, nothing written)?".to_owned()
            } else {
                format!("Write these files into {}?", root.display())
            };
            let yes = match p.confirm(&q, true) {
                Ok(Some(y)) => y,
                Ok(None) => false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                Err(e) => return Err(e.into()),
            };
            if !yes {
                writeln!(err, "harvester-sriov configure: cancelled, nothing written")?;
                return Ok(ExitCode::Interrupted);
            }
            // From here on, and only here, things are written.
            WRITING.store(true, Ordering::SeqCst);
            // the plan and its warnings were shown above: not twice
            write_files(&pl, root, opts.dry_run, out)?;
            let mut code = ExitCode::Success;
            if opts.now && !opts.dry_run {
                code = boot_now(&pl, &opts.target, out)?;
            } else if !opts.dry_run
                && let Some(line) =
                    crate::commands::apply::who_creates_the_vfs(pl.plan(), root == Path::new("/"))
            {
                writeln!(out, "{line}")?;
            }
            if let Some(save) = &opts.save {
                save_answers(save, &render_answers(&intent.sriov)?)?;
                writeln!(
                    out,
                    "answers saved to {} (use: {})",
                    save.display(),
                    crate::shell::command(["harvester-sriov", "apply", "--config", &save.to_string_lossy()])
                )?;
            }
            Ok(code)
        }
    }
}

/// What a "no" to "Enable SR-IOV on this node?" still writes, said before
/// the last question. They are written on purpose: on a node configured
/// before, the disabled state replaces the earlier plan (else its VFs would
/// still be made at every boot); the capability label is what
/// `sriov.enabled: false` gives (docs/node-files.md: the label file); the answers
/// pre-fill the next `configure`. The last question still writes nothing
/// on "no".
fn still_written(pl: &Pipeline) -> String {
    let mut s = String::from("Writing still records this answer:\n");
    for f in pl.files() {
        s += &format!("  {}\n", f.path.display());
    }
    s += "(the state says SR-IOV is off: no VFs are made at boot; the answers\n pre-fill the next configure)\n";
    for (k, v) in &pl.plan().labels {
        s += &format!("and the yip file gives the node the label {k}={v}\n");
    }
    s + "To write nothing, answer no below; `harvester-sriov remove` takes out\nwhat an earlier run wrote."
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use std::path::Path;

    use super::*;
    use crate::intent::answers::ANSWERS_MARKER;

    /// One scripted keypress-level answer.
    #[derive(Debug, Clone)]
    enum A {
        /// Enter: take the default.
        Enter,
        Yes,
        No,
        Esc,
        CtrlC,
        Pick(Vec<usize>),
        Text(&'static str),
        One(usize),
    }

    #[derive(Default)]
    struct Script {
        answers: VecDeque<A>,
        asked: Vec<String>,
        refused: Vec<String>,
    }

    impl Script {
        fn new(a: &[A]) -> Self {
            Script {
                answers: a.iter().cloned().collect(),
                ..Script::default()
            }
        }
        fn next(&mut self, prompt: &str) -> io::Result<A> {
            self.asked.push(prompt.to_owned());
            match self.answers.pop_front() {
                Some(A::CtrlC) => Err(io::Error::new(io::ErrorKind::Interrupted, "^C")),
                Some(a) => Ok(a),
                None => panic!("no scripted answer for {prompt:?}"),
            }
        }
    }

    impl Prompter for Script {
        fn confirm(&mut self, prompt: &str, default: bool) -> io::Result<Option<bool>> {
            Ok(match self.next(prompt)? {
                A::Enter => Some(default),
                A::Yes => Some(true),
                A::No => Some(false),
                A::Esc => None,
                a => panic!("{a:?} to a yes/no question"),
            })
        }
        fn select_many(
            &mut self,
            prompt: &str,
            _: &[String],
            checked: &[bool],
        ) -> io::Result<Option<Vec<usize>>> {
            Ok(match self.next(prompt)? {
                A::Enter => Some((0..checked.len()).filter(|&i| checked[i]).collect()),
                A::Pick(v) => Some(v),
                A::Esc => None,
                a => panic!("{a:?} to a multi-select"),
            })
        }
        fn input_count(
            &mut self,
            prompt: &str,
            default: u16,
            validate: &dyn Fn(&str) -> Result<u16, String>,
        ) -> io::Result<Option<u16>> {
            loop {
                let text = match self.next(prompt)? {
                    A::Enter => default.to_string(),
                    A::Text(t) => t.to_owned(),
                    a => panic!("{a:?} to a number"),
                };
                match validate(&text) {
                    Ok(v) => return Ok(Some(v)),
                    Err(e) => self.refused.push(e),
                }
            }
        }
        fn select_one(&mut self, prompt: &str, _: &[String], default: usize) -> io::Result<Option<usize>> {
            Ok(match self.next(prompt)? {
                A::Enter => Some(default),
                A::One(i) => Some(i),
                A::Esc => None,
                a => panic!("{a:?} to a select"),
            })
        }
    }

    fn sample() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/sysfs/qemu-igb-2vfs")
    }

    fn opts(target: &Path, config: Option<PathBuf>, save: Option<PathBuf>) -> Options {
        Options {
            target: Target {
                sysfs: sample(),
                root: target.to_owned(),
            },
            config,
            save,
            dry_run: false,
            now: false,
        }
    }

    fn cfg_file(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("config.yaml");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p
    }

    /// Run the wizard into `o.target` (created empty first: the writer
    /// refuses a missing target root).
    fn go(o: &Options, s: &mut Script) -> (ExitCode, String, String) {
        std::fs::create_dir_all(&o.target.root).unwrap_or_else(|e| panic!("{e}"));
        let (mut out, mut err) = (vec![], vec![]);
        let code = run_with(o, s, &mut out, &mut err).unwrap_or_else(|e| panic!("{e:#}"));
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    fn empty(dir: &Path) -> bool {
        std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none())
    }

    fn state_path(root: &Path) -> PathBuf {
        root.join(crate::layout::STATE_PATH.trim_start_matches('/'))
    }

    /// The state file, which must have been written.
    fn state(root: &Path) -> String {
        let p = state_path(root);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    const HOST: &str = "os:\n  hostname: node-a\n";

    #[test]
    fn yes_then_enter_everywhere_gives_a_valid_plan() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let c = cfg_file(d.path(), HOST);
        let mut s = Script::new(&[A::Yes, A::Enter, A::Enter, A::Enter, A::Enter, A::Enter]);
        let (code, out, _) = go(&opts(&t, Some(c), None), &mut s);
        assert_eq!(code, ExitCode::Success, "{out}");
        assert!(out.contains("eth0"), "{out}");
        // default: min(8, kernel total 7) = 7, vfio-pci, pcidevices
        let st = state(&t);
        assert!(st.contains("\"num_vfs\": 7"), "{st}");
        assert!(st.contains("\"device_type\": \"vfio-pci\""), "{st}");
        assert!(st.contains("\"operator\": \"pcidevices\""), "{st}");
        assert_eq!(s.asked.len(), 6, "{:?}", s.asked);
    }

    #[test]
    fn refused_count_is_asked_again() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let c = cfg_file(d.path(), HOST);
        let mut s = Script::new(&[
            A::Yes,
            A::Enter,
            A::Text("9"),
            A::Text("zero"),
            A::Text("0"),
            A::Text("3"),
            A::One(1),
            A::One(2),
            A::Yes,
        ]);
        let (code, _, _) = go(&opts(&t, Some(c), None), &mut s);
        assert_eq!(code, ExitCode::Success);
        assert_eq!(s.refused.len(), 3, "{:?}", s.refused);
        assert!(s.refused[0].contains("from 1 to 7"));
        let st = state(&t);
        assert!(
            st.contains("\"num_vfs\": 3") && st.contains("\"netdevice\"") && st.contains("\"none\""),
            "{st}"
        );
    }

    #[test]
    fn esc_or_ctrl_c_anywhere_writes_nothing() {
        let scripts: Vec<Vec<A>> = vec![
            vec![A::Esc],
            vec![A::CtrlC],
            vec![A::Yes, A::Esc],
            vec![A::Yes, A::Enter, A::CtrlC],
            vec![A::Yes, A::Enter, A::Enter, A::Esc],
            vec![A::Yes, A::Enter, A::Enter, A::Enter, A::CtrlC],
            vec![A::Yes, A::Enter, A::Enter, A::Enter, A::Enter, A::Esc],
            vec![A::Yes, A::Enter, A::Enter, A::Enter, A::Enter, A::No],
        ];
        for sc in scripts {
            let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let t = d.path().join("t");
            let save = d.path().join("answers.yaml");
            let c = cfg_file(d.path(), HOST);
            let mut s = Script::new(&sc);
            let (code, _, err) = go(&opts(&t, Some(c), Some(save.clone())), &mut s);
            assert_eq!(code, ExitCode::Interrupted, "{sc:?}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(empty(&t) && !save.exists(), "{sc:?} wrote something");
        }
    }

    #[test]
    fn unchosen_nic_is_turned_off_by_a_rule() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let save = d.path().join("a.yaml");
        let c = cfg_file(d.path(), HOST);
        let mut s = Script::new(&[A::Yes, A::Pick(vec![]), A::Enter, A::Enter, A::Enter]);
        let (code, out, _) = go(&opts(&t, Some(c), Some(save.clone())), &mut s);
        assert_eq!(code, ExitCode::Success);
        assert!(out.contains("No NIC chosen"), "{out}");
        let text = std::fs::read_to_string(&save).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("enabled: false"), "{text}");
        // The rule turns the NIC off: the plan says so, no PF gets VFs, and
        // so nothing for boot to do: no binary, no unit, no PF in the state.
        assert!(
            out.contains("0000:01:00.0  eth0       Intel Corporation 82576 Gigabit Network Connection: turned off by sriov.devices[0] (match {address: 0000:01:00.0})"),
            "{out}"
        );
        assert!(out.contains("VFs at every boot: none"), "{out}");
        assert!(
            !t.join(crate::layout::BINARY_PATH.trim_start_matches('/'))
                .exists()
        );
        assert!(!t.join(crate::layout::UNIT_PATH.trim_start_matches('/')).exists());
        assert!(
            !state_path(&t).exists() || state(&t).contains("\"pfs\": []"),
            "{}",
            state(&t)
        );
    }

    #[test]
    fn management_nic_is_not_offered() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let c = cfg_file(
            d.path(),
            "os:\n  hostname: node-a\ninstall:\n  management_interface:\n    interfaces:\n      - name: eth0\n",
        );
        let mut s = Script::new(&[]);
        let (code, out, _) = go(&opts(&t, Some(c), None), &mut s);
        assert_eq!(code, ExitCode::Success);
        assert!(out.contains("management NIC"), "{out}");
        assert!(s.asked.is_empty() && empty(&t));
    }

    #[test]
    fn no_sriov_nic_asks_nothing() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(d.path().join("sys/bus/pci/devices")).unwrap_or_else(|e| panic!("{e}"));
        let mut o = opts(&d.path().join("t"), None, None);
        o.target.sysfs = d.path().join("sys");
        let mut s = Script::new(&[]);
        let (code, out, _) = go(&o, &mut s);
        assert_eq!(code, ExitCode::Success);
        assert!(out.contains("No SR-IOV capable NIC found"), "{out}");
        assert!(s.asked.is_empty());
    }

    #[test]
    fn config_prefills_the_answers_and_save_round_trips() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let c = cfg_file(
            d.path(),
            "os:\n  hostname: node-a\nsriov:\n  enabled: true\n  num_vfs: 5\n  device_type: netdevice\n  operator: pcidevices\n  mtu: 9000\n",
        );
        let save = d.path().join("answers.yaml");
        let mut s = Script::new(&[A::Enter, A::Enter, A::Enter, A::Enter, A::Enter, A::Enter]);
        let (code, _, _) = go(&opts(&t, Some(c), Some(save.clone())), &mut s);
        assert_eq!(code, ExitCode::Success);
        let st = state(&t);
        assert!(
            st.contains("\"num_vfs\": 5") && st.contains("\"netdevice\"") && st.contains("\"pcidevices\""),
            "{st}"
        );
        let text = std::fs::read_to_string(&save).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.starts_with(ANSWERS_MARKER), "{text}");
        let back = config::parse(&save, &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let sr = back.sriov.unwrap_or_else(|| panic!("no sriov in {text}"));
        assert_eq!((sr.mtu, sr.devices[0].num_vfs), (Some(9000), Some(5)));
    }

    #[test]
    fn a_prior_config_that_does_not_plan_here_is_said_not_hidden() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        // 9 VFs on a PF whose kernel allows 7: that config's plan fails here.
        let c = cfg_file(
            d.path(),
            "os:\n  hostname: node-a\nsriov:\n  enabled: true\n  devices:\n    - match: {address: \"0000:01:00.0\"}\n      num_vfs: 9\n",
        );
        let mut s = Script::new(&[A::Enter, A::Enter, A::Enter, A::Enter, A::Enter, A::Enter]);
        let (code, out, _) = go(&opts(&t, Some(c.clone()), None), &mut s);
        assert_eq!(code, ExitCode::Success, "{out}");
        let want = format!(
            "note: the VF counts of {} are not offered as defaults: {}: sriov.devices[0].num_vfs: 9 VFs asked for 0000:01:00.0",
            c.display(),
            c.display()
        );
        assert!(out.contains(&want), "{out}");
        // Every NIC still offered, with the default count.
        assert!(state(&t).contains("\"num_vfs\": 7"), "{}", state(&t));
    }

    #[test]
    fn a_ctrl_c_handler_that_cannot_be_installed_is_reported() {
        // The first install takes the process's one handler; the second
        // fails (ctrlc allows one) and must say so.
        let (mut first, mut second) = (vec![], vec![]);
        catch_ctrl_c(&mut first).unwrap_or_else(|e| panic!("{e}"));
        catch_ctrl_c(&mut second).unwrap_or_else(|e| panic!("{e}"));
        let all = String::from_utf8_lossy(&[first, second].concat()).into_owned();
        assert!(all.starts_with("warning: cannot catch Ctrl-C ("), "{all}");
        assert_eq!(all.lines().count(), 1, "{all}");
    }

    #[test]
    fn save_refuses_a_foreign_file_before_asking() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let save = d.path().join("config.yaml");
        std::fs::write(&save, "install:\n  mode: create\n").unwrap_or_else(|e| panic!("{e}"));
        let mut s = Script::new(&[]);
        let (mut out, mut err) = (vec![], vec![]);
        let e = run_with(
            &opts(&d.path().join("t"), None, Some(save.clone())),
            &mut s,
            &mut out,
            &mut err,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("not a harvester-sriov answers file"), "{e}");
        assert!(s.asked.is_empty());
    }
}
