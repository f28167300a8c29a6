// Command yip is a test oracle for harvester-sriov: it runs yip, the
// cloud-config runner of Harvester's OS (through rancher/elemental-toolkit),
// on what the tool left under ROOT/oem.
//
//  1. It loads every *.yaml/*.yml below ROOT/oem the way yip walks /oem at
//     every stage (recursively, with yip's own loader and the executor's own
//     directory walk). A file that fails to load makes the whole /oem walk
//     fail for that stage on a real node: judged wrong.
//  2. It runs the stage (default `initramfs`; with `.before` and `.after`, as
//     `elemental run-stage` does) with yip's default executor and the
//     Elemental plugin set into a scratch root that holds only a copy of
//     ROOT/oem, so the result shows what yip itself materialises at boot.
//     Nothing touches the host: the file system is rooted in the scratch
//     directory, ownership changes are recorded instead of made, and commands
//     (including `systemctl enable`) go to a console stand-in that records
//     them. Steps that act on the host directly (users, hostname, DNS,
//     downloads, layout, ...) are refused: judged wrong.
//  3. It prints one JSON object: the files loaded, the files and directories
//     written (path, mode, owner, sha256), the units enabled, the commands
//     run, and whether yip's Go-template expansion left every file content
//     and command unchanged (a changed command, or a template that fails to
//     render, is judged wrong; a changed file content is reported, and the
//     caller compares the bytes with the ones it meant).
//
// Exit status: 0 judged ok, 1 judged wrong (reasons in the JSON), 2 usage.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/rancher/yip/pkg/executor"
	"github.com/rancher/yip/pkg/logger"
	"github.com/rancher/yip/pkg/plugins"
	"github.com/rancher/yip/pkg/schema"
	"github.com/twpayne/go-vfs/v4"
)

// ---------------------------------------------------------------- result

type loadedFile struct {
	Path   string         `json:"path"`
	Name   string         `json:"name"`
	Stages map[string]int `json:"stages"`
}

type loadError struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

type writtenFile struct {
	Path              string `json:"path"`
	Mode              string `json:"mode"`
	UID               *int   `json:"uid"`
	GID               *int   `json:"gid"`
	Size              int64  `json:"size"`
	SHA256            string `json:"sha256"`
	TemplateUnchanged *bool  `json:"template_unchanged"`
}

type directory struct {
	Path string `json:"path"`
	Mode string `json:"mode"`
	UID  *int   `json:"uid"`
	GID  *int   `json:"gid"`
}

type enabledUnit struct {
	Unit     string   `json:"unit"`
	UnitFile string   `json:"unit_file"`
	Install  []string `json:"install"`
}

type command struct {
	Command           string `json:"command"`
	Kind              string `json:"kind"`
	TemplateUnchanged bool   `json:"template_unchanged"`
}

type logLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

type result struct {
	Verdict      string        `json:"verdict"`
	Reasons      []string      `json:"reasons"`
	Yip          string        `json:"yip"`
	Root         string        `json:"root"`
	Stages       []string      `json:"stages"`
	Loaded       []loadedFile  `json:"loaded"`
	LoadErrors   []loadError   `json:"load_errors"`
	Files        []writtenFile `json:"files"`
	Directories  []directory   `json:"directories"`
	EnabledUnits []enabledUnit `json:"enabled_units"`
	Commands     []command     `json:"commands"`
	Errors       []string      `json:"errors"`
	Warnings     []logLine     `json:"warnings"`
	Millis       int64         `json:"millis"`
}

func (r *result) wrong(format string, a ...any) {
	r.Reasons = append(r.Reasons, fmt.Sprintf(format, a...))
}

// ---------------------------------------------------------------- logger

// recLogger is yip's logger.Interface: warnings and errors are kept for the
// verdict, everything else is dropped (stdout carries only the JSON).
type recLogger struct{ lines []logLine }

