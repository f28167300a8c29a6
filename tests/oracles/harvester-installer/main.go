// Command harvester-installer is a test oracle for harvester-sriov: it runs
// the Harvester installer's own config code (github.com/harvester/
// harvester-installer/pkg/config) on install configs and config fragments.
//
// For each FILE (merged, with --base, into a base config by the installer's
// own HarvesterConfig.Merge, as the installer merges the config fetched from
// install.config_url into its local one: pkg/console/install_panels.go):
//
//   - it loads the file with config.LoadHarvesterConfig, the function the
//     installer reads a config_url file with (pkg/console/util.go
//     getRemoteConfig/retryRemoteConfig): accepted or not;
//   - it builds the cOS/yip config with config.ConvertToCOS and writes both
//     as the installer saves them before running harv-install
//     (pkg/console/util.go generateEnvAndConfig + saveTemp: yaml.v3 Marshal
//     of the parsed structs), then shows the saved HarvesterConfig's keys
//     (does `sriov:` survive? which key names?) and the `after-install-chroot`
//     stage that elemental runs, read back with yip's own loader.
//
// Exit status: 0 every file accepted (and, where it has
// after_install_chroot_commands, its chroot stage built); 1 otherwise, with
// the reasons; 2 usage.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/harvester/harvester-installer/pkg/config"
	yipSchema "github.com/rancher/yip/pkg/schema"
	"github.com/twpayne/go-vfs/v4"
	"gopkg.in/yaml.v3"
)

type stage struct {
	Name     string   `json:"name"`
	If       string   `json:"if"`
	Commands []string `json:"commands"`
}

type fileResult struct {
	File             string   `json:"file"`
	Accepted         bool     `json:"accepted"`
	Error            string   `json:"error,omitempty"`
	RawTopKeys       []string `json:"raw_top_keys"`
	RawHasSriov      bool     `json:"raw_has_sriov"`
	ChrootCommands   []string `json:"after_install_chroot_commands"`
	ConvertError     string   `json:"convert_to_cos_error,omitempty"`
	SavedTopKeys     []string `json:"saved_top_keys"`
	SavedOSKeys      []string `json:"saved_os_keys"`
	SavedInstallKeys []string `json:"saved_install_keys"`
	SavedHasSriov    bool     `json:"saved_has_sriov"`
	ChrootStage      []stage  `json:"after_install_chroot_stage"`
}

type result struct {
	Verdict   string       `json:"verdict"`
	Reasons   []string     `json:"reasons"`
	Installer string       `json:"installer"`
	Base      string       `json:"base,omitempty"`
	Files     []fileResult `json:"files"`
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "harvester-installer oracle: %s\nusage: harvester-installer [--base CONFIG] FILE...\n", msg)
	os.Exit(2)
}

func main() {
	base := flag.String("base", "", "a Harvester config each FILE is merged into (for fragments)")
	flag.Usage = func() { usage("bad arguments") }
	flag.Parse()
	if flag.NArg() == 0 {
		usage("no FILE")
	}

	// ConvertToCOS writes NetworkManager profiles into config.NMConnectionPath
	// (/etc/NetworkManager/system-connections): point it at a scratch directory,
	// as the package's own tests do (pkg/config/cos_test.go TestMain).
	nm, err := os.MkdirTemp("", "nm-connections-")
	if err != nil {
		usage(err.Error())
	}
	defer os.RemoveAll(nm)
	config.NMConnectionPath = nm

	res := result{Installer: moduleVersion("github.com/harvester/harvester-installer"), Base: *base, Reasons: []string{}}
	var baseCfg *config.HarvesterConfig
	if *base != "" {
		b, err := os.ReadFile(*base)
		if err != nil {
			usage(err.Error())
		}
		baseCfg, err = config.LoadHarvesterConfig(b)
		if err != nil {
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s: the installer's loader refuses the base config: %v", *base, err))
		}
	}
	for _, f := range flag.Args() {
		fr := judge(f, baseCfg)
		if !fr.Accepted {
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s: the installer's loader refuses it: %s", f, fr.Error))
		} else if len(fr.ChrootCommands) > 0 && fr.ConvertError != "" {
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s: ConvertToCOS cannot build its after-install-chroot stage: %s", f, fr.ConvertError))
		}
		res.Files = append(res.Files, fr)
	}
	res.Verdict = "ok"
	if len(res.Reasons) > 0 {
		res.Verdict = "wrong"
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	fmt.Println(string(out))
	if res.Verdict != "ok" {
		os.Exit(1)
	}
}

func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				if d.Replace != nil {
					return path + " " + d.Version + " => " + d.Replace.Path + " " + d.Replace.Version
				}
				return path + " " + d.Version
			}
		}
	}
	return path
}

