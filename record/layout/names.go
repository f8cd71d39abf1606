package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrBadName reports a recording-directory or part name that does not follow
// docs/layout.md ("Names"). Errors returned by the Parse functions wrap it.
var ErrBadName = errors.New("layout: bad name")

// Name limits and defaults (docs/layout.md, "Names").
const (
	// MaxDeviceLen is the longest sanitized device token, in bytes.
	MaxDeviceLen = 64
	// MaxMonitorLen is the longest sanitized monitor token, in bytes.
	MaxMonitorLen = 32
	// ShortSessionLen is the length of the session token in a recording
	// directory name: the first hex digits of SHA-256(session id).
	ShortSessionLen = 8
	// UnknownDevice replaces an empty device name.
	UnknownDevice = "unknown"
	// DefaultMonitor replaces an empty monitor name: the first monitor.
	DefaultMonitor = "m0"
	// PartExt is the extension of a finished part.
	PartExt = ".webm"
	// PartialExt is appended to a part's final name while it is written.
	PartialExt = ".partial"
)

const (
	recTimeLen  = len("20060102T150405Z")
	partTimeLen = len("20060102T150405.000Z")
	minPartNum  = 1
	maxPartNum  = 999_999_999
)

// RecordingName is the parsed form of a recording directory name
// "<UTC start to the second>-<device>-<session token>", for example
// "20261122T055913Z-ws-042-3f2a9c1e".
type RecordingName struct {
	Start   time.Time // UTC start, whole seconds
	Device  string    // device token, see SanitizeDevice
	Session string    // session token, ShortSessionLen lowercase hex digits
}

// PartName is the parsed form of a part file name
// "<UTC start to the ms>-<monitor>-<part number>.webm", for example
// "20261122T055913.250Z-m0-001.webm".
type PartName struct {
	Start   time.Time // UTC start, whole milliseconds
	Monitor string    // monitor token, see SanitizeMonitor
	Number  int       // 1-based part number, at least 3 digits in the name
}

// SanitizeDevice maps a device name to the device token used in directory
// names: ASCII letters are lowercased, ASCII digits and ".", "_", "-" are
// kept, every other rune (and every invalid UTF-8 byte) becomes "_"; the
// result is cut to MaxDeviceLen bytes, and an empty result is UnknownDevice.
func SanitizeDevice(s string) string {
	return sanitize(s, MaxDeviceLen, UnknownDevice)
}

// SanitizeMonitor maps a monitor name (an index such as "m1" or an output
// name such as "HDMI-1") to the monitor token used in part names, with the
// rules of SanitizeDevice, cut to MaxMonitorLen bytes; an empty result is
// DefaultMonitor.
func SanitizeMonitor(s string) string {
	return sanitize(s, MaxMonitorLen, DefaultMonitor)
}

// MonitorToken returns the conventional token of the zero-based monitor
// index i: "m0", "m1", ...
func MonitorToken(i int) string { return "m" + strconv.Itoa(i) }

// ShortSession returns the session token of a recording directory name: the
// first ShortSessionLen lowercase hex digits of SHA-256(sessionID).
func ShortSession(sessionID string) string {
	sum := sha256.Sum256([]byte(sessionID))
	return hex.EncodeToString(sum[:])[:ShortSessionLen]
}

func sanitize(s string, max int, empty string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return empty
	}
	return b.String()
}

func isToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isShortSession(s string) bool {
	if len(s) != ShortSessionLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NewRecordingName returns the name of the recording of sessionID on device
// that started at start: the time is taken in UTC and truncated to the
// second, the device sanitized, the session id hashed with ShortSession.
func NewRecordingName(start time.Time, device, sessionID string) RecordingName {
	return RecordingName{
		Start:   start.UTC().Truncate(time.Second),
		Device:  SanitizeDevice(device),
		Session: ShortSession(sessionID),
	}
}

// FormatRecordingName returns the directory name of n. Device is sanitized
// with SanitizeDevice; Start is taken in UTC and truncated to the second. It
// fails with ErrBadName if the year is outside 0000..9999 or Session is not
// ShortSessionLen lowercase hex digits.
func FormatRecordingName(n RecordingName) (string, error) {
	t := n.Start.UTC().Truncate(time.Second)
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("%w: year %d outside 0000..9999", ErrBadName, y)
	}
	if !isShortSession(n.Session) {
		return "", fmt.Errorf("%w: session token %q is not %d lowercase hex digits", ErrBadName, n.Session, ShortSessionLen)
	}
	return t.Format("20060102T150405Z") + "-" + SanitizeDevice(n.Device) + "-" + n.Session, nil
}

// String returns the directory name of n, or "" if FormatRecordingName
// fails.
func (n RecordingName) String() string {
	s, _ := FormatRecordingName(n)
	return s
}