func (l *recLogger) add(level string, msg string) {
	l.lines = append(l.lines, logLine{Level: level, Message: strings.TrimSpace(msg)})
}
func (l *recLogger) Info(...interface{})           {}
func (l *recLogger) Debug(...interface{})          {}
func (l *recLogger) Trace(...interface{})          {}
func (l *recLogger) Infof(string, ...interface{})  {}
func (l *recLogger) Debugf(string, ...interface{}) {}
func (l *recLogger) Tracef(string, ...interface{}) {}
func (l *recLogger) Warn(a ...interface{})         { l.add("warn", fmt.Sprint(a...)) }
func (l *recLogger) Error(a ...interface{})        { l.add("error", fmt.Sprint(a...)) }
func (l *recLogger) Fatal(a ...interface{})        { l.add("fatal", fmt.Sprint(a...)) }
func (l *recLogger) Panic(a ...interface{})        { l.add("panic", fmt.Sprint(a...)) }
func (l *recLogger) Warnf(f string, a ...interface{}) {
	l.add("warn", fmt.Sprintf(f, a...))
}
func (l *recLogger) Errorf(f string, a ...interface{}) {
	l.add("error", fmt.Sprintf(f, a...))
}
func (l *recLogger) Fatalf(f string, a ...interface{}) {
	l.add("fatal", fmt.Sprintf(f, a...))
}
func (l *recLogger) Panicf(f string, a ...interface{}) {
	l.add("panic", fmt.Sprintf(f, a...))
}

var _ logger.Interface = (*recLogger)(nil)

// ---------------------------------------------------------------- file system

type owner struct{ uid, gid int }

// recFS is the scratch root: a vfs.PathFS over a temporary directory (paths
// are cleaned first, so `..` cannot leave it), recording what yip creates,
// and recording ownership instead of changing it (no root needed).
type recFS struct {
	vfs.FS
	created []string
	seen    map[string]bool
	dirs    []string
	dirSeen map[string]bool
	owners  map[string]owner
}

func newRecFS(root string) *recFS {
	return &recFS{
		FS:      vfs.NewPathFS(vfs.OSFS, root),
		seen:    map[string]bool{},
		dirSeen: map[string]bool{},
		owners:  map[string]owner{},
	}
}

func clean(name string) string {
	if strings.HasPrefix(name, "/") {
		return path.Clean(name)
	}
	return name
}

func (f *recFS) file(name string) {
	if !f.seen[name] {
		f.seen[name] = true
		f.created = append(f.created, name)
	}
}

func (f *recFS) Create(name string) (*os.File, error) {
	name = clean(name)
	f.file(name)
	return f.FS.Create(name)
}

func (f *recFS) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	name = clean(name)
	if flag&(os.O_CREATE|os.O_WRONLY|os.O_RDWR|os.O_APPEND|os.O_TRUNC) != 0 {
		f.file(name)
	}
	return f.FS.OpenFile(name, flag, perm)
}

func (f *recFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	name = clean(name)
	f.file(name)
	return f.FS.WriteFile(name, data, perm)
}

func (f *recFS) Mkdir(name string, perm fs.FileMode) error {
	name = clean(name)
	err := f.FS.Mkdir(name, perm)
	if err == nil && !f.dirSeen[name] {
		f.dirSeen[name] = true
		f.dirs = append(f.dirs, name)
	}
	return err
}

func (f *recFS) Chown(name string, uid, gid int) error {
	name = clean(name)
	if _, err := f.FS.Stat(name); err != nil {
		return err
	}
	f.owners[name] = owner{uid, gid}
	return nil
}

func (f *recFS) Lchown(name string, uid, gid int) error { return f.Chown(name, uid, gid) }

func (f *recFS) Symlink(oldname, newname string) error {
	return &os.PathError{Op: "symlink", Path: newname, Err: errors.New("refused by the oracle (scratch root)")}
}

func (f *recFS) Link(oldname, newname string) error {
	return &os.PathError{Op: "link", Path: newname, Err: errors.New("refused by the oracle (scratch root)")}
}

func (f *recFS) Chmod(name string, mode fs.FileMode) error { return f.FS.Chmod(clean(name), mode) }
func (f *recFS) Stat(name string) (fs.FileInfo, error)     { return f.FS.Stat(clean(name)) }
func (f *recFS) Lstat(name string) (fs.FileInfo, error)    { return f.FS.Lstat(clean(name)) }
func (f *recFS) ReadFile(name string) ([]byte, error)      { return f.FS.ReadFile(clean(name)) }
func (f *recFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return f.FS.ReadDir(clean(name))
}
func (f *recFS) Open(name string) (fs.File, error) { return f.FS.Open(clean(name)) }
func (f *recFS) Remove(name string) error          { return f.FS.Remove(clean(name)) }
func (f *recFS) RemoveAll(name string) error       { return f.FS.RemoveAll(clean(name)) }
func (f *recFS) Rename(o, n string) error          { return f.FS.Rename(clean(o), clean(n)) }
func (f *recFS) Truncate(name string, size int64) error {
	return f.FS.Truncate(clean(name), size)
}
func (f *recFS) RawPath(name string) (string, error) { return f.FS.RawPath(clean(name)) }