func keys(m map[string]any) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func hasSriov(m map[string]any) bool {
	for k := range m {
		if strings.HasPrefix(strings.ToLower(k), "sriov") {
			return true
		}
	}
	return false
}

func judge(file string, base *config.HarvesterConfig) fileResult {
	fr := fileResult{File: file, RawTopKeys: []string{}, SavedTopKeys: []string{}, SavedOSKeys: []string{},
		SavedInstallKeys: []string{}, ChrootCommands: []string{}, ChrootStage: []stage{}}
	raw, err := os.ReadFile(file)
	if err != nil {
		fr.Error = err.Error()
		return fr
	}
	var rawMap map[string]any
	if err := yaml.Unmarshal(raw, &rawMap); err == nil {
		fr.RawTopKeys = keys(rawMap)
		fr.RawHasSriov = hasSriov(rawMap)
	}

	// The installer's loader for a config_url file.
	remote, err := config.LoadHarvesterConfig(raw)
	if err != nil {
		fr.Error = err.Error()
		return fr
	}
	fr.Accepted = true
	cfg := config.NewHarvesterConfig()
	if base != nil {
		if cfg, err = base.DeepCopy(); err != nil {
			fr.Error = err.Error()
			fr.Accepted = false
			return fr
		}
	}
	if err := cfg.Merge(*remote); err != nil {
		fr.Error = "merge: " + err.Error()
		fr.Accepted = false
		return fr
	}
	fr.ChrootCommands = append(fr.ChrootCommands, cfg.OS.AfterInstallChrootCommands...)
	// As the installer does before saving (pkg/console/install_panels.go).
	cfg.ManagementInterface.Method = strings.ToLower(cfg.ManagementInterface.Method)

	// generateEnvAndConfig: ConvertToCOS, then saveTemp of both (yaml.v3).
	cos, err := config.ConvertToCOS(cfg)
	if err != nil {
		fr.ConvertError = err.Error()
	}
	saved, err := yaml.Marshal(cfg)
	if err != nil {
		fr.Error = "marshal: " + err.Error()
		return fr
	}
	var savedMap map[string]any
	if err := yaml.Unmarshal(saved, &savedMap); err == nil {
		fr.SavedTopKeys = keys(savedMap)
		fr.SavedHasSriov = hasSriov(savedMap)
		if m, ok := savedMap["os"].(map[string]any); ok {
			fr.SavedOSKeys = keys(m)
		}
		if m, ok := savedMap["install"].(map[string]any); ok {
			fr.SavedInstallKeys = keys(m)
		}
	}
	if cos == nil {
		return fr
	}
	cosBytes, err := yaml.Marshal(cos)
	if err != nil {
		fr.ConvertError = "marshal cos config: " + err.Error()
		return fr
	}
	// elemental reads the saved cos file with yip's loader.
	dir, err := os.MkdirTemp("", "cos-")
	if err != nil {
		fr.ConvertError = err.Error()
		return fr
	}
	defer os.RemoveAll(dir)
	p := dir + "/cos.yaml"
	if err := os.WriteFile(p, cosBytes, 0o600); err != nil {
		fr.ConvertError = err.Error()
		return fr
	}
	yc, err := yipSchema.Load(p, vfs.OSFS, yipSchema.FromFile, nil)
	if err != nil {
		fr.ConvertError = "yip cannot load the saved cos config: " + err.Error()
		return fr
	}
	for _, s := range yc.Stages["after-install-chroot"] {
		cmds := s.Commands
		if cmds == nil {
			cmds = []string{}
		}
		fr.ChrootStage = append(fr.ChrootStage, stage{Name: s.Name, If: s.If, Commands: cmds})
	}
	return fr
}
