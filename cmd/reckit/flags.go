package main

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// sizeValue is a byte count flag (pflag.Value). It accepts a plain number of
// bytes or a number with a unit, with no space between them:
//
//	B                       1
//	K  k  KiB  (any case)   1024         KB  kB  (any case)   1000
//	M  m  MiB               1024²        MB                   1000²
//	G  g  GiB               1024³        GB                   1000³
//	T  t  TiB               1024⁴        TB                   1000⁴
//
// A decimal fraction is allowed if the result is a whole number of bytes
// ("1.5G", not "0.1K"). Negative values and values above 2⁶³-1 are rejected.
type sizeValue struct {
	p *int64
}

func newSizeValue(def int64, p *int64) *sizeValue {
	*p = def
	return &sizeValue{p: p}
}

func (v *sizeValue) Type() string   { return "size" }
func (v *sizeValue) String() string { return formatSize(*v.p) }

func (v *sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// parseSize parses a size as documented on sizeValue.
func parseSize(s string) (int64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("a size must not be negative")
	}
	num, unit := splitNumber(s)
	if num == "" {
		return 0, errors.New("want a number of bytes with an optional unit, e.g. 512MiB, 2G, 100MB")
	}
	mult, ok := sizeUnits[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("unknown size unit %q (use B, K/KiB, M/MiB, G/GiB, T/TiB or KB, MB, GB, TB)", unit)
	}
	whole, frac, err := splitDecimal(num)
	if err != nil {
		return 0, err
	}
	n, ok := scaleDecimal(whole, frac, mult)
	if !ok {
		return 0, fmt.Errorf("too large: the maximum is %d bytes", int64(math.MaxInt64))
	}
	if n.rem {
		return 0, errors.New("not a whole number of bytes")
	}
	return n.val, nil
}

// formatSize renders n in the largest binary unit that divides it exactly,
// so that parseSize(formatSize(n)) == n.
func formatSize(n int64) string {
	units := []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	if n != 0 {
		for _, u := range units {
			if n%u.mult == 0 {
				return strconv.FormatInt(n/u.mult, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(n, 10)
}

// durationValue is a duration flag (pflag.Value). It accepts what
// time.ParseDuration accepts ("ns", "us", "µs", "ms", "s", "m", "h", with
// decimal fractions and sequences such as "1h30m") plus "d" for 24 hours:
// "90d", "2d12h", "1.5h", "500ms". Weeks, months and years are not accepted
// (they are ambiguous). Negative values are rejected; "0" is allowed.
type durationValue struct {
	p *time.Duration
}

func newDurationValue(def time.Duration, p *time.Duration) *durationValue {
	*p = def
	return &durationValue{p: p}
}

func (v *durationValue) Type() string   { return "duration" }
func (v *durationValue) String() string { return formatDurationFlag(*v.p) }

func (v *durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

var durationUnits = map[string]int64{
	"ns": int64(time.Nanosecond),
	"us": int64(time.Microsecond),
	"µs": int64(time.Microsecond), // U+00B5
	"μs": int64(time.Microsecond), // U+03BC
	"ms": int64(time.Millisecond),
	"s":  int64(time.Second),
	"m":  int64(time.Minute),
	"h":  int64(time.Hour),
	"d":  int64(24 * time.Hour),
}

// parseDuration parses a duration as documented on durationValue.
func parseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("a duration must not be negative")
	}
	rest := strings.TrimPrefix(s, "+")
	if rest == "" {
		return 0, errors.New("want a number and a unit, e.g. 90d, 24h, 1h30m, 500ms")
	}
	var total int64
	for rest != "" {
		num, after := splitNumber(rest)
		if num == "" {
			return 0, errors.New("want a number and a unit, e.g. 90d, 24h, 1h30m, 500ms")
		}
		unit := after
		if i := strings.IndexAny(after, "0123456789."); i >= 0 {
			unit = after[:i]
		}
		rest = after[len(unit):]
		if unit == "" {
			return 0, fmt.Errorf("missing unit after %q (use d, h, m, s, ms, us or ns)", num)
		}
		mult, ok := durationUnits[unit]
		if !ok {
			return 0, fmt.Errorf("unknown duration unit %q (use d, h, m, s, ms, us or ns)", unit)
		}
		whole, frac, err := splitDecimal(num)
		if err != nil {
			return 0, err
		}
		n, ok := scaleDecimal(whole, frac, mult)
		if !ok || total > math.MaxInt64-n.val {
			return 0, errors.New("too long: the maximum is about 106751d")
		}
		total += n.val // sub-nanosecond remainders are dropped, as time.ParseDuration does
	}
	return time.Duration(total), nil
}

// formatDurationFlag renders d with days, so that
// parseDuration(formatDurationFlag(d)) == d: "90d", "1d12h", "1h30m",
// "1m500ms", "500ms".
func formatDurationFlag(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		// Not accepted by Set, but defaults are set in code.
		b.WriteByte('-')
		if d == math.MinInt64 {
			return time.Duration(d).String()
		}
		d = -d
	}
	for _, u := range []struct {
		name string
		unit time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}} {
		if d >= u.unit {
			fmt.Fprintf(&b, "%d%s", d/u.unit, u.name)
			d %= u.unit
		}
	}
	if d > 0 {
		b.WriteString(d.String()) // "30s", "1.5s", "500ms", "250µs"
	}
	return b.String()
}

// splitNumber splits s into a leading decimal number (digits and at most
// the dots they contain) and the rest.
func splitNumber(s string) (num, rest string) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	return s[:i], s[i:]
}

// splitDecimal splits "12.34" into "12" and "34", rejecting "", ".", "1.2.3".
func splitDecimal(num string) (whole, frac string, err error) {
	whole, frac, _ = strings.Cut(num, ".")
	if whole == "" && frac == "" || strings.Contains(frac, ".") {
		return "", "", fmt.Errorf("malformed number %q", num)
	}
	return whole, frac, nil
}

type scaled struct {
	val int64 // whole part of whole.frac × mult
	rem bool  // whether whole.frac × mult has a fractional part
}

// maxNumberLen caps the digits parseSize and parseDuration look at, so a
// flag value cannot make the exact arithmetic below expensive.
const maxNumberLen = 40

// scaleDecimal computes whole.frac × mult exactly, reporting ok=false when
// the result does not fit in an int64.
func scaleDecimal(whole, frac string, mult int64) (scaled, bool) {
	if len(whole)+len(frac) > maxNumberLen {
		return scaled{}, false
	}
	num, ok := new(big.Int).SetString(whole+frac+"0", 10) // "0" keeps it non-empty
	if !ok {
		return scaled{}, false
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))+1), nil)
	num.Mul(num, big.NewInt(mult))
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if !q.IsInt64() {
		return scaled{}, false
	}
	return scaled{val: q.Int64(), rem: r.Sign() != 0}, true
}

// enumValue is a string flag restricted to a fixed set of words
// (pflag.Value). Its allowed words are offered as shell completions.
type enumValue struct {
	p       *string
	allowed []string
	typ     string
}

// newEnumValue returns an enum flag value of type name typ (shown in help,
// e.g. "format") that accepts only allowed and starts as def.
func newEnumValue(typ string, allowed []string, def string, p *string) *enumValue {
	*p = def
	return &enumValue{p: p, allowed: allowed, typ: typ}
}

func (v *enumValue) Type() string   { return v.typ }
func (v *enumValue) String() string { return *v.p }

func (v *enumValue) Set(s string) error {
	for _, a := range v.allowed {
		if s == a {
			*v.p = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(v.allowed, ", "))
}