// ---------------------------------------------------------------- console

// unitDirs are where `systemctl enable` looks for a unit file (system units).
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// stubConsole is yip's plugins.Console: it records every command instead of
// running it. `systemctl enable UNIT` is checked the way systemctl would
// fail: the unit file must exist (in the scratch root: what yip wrote) and
// have an [Install] section, else enabling does nothing.
type stubConsole struct {
	fs       *recFS
	commands []string
	kinds    []string
	enabled  []enabledUnit
}

func (c *stubConsole) Run(cmd string, _ ...func(*exec.Cmd)) (string, error) {
	c.commands = append(c.commands, cmd)
	c.kinds = append(c.kinds, "command")
	return "", nil
}

func (c *stubConsole) Start(cmd *exec.Cmd, _ ...func(*exec.Cmd)) error {
	c.commands = append(c.commands, strings.Join(cmd.Args, " "))
	c.kinds = append(c.kinds, "start")
	return nil
}

func (c *stubConsole) RunTemplate(items []string, tmpl string) error {
	var errs []error
	for _, item := range items {
		cmd := fmt.Sprintf(tmpl, item)
		c.commands = append(c.commands, cmd)
		c.kinds = append(c.kinds, "systemctl")
		if tmpl == "systemctl enable %s" {
			if err := c.enable(item); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (c *stubConsole) enable(unit string) error {
	name := unit
	if !strings.Contains(name, ".") {
		name += ".service"
	}
	for _, dir := range unitDirs {
		p := dir + "/" + name
		b, err := c.fs.ReadFile(p)
		if err != nil {
			continue
		}
		install := installLines(string(b))
		if len(install) == 0 {
			return fmt.Errorf("systemctl enable %s: %s has no [Install] section with WantedBy=/RequiredBy=/Alias=/Also=: enabling does nothing", unit, p)
		}
		c.enabled = append(c.enabled, enabledUnit{Unit: name, UnitFile: p, Install: install})
		return nil
	}
	return fmt.Errorf("systemctl enable %s: unit file %s does not exist in %s of the scratch root (which holds only /oem and what yip wrote)", unit, name, strings.Join(unitDirs, ", "))
}

// installLines returns the directives of a unit file's [Install] section that
// make `systemctl enable` do something.
func installLines(unit string) []string {
	var out []string
	section := ""
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line
			continue
		}
		if section != "[Install]" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		switch key {
		case "WantedBy", "RequiredBy", "UpheldBy", "Alias", "Also":
			if ok && strings.TrimSpace(value) != "" {
				out = append(out, key+"="+strings.TrimSpace(value))
			}
		}
	}
	return out
}

var _ plugins.Console = (*stubConsole)(nil)

// ---------------------------------------------------------------- plugins

// The Elemental plugin set, in Elemental's order
// (rancher/elemental-toolkit:pkg/cloudinit/cloudinit.go NewYipCloudInitRunner;
// its layout plugin is replaced by a refusal like every plugin below that
// would act on the host instead of the file system it is given).
func elementalPlugins(refused *[]string) []executor.Plugin {
	guard := func(key string, used func(schema.Stage) bool) executor.Plugin {
		return func(_ logger.Interface, s schema.Stage, _ vfs.FS, _ plugins.Console) error {
			if !used(s) {
				return nil
			}
			msg := fmt.Sprintf("step %q uses `%s:`, which acts on the host: the oracle does not run it", s.Name, key)
			*refused = append(*refused, msg)
			return errors.New(msg)
		}
	}
	return []executor.Plugin{
		guard("dns", func(s schema.Stage) bool {
			return len(s.Dns.Nameservers)+len(s.Dns.DnsSearch)+len(s.Dns.DnsOptions) > 0
		}),
		guard("downloads", func(s schema.Stage) bool { return len(s.Downloads) > 0 }),
		guard("ensure_entities", func(s schema.Stage) bool { return len(s.EnsureEntities) > 0 }),
		plugins.EnsureDirectories,
		plugins.EnsureFiles,
		plugins.Commands,
		guard("delete_entities", func(s schema.Stage) bool { return len(s.DeleteEntities) > 0 }),
		guard("hostname", func(s schema.Stage) bool { return s.Hostname != "" }),
		plugins.Sysctl,
		guard("users", func(s schema.Stage) bool { return len(s.Users) > 0 }),
		guard("authorized_keys", func(s schema.Stage) bool { return len(s.SSHKeys) > 0 }),
		plugins.Timesyncd,
		plugins.Systemctl,
		plugins.Environment,
		guard("systemd_firstboot", func(s schema.Stage) bool { return len(s.SystemdFirstBoot) > 0 }),
		guard("datasource", func(s schema.Stage) bool { return len(s.DataSources.Providers) > 0 }),
		guard("layout", func(s schema.Stage) bool {
			return s.Layout.Device != nil || s.Layout.Expand != nil || len(s.Layout.Parts) > 0
		}),
	}
}

// ---------------------------------------------------------------- main

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "yip oracle: %s\nusage: yip --root ROOT [--stage initramfs] [--keep SCRATCH_DIR]\n", msg)
	os.Exit(2)
}

