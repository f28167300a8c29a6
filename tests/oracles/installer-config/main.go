// Command installer-config reads Harvester install configs the way the
// installer's loader does and prints, per file, the keys the harvester-sriov
// tool takes from it, as the installer sees them.
//
// harvester/harvester-installer v1.8.1 pkg/config/schemas.go
// LoadHarvesterConfig: gopkg.in/yaml.v3 into a map, the schema's mappers'
// ToInternal (pkg/config/coerce.go: map, slice, bool, int and float
// coercions by field type; pkg/config/rename.go FuzzyNames), then
// rancher/mapper convert.ToObj (json.Marshal, then json.Unmarshal into the
// structs: encoding/json matches field names case-insensitively).
//
// The installer's module cannot be fetched through the module proxy, so
// its two mappers are written here again from their behaviour (none of its
// code is copied); everything else is the real thing: rancher/mapper at the
// installer's pin (its schemas, import, convert.ToBool/ToObj/ToYAMLKey),
// yaml.v3 and encoding/json. The structs keep the installer's fields the
// tool reads, with the installer's json tags (pkg/config/config.go).
//
// Usage: installer-config FILE... ; prints one JSON line per file:
// {"file", "ok", "error", "hostname", "kernel_args", "mode", "role",
// "management": [{"name", "hwAddr"}], "pcidevices_addon": true|false|null}.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/rancher/mapper"
	"github.com/rancher/mapper/convert"
	"github.com/rancher/mapper/mappers"
	"gopkg.in/yaml.v3"
)

type NetworkInterface struct {
	Name   string `json:"name,omitempty"`
	HwAddr string `json:"hwAddr,omitempty"`
}

type Network struct {
	Interfaces []NetworkInterface `json:"interfaces,omitempty"`
	Method     string             `json:"method,omitempty"`
}

type Addon struct {
	Enabled       bool   `json:"enabled,omitempty"`
	ValuesContent string `json:"valuesContent,omitempty"`
}

type Install struct {
	Mode                string           `json:"mode,omitempty"`
	ManagementInterface Network          `json:"managementInterface,omitempty"`
	Role                string           `json:"role,omitempty"`
	Addons              map[string]Addon `json:"addons,omitempty"`
}

type OS struct {
	Hostname                  string `json:"hostname,omitempty"`
	AdditionalKernelArguments string `json:"additionalKernelArguments,omitempty"`
}

type HarvesterConfig struct {
	SchemeVersion uint32 `json:"schemeVersion,omitempty"`
	ServerURL     string `json:"serverUrl,omitempty"`
	Token         string `json:"token,omitempty"`
	OS            `json:"os,omitempty"`
	Install       `json:"install,omitempty"`
}

// coerce converts, in ToInternal, each field of one schema type with fn
// (the installer's coerce.go does this per type with one mapper each).
type coerce struct {
	mappers.DefaultMapper
	fieldType string
	fn        func(interface{}) (interface{}, error)
	fields    []string
}

func (c *coerce) ModifySchema(schema *mapper.Schema, _ *mapper.Schemas) error {
	for name, f := range schema.ResourceFields {
		if f.Type == c.fieldType {
			c.fields = append(c.fields, name)
		}
	}
	return nil
}

func (c *coerce) ToInternal(data map[string]interface{}) error {
	for _, name := range c.fields {
		v, ok := data[name]
		if !ok {
			continue
		}
		nv, err := c.fn(v)
		if err != nil {
			return fmt.Errorf("failed to convert field %q: %w", name, err)
		}
		data[name] = nv
	}
	return nil
}

// fuzzy adds, for every field, its other spellings (lower case, snake_case,
// lower-cased snake_case, and the same for the name without a plural "s" or
// "es"); ToInternal copies a value under such a key to the field's name.
type fuzzy struct {
	mappers.DefaultMapper
	names map[string]string
}

