package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sriovnetworkv1 "github.com/k8snetworkplumbingwg/sriov-network-operator/api/v1"
)

// NicIDs is the data of the supported-nic-ids ConfigMap.
type NicIDs map[string]string

var cmLine = regexp.MustCompile(`^\s+([A-Za-z0-9_.-]+):\s*"([0-9a-fA-F]{4} [0-9a-fA-F]{4} [0-9a-fA-F]{4})"\s*$`)

// loadNicIDs reads the chart's templates/configmap.yaml (its `data:` lines; the
// template's `range .Values.supportedExtraNICs` adds each extra line verbatim).
func loadNicIDs(path string, extra []string) (NicIDs, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("supported-nic-ids: %v (run bash scripts/oracles.sh)", err)
	}
	defer f.Close()
	ids := NicIDs{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := cmLine.FindStringSubmatch(sc.Text()); m != nil {
			ids[m[1]] = m[2]
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: no supported NIC ids found", path)
	}
	for _, e := range extra {
		m := cmLine.FindStringSubmatch("  " + e)
		if m == nil {
			return nil, fmt.Errorf("--extra-nic %q: want 'Name: \"vendor device vfdevice\"'", e)
		}
		ids[m[1]] = m[2]
	}
	return ids, nil
}

// supported is api/v1 helper.go IsSupportedModel over this data.
func (n NicIDs) supported(vendor, device string) bool {
	for _, v := range n {
		f := strings.Fields(v)
		if len(f) >= 2 && f[0] == vendor && f[1] == device {
			return true
		}
	}
	return false
}

func readTrim(p string) (string, bool) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func readInt(p string) int {
	s, _ := readTrim(p)
	n, _ := strconv.Atoi(s)
	return n
}

// NodeState builds the SriovNetworkNodeState the config daemon would report
// for a node with this sysfs, following DiscoverSriovDevices
// (pkg/host/internal/sriov/sriov.go, lines 211-312 at v1.6.0): every PCI
// function of class 0x02 that is not a VF, is a supported model, has a driver
// and a network interface; TotalVfs/NumVfs from sriov_totalvfs/sriov_numvfs
// when the function is an SR-IOV PF. The link's MTU is net/IF/mtu (1500 when
// the fake tree has no such file), LinkType ETH.
func NodeState(node, namespace, sysfs string, ids NicIDs) (*sriovnetworkv1.SriovNetworkNodeState, error) {
	devs := filepath.Join(sysfs, "bus", "pci", "devices")
	entries, err := os.ReadDir(devs)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	st := &sriovnetworkv1.SriovNetworkNodeState{
		TypeMeta:   metav1.TypeMeta{APIVersion: group + "/v1", Kind: "SriovNetworkNodeState"},
		ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: namespace},
	}
	for _, addr := range names {
		dir := filepath.Join(devs, addr)
		class, _ := readTrim(filepath.Join(dir, "class"))
		class = strings.TrimPrefix(class, "0x")
		if len(class) < 2 || class[:2] != "02" {
			continue // not a network device
		}
		if _, err := os.Lstat(filepath.Join(dir, "physfn")); err == nil {
			continue // a VF
		}
		vendor, _ := readTrim(filepath.Join(dir, "vendor"))
		device, _ := readTrim(filepath.Join(dir, "device"))
		vendor, device = strings.TrimPrefix(vendor, "0x"), strings.TrimPrefix(device, "0x")
		if !ids.supported(vendor, device) {
			continue // "DiscoverSriovDevices(): unsupported device"
		}
		drv, err := os.Readlink(filepath.Join(dir, "driver"))
		if err != nil {
			continue // no driver
		}
		nets, _ := os.ReadDir(filepath.Join(dir, "net"))
		if len(nets) == 0 {
			continue // "unable to get device name for device, skipping"
		}
		ifname := nets[0].Name()
		mtu := 1500
		if s, ok := readTrim(filepath.Join(dir, "net", ifname, "mtu")); ok {
			mtu, _ = strconv.Atoi(s)
		}
		mac, _ := readTrim(filepath.Join(dir, "net", ifname, "address"))
		iface := sriovnetworkv1.InterfaceExt{
			Name:       ifname,
			PciAddress: addr,
			Driver:     filepath.Base(drv),
			Vendor:     vendor,
			DeviceID:   device,
			Mtu:        mtu,
			Mac:        mac,
			LinkType:   "ETH",
		}
		if _, ok := readTrim(filepath.Join(dir, "sriov_totalvfs")); ok {
			iface.TotalVfs = readInt(filepath.Join(dir, "sriov_totalvfs"))
			iface.NumVfs = readInt(filepath.Join(dir, "sriov_numvfs"))
		}
		st.Status.Interfaces = append(st.Status.Interfaces, iface)
	}
	return st, nil
}