func main() {
	root := flag.String("root", "", "target root whose oem/ is loaded (the tool's --target)")
	stage := flag.String("stage", "initramfs", "yip stage to run (its .before and .after run too)")
	keep := flag.String("keep", "", "use this empty directory as the scratch root and keep it")
	flag.Usage = func() { usage("bad arguments") }
	flag.Parse()
	if *root == "" || flag.NArg() != 0 {
		usage("--root ROOT is required, and nothing else")
	}
	oem := filepath.Join(*root, "oem")
	if st, err := os.Stat(oem); err != nil || !st.IsDir() {
		usage(fmt.Sprintf("%s is not a directory", oem))
	}

	start := time.Now()
	res := run(*root, oem, *stage, *keep)
	res.Millis = time.Since(start).Milliseconds()
	if len(res.Reasons) == 0 {
		res.Verdict = "ok"
	} else {
		res.Verdict = "wrong"
	}
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "yip oracle:", err)
		os.Exit(2)
	}
	fmt.Println(string(out))
	if res.Verdict != "ok" {
		os.Exit(1)
	}
}

func yipVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/rancher/yip" {
				return d.Path + " " + d.Version
			}
		}
	}
	return "github.com/rancher/yip (unknown version)"
}

func run(root, oem, stage, keep string) *result {
	res := &result{
		Yip:          yipVersion(),
		Root:         root,
		Stages:       []string{stage + ".before", stage, stage + ".after"},
		Reasons:      []string{},
		Loaded:       []loadedFile{},
		LoadErrors:   []loadError{},
		Files:        []writtenFile{},
		Directories:  []directory{},
		EnabledUnits: []enabledUnit{},
		Commands:     []command{},
		Errors:       []string{},
		Warnings:     []logLine{},
	}

	scratch := keep
	if scratch == "" {
		d, err := os.MkdirTemp("", "yip-oracle-")
		if err != nil {
			usage(err.Error())
		}
		defer os.RemoveAll(d)
		scratch = d
	}
	if err := copyTree(oem, filepath.Join(scratch, "oem")); err != nil {
		res.wrong("copying %s into the scratch root: %v", oem, err)
		return res
	}

	rfs := newRecFS(scratch)
	log := &recLogger{}
	console := &stubConsole{fs: rfs}

	// 1. Load every file as yip's walk of /oem does, with yip's loader.
	raw := map[string]string{}   // file path -> content as in the yip file
	rawCmds := map[string]bool{} // commands as in the yip files
	rawIfs := map[string]bool{}  // `if:` expressions as in the yip files
	err := vfs.Walk(rfs, "/oem", func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		cfg, err := schema.Load(p, rfs, schema.FromFile, nil)
		if err != nil {
			res.LoadErrors = append(res.LoadErrors, loadError{Path: p, Error: err.Error()})
			return nil
		}
		lf := loadedFile{Path: p, Name: cfg.Name, Stages: map[string]int{}}
		for name, steps := range cfg.Stages {
			lf.Stages[name] = len(steps)
		}
		res.Loaded = append(res.Loaded, lf)
		for _, s := range res.Stages {
			for _, step := range cfg.Stages[s] {
				for _, f := range step.Files {
					if f.Encoding == "" {
						raw[clean(f.Path)] = f.Content
					}
				}
				for _, c := range step.Commands {
					rawCmds[c] = true
				}
				if step.If != "" {
					rawIfs[step.If] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		res.wrong("walking /oem: %v", err)
		return res
	}
	for _, le := range res.LoadErrors {
		res.wrong("yip cannot load %s: %s (yip v1.9.6 runs the other files, then fails the stage: elemental-setup-<stage>.service fails at boot)", le.Path, le.Error)
	}

	// The executor's own directory walk must agree.
	refused := []string{}
	exe := executor.NewExecutor(
		executor.WithLogger(log),
		executor.WithConditionals(plugins.NodeConditional, plugins.IfConditional),
		executor.WithPlugins(elementalPlugins(&refused)...),
	)
	if _, lerr := exe.Graph(stage, rfs, console, "/oem/"); lerr != nil && len(res.LoadErrors) == 0 {
		res.wrong("yip's executor failed to load /oem: %v", lerr)
	}
	if len(res.Reasons) > 0 {
		res.Warnings = warnings(log)
		return res
	}

	// 2. Run the stage as `elemental run-stage` does: .before, the stage, .after.
	for _, s := range res.Stages {
		if err := exe.Run(s, rfs, console, "/oem/"); err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", s, err))
		}
	}
	for _, e := range res.Errors {
		res.wrong("yip reported an error running the stage: %s", e)
	}
	for _, r := range refused {
		res.wrong("%s", r)
	}

	// 3. What it did.
	for i, c := range console.commands {
		kind := console.kinds[i]
		if kind == "command" && rawIfs[c] && !rawCmds[c] {
			// The stand-in answers every `if:` with success: the step runs.
			kind = "if"
		}
		unchanged := kind != "command" || rawCmds[c]
		if kind == "if" {
			unchanged = true
		}
		res.Commands = append(res.Commands, command{Command: c, Kind: kind, TemplateUnchanged: unchanged})
		if !unchanged {
			res.wrong("yip's template expansion changed a command or `if` into %q", c)
		}
	}
	res.EnabledUnits = append(res.EnabledUnits, console.enabled...)

	for _, p := range rfs.created {
		st, err := rfs.Lstat(p)
		if err != nil {
			res.wrong("%s was created but cannot be read back: %v", p, err)
			continue
		}
		b, err := rfs.ReadFile(p)
		if err != nil {
			res.wrong("%s cannot be read back: %v", p, err)
			continue
		}
		sum := sha256.Sum256(b)
		wf := writtenFile{
			Path:   p,
			Mode:   fmt.Sprintf("%04o", st.Mode().Perm()),
			Size:   int64(len(b)),
			SHA256: hex.EncodeToString(sum[:]),
		}
		if o, ok := rfs.owners[p]; ok {
			wf.UID, wf.GID = &o.uid, &o.gid
		}
		if want, ok := raw[p]; ok {
			// Reported, not judged: a writer may escape `{{` on purpose
			// (`{{"{{"}}`), so only the caller knows the bytes it meant.
			same := want == string(b)
			wf.TemplateUnchanged = &same
		}
		res.Files = append(res.Files, wf)
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })

	for _, p := range rfs.dirs {
		st, err := rfs.Lstat(p)
		if err != nil {
			continue
		}
		d := directory{Path: p, Mode: fmt.Sprintf("%04o", st.Mode().Perm())}
		if o, ok := rfs.owners[p]; ok {
			d.UID, d.GID = &o.uid, &o.gid
		}
		res.Directories = append(res.Directories, d)
	}
	sort.Slice(res.Directories, func(i, j int) bool { return res.Directories[i].Path < res.Directories[j].Path })

	res.Warnings = warnings(log)
	for _, w := range res.Warnings {
		if strings.HasPrefix(w.Message, "Failed rendering") || strings.HasPrefix(w.Message, "Failed marshalling") {
			res.wrong("yip's template expansion failed: %s", w.Message)
		}
	}
	return res
}

func warnings(l *recLogger) []logLine {
	out := []logLine{}
	for _, line := range l.lines {
		if line.Level != "" {
			out = append(out, line)
		}
	}
	return out
}

// copyTree copies directories and regular files (with their permission
// bits). A symlink is refused: yip would follow it on the node, and the
// oracle does not leave its scratch root.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			return os.Chmod(dst, info.Mode().Perm())
		case info.Mode().IsRegular():
			return copyFile(p, dst, info.Mode().Perm())
		case info.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symlink: not followed", p)
		default:
			return fmt.Errorf("%s is neither a file nor a directory", p)
		}
	})
}

func copyFile(from, to string, mode fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(to, mode)
}