func (f *fuzzy) ModifySchema(schema *mapper.Schema, _ *mapper.Schemas) error {
	f.names = map[string]string{}
	add := func(spelling, field string) {
		for _, k := range []string{strings.ToLower(spelling), convert.ToYAMLKey(spelling), strings.ToLower(convert.ToYAMLKey(spelling))} {
			f.names[k] = field
		}
	}
	for name := range schema.ResourceFields {
		if len(name) > 1 && strings.HasSuffix(name, "s") {
			add(name[:len(name)-1], name)
		}
		if len(name) > 2 && strings.HasSuffix(name, "es") {
			add(name[:len(name)-2], name)
		}
		add(name, name)
	}
	f.names["pass"] = "passphrase"
	f.names["password"] = "passphrase"
	return nil
}

func (f *fuzzy) ToInternal(data map[string]interface{}) error {
	for k, v := range data {
		if to, ok := f.names[k]; ok && to != k {
			data[to] = v
		}
	}
	return nil
}

var schema = mapper.NewSchemas().Init(func(s *mapper.Schemas) *mapper.Schemas {
	s.DefaultMappers = func() []mapper.Mapper {
		return []mapper.Mapper{
			&coerce{fieldType: "map[string]", fn: func(v interface{}) (interface{}, error) {
				if m, ok := v.(map[string]interface{}); ok {
					out := make(map[string]string, len(m))
					for k, x := range m {
						out[k] = convert.ToString(x)
					}
					return out, nil
				}
				return v, nil
			}},
			&coerce{fieldType: "array[string]", fn: func(v interface{}) (interface{}, error) {
				if s, ok := v.(string); ok {
					return []string{s}, nil
				}
				return convert.ToStringSlice(v), nil
			}},
			&coerce{fieldType: "boolean", fn: func(v interface{}) (interface{}, error) { return convert.ToBool(v), nil }},
			&coerce{fieldType: "int", fn: func(v interface{}) (interface{}, error) {
				if v == nil || v == "nil" {
					return nil, nil
				}
				return convert.ToNumber(v)
			}},
			&coerce{fieldType: "float", fn: func(v interface{}) (interface{}, error) { return convert.ToFloat(v) }},
			&fuzzy{},
		}
	}
	return s
}).MustImport(HarvesterConfig{}).Schema("harvesterConfig")

type result struct {
	File            string             `json:"file"`
	OK              bool               `json:"ok"`
	Error           string             `json:"error,omitempty"`
	Hostname        string             `json:"hostname"`
	KernelArgs      string             `json:"kernel_args"`
	Mode            string             `json:"mode"`
	Role            string             `json:"role"`
	Management      []NetworkInterface `json:"management"`
	PcidevicesAddon *bool              `json:"pcidevices_addon"`
}

func load(file string) result {
	r := result{File: file, Management: []NetworkInterface{}}
	text, err := os.ReadFile(file)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	data := map[string]interface{}{}
	if err := yaml.Unmarshal(text, &data); err != nil {
		r.Error = fmt.Sprintf("failed to unmarshal yaml: %v", err)
		return r
	}
	if err := schema.Mapper.ToInternal(data); err != nil {
		r.Error = err.Error()
		return r
	}
	cfg := HarvesterConfig{}
	if err := convert.ToObj(data, &cfg); err != nil {
		r.Error = fmt.Sprintf("failed to convert to HarvesterConfig: %v", err)
		return r
	}
	r.OK = true
	r.Hostname = cfg.OS.Hostname
	r.KernelArgs = cfg.OS.AdditionalKernelArguments
	r.Mode = cfg.Install.Mode
	r.Role = cfg.Install.Role
	r.Management = append(r.Management, cfg.Install.ManagementInterface.Interfaces...)
	if a, ok := cfg.Install.Addons["harvester_pcidevices_controller"]; ok {
		enabled := a.Enabled
		r.PcidevicesAddon = &enabled
	}
	return r
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: installer-config FILE...")
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, f := range os.Args[1:] {
		if err := enc.Encode(load(f)); err != nil {
			os.Exit(2)
		}
	}
}
