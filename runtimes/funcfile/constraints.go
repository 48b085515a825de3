package funcfile

import (
	"errors"
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

// labelKey is what a node label's name may be: what `hearth agent --label k=v` accepts.
var labelKey = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9._/-]{0,61}[a-zA-Z0-9])?$`)

// constraintsReason says what `constraints` holds.
const constraintsReason = "must be a mapping of node label: value, e.g. {zone: a}; an instance runs only on nodes whose labels (hearth agent --label) have every value given"

// decodeConstraints reads `constraints: {label: value, ...}`.
func decodeConstraints(d *decoded, key string, v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return fieldErr(key, constraintsReason)
	}
	m := make(map[string]string, len(v.Content)/2)
	var errs []error
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], resolve(v.Content[i+1])
		field := key + "." + k.Value
		switch {
		case m[k.Value] != "":
			errs = append(errs, fieldErr(field, "is set twice"))
		case val.Kind != yaml.ScalarNode || val.Tag == "!!null" || val.Value == "":
			errs = append(errs, fieldErr(field, "must be a value the node's label must have, e.g. a"))
		default:
			m[k.Value] = val.Value
		}
	}
	d.spec.Constraints = m
	return errors.Join(errs...)
}

// validateConstraints checks label names and values, wherever the spec came from.
func validateConstraints(c map[string]string, add func(field, reason string)) {
	for k, v := range c {
		if !labelKey.MatchString(k) {
			add("constraints."+k, "is not a label name: use 1 to 63 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit")
		}
		if len(v) > 63 {
			add("constraints."+k, fmt.Sprintf("value %.20q... is longer than 63 characters", v))
		}
	}
}
