package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// readManifests splits a multi-document YAML file the way the deploy
// controller's decoder does (k8s.io/apimachinery yaml.NewYAMLOrJSONDecoder).
func readManifests(path string) ([]Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []Object
	for n := 1; ; n++ {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if err == io.EOF {
				return out, nil
			}
			return nil, fmt.Errorf("document %d: %v", n, err)
		}
		if len(doc) == 0 {
			continue
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", n, err)
		}
		o := Object{File: path, Raw: raw}
		o.Kind, _ = doc["kind"].(string)
		o.APIVersion, _ = doc["apiVersion"].(string)
		if md, ok := doc["metadata"].(map[string]any); ok {
			o.Name, _ = md["name"].(string)
			o.Namespace, _ = md["namespace"].(string)
		}
		if o.Kind == "" || o.APIVersion == "" || o.Name == "" {
			return nil, fmt.Errorf("document %d: kind, apiVersion and metadata.name are required", n)
		}
		out = append(out, o)
	}
}
