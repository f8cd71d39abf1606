package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// timeLayout is how manifests write times: RFC 3339, UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// jsonTime is a time.Time that encodes as RFC 3339 UTC with milliseconds and
// decodes any RFC 3339 time, converted to UTC and truncated to the ms.
type jsonTime time.Time

func (t jsonTime) IsZero() bool { return time.Time(t).IsZero() }

func (t jsonTime) MarshalJSON() ([]byte, error) {
	u := time.Time(t).UTC().Truncate(time.Millisecond)
	if y := u.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("layout: time %v: year outside 0000..9999", u)
	}
	return []byte(`"` + u.Format(timeLayout) + `"`), nil
}

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = jsonTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("layout: time: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("layout: time: %w", err)
	}
	v = v.UTC().Truncate(time.Millisecond)
	if y := v.Year(); y < 0 || y > 9999 {
		return fmt.Errorf("layout: time %q: year outside 0000..9999 in UTC", s)
	}
	*t = jsonTime(v)
	return nil
}

// jsonKeys maps the JSON object keys of a wire struct type to field
// indexes.
func jsonKeys(v any) map[string]int {
	t := reflect.TypeOf(v)
	keys := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name != "" && name != "-" {
			keys[name] = i
		}
	}
	return keys
}

// marshalWithExtra encodes wire (a struct) and appends the unknown members
// in extra, sorted by key, after the known ones. A member of extra whose
// key is a known key is dropped: the known field owns that key. Keys are
// case-sensitive.
func marshalWithExtra(wire any, known map[string]int, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := marshal(wire)
	if err != nil {
		return nil, err
	}
	if len(extra) == 0 {
		return b, nil
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if _, ok := known[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return b, nil
	}
	var out bytes.Buffer
	out.Write(b[:len(b)-1]) // drop the closing brace
	first := len(b) == 2    // "{}"
	for _, k := range keys {
		raw := extra[k]
		if !json.Valid(raw) {
			return nil, fmt.Errorf("layout: unknown member %q: invalid JSON value", k)
		}
		kb, _ := marshal(k)
		if !first {
			out.WriteByte(',')
		}
		first = false
		out.Write(kb)
		out.WriteByte(':')
		if err := json.Compact(&out, raw); err != nil {
			return nil, fmt.Errorf("layout: unknown member %q: %w", k, err)
		}
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping: manifests are read by
// people, and "<" reads better than "\u003c".
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// splitObject decodes a JSON object into its members; nil for null.
func splitObject(data []byte) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	return all, nil
}

// decodeMembers decodes the members of all whose keys are known (exactly:
// keys are case-sensitive) into the fields of wire (a pointer to a struct)
// and returns the other members, or nil if there are none. It consumes all.
func decodeMembers(all map[string]json.RawMessage, wire any, known map[string]int) (map[string]json.RawMessage, error) {
	v := reflect.ValueOf(wire).Elem()
	for k, raw := range all {
		i, ok := known[k]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, v.Field(i).Addr().Interface()); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		delete(all, k)
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

// unmarshalWithExtra decodes the object data into wire (a pointer to a
// struct) and returns the members that are not fields of wire.
func unmarshalWithExtra(data []byte, wire any, known map[string]int) (map[string]json.RawMessage, error) {
	all, err := splitObject(data)
	if err != nil {
		return nil, err
	}
	return decodeMembers(all, wire, known)
}