// ParseRecordingName parses a recording directory name. It accepts only the
// canonical form FormatRecordingName produces, so that
// FormatRecordingName(ParseRecordingName(s)) == s.
func ParseRecordingName(s string) (RecordingName, error) {
	bad := func(why string) (RecordingName, error) {
		return RecordingName{}, fmt.Errorf("%w: recording %q: %s", ErrBadName, s, why)
	}
	if len(s) < recTimeLen+1+1+1+ShortSessionLen {
		return bad("too short")
	}
	t, ok := parseStamp(s[:recTimeLen], false)
	if !ok {
		return bad("bad start time")
	}
	if s[recTimeLen] != '-' {
		return bad("no '-' after the start time")
	}
	rest := s[recTimeLen+1:]
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return bad("no session token")
	}
	dev, sess := rest[:i], rest[i+1:]
	if !isToken(dev, MaxDeviceLen) {
		return bad("bad device token")
	}
	if !isShortSession(sess) {
		return bad("bad session token")
	}
	return RecordingName{Start: t, Device: dev, Session: sess}, nil
}

// FormatPartName returns the file name of part n. Monitor is sanitized with
// SanitizeMonitor; Start is taken in UTC and truncated to the millisecond;
// the part number is zero-padded to three digits. It fails with ErrBadName if
// the year is outside 0000..9999 or Number is outside 1..999999999.
func FormatPartName(n PartName) (string, error) {
	t := n.Start.UTC().Truncate(time.Millisecond)
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("%w: year %d outside 0000..9999", ErrBadName, y)
	}
	if n.Number < minPartNum || n.Number > maxPartNum {
		return "", fmt.Errorf("%w: part number %d outside %d..%d", ErrBadName, n.Number, minPartNum, maxPartNum)
	}
	return fmt.Sprintf("%s-%s-%03d%s", t.Format("20060102T150405.000Z"), SanitizeMonitor(n.Monitor), n.Number, PartExt), nil
}

// String returns the file name of n, or "" if FormatPartName fails.
func (n PartName) String() string {
	s, _ := FormatPartName(n)
	return s
}

// ParsePartName parses a part file name (a final name, not a partial one).
// It accepts only the canonical form FormatPartName produces, so that
// FormatPartName(ParsePartName(s)) == s.
func ParsePartName(s string) (PartName, error) {
	bad := func(why string) (PartName, error) {
		return PartName{}, fmt.Errorf("%w: part %q: %s", ErrBadName, s, why)
	}
	base, ok := strings.CutSuffix(s, PartExt)
	if !ok {
		return bad("no " + PartExt + " extension")
	}
	if len(base) < partTimeLen+1+1+1+3 {
		return bad("too short")
	}
	t, ok := parseStamp(base[:partTimeLen], true)
	if !ok {
		return bad("bad start time")
	}
	if base[partTimeLen] != '-' {
		return bad("no '-' after the start time")
	}
	rest := base[partTimeLen+1:]
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return bad("no part number")
	}
	mon, num := rest[:i], rest[i+1:]
	if !isToken(mon, MaxMonitorLen) {
		return bad("bad monitor token")
	}
	if len(num) < 3 || len(num) > 9 || (len(num) > 3 && num[0] == '0') || !allDigits(num) {
		return bad("bad part number")
	}
	v, _ := strconv.Atoi(num)
	if v < minPartNum {
		return bad("part number below 1")
	}
	return PartName{Start: t, Monitor: mon, Number: v}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseStamp parses "20060102T150405Z" or, with ms, "20060102T150405.000Z"
// strictly: fixed width, digits only, a valid calendar date and clock time.
func parseStamp(s string, ms bool) (time.Time, bool) {
	want := recTimeLen
	if ms {
		want = partTimeLen
	}
	if len(s) != want || s[8] != 'T' || s[len(s)-1] != 'Z' || !utf8.ValidString(s) {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		if !allDigits(s[i : i+n]) {
			return -1
		}
		v, _ := strconv.Atoi(s[i : i+n])
		return v
	}
	y, mo, d := num(0, 4), num(4, 2), num(6, 2)
	h, mi, se := num(9, 2), num(11, 2), num(13, 2)
	msec := 0
	if ms {
		if s[15] != '.' {
			return time.Time{}, false
		}
		msec = num(16, 3)
	}
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 || msec < 0 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, msec*int(time.Millisecond), time.UTC)
	if t.Day() != d || t.Month() != time.Month(mo) {
		return time.Time{}, false // such as 20260230
	}
	return t, true
}

// PartialName returns the name a part carries while it is written:
// name + ".partial". A final name always holds a complete file.
func PartialName(name string) string { return name + PartialExt }

// IsPartial reports whether name is the name of a part being written (or
// left behind by a crash while it was written).
func IsPartial(name string) bool { return strings.HasSuffix(name, PartialExt) }

// FinalName returns the final name of a partial name, and false if name is
// not a partial name.
func FinalName(name string) (string, bool) {
	f, ok := strings.CutSuffix(name, PartialExt)
	if !ok || f == "" {
		return "", false
	}
	return f, true
}
