package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// jsonl writes JSON Lines: one object per line. Every object must be a
// struct (or pointer to one) with a field tagged `json:"type"`; the
// libraries' report types carry it. Commands never build JSON by hand.
type jsonl struct {
	enc *json.Encoder
}

func newJSONL(w io.Writer) *jsonl {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonl{enc: enc}
}

// encode writes v as one line.
func (j *jsonl) encode(v any) error {
	if !hasTypeField(reflect.TypeOf(v)) {
		return fmt.Errorf("internal error: %T has no `json:\"type\"` field", v)
	}
	if err := j.enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

var typeFieldCache sync.Map // reflect.Type → bool

// hasTypeField reports whether t is a struct, or a pointer to one, with a
// field (possibly promoted from an embedded struct) named "type" in JSON.
func hasTypeField(t reflect.Type) bool {
	if t == nil {
		return false
	}
	if v, ok := typeFieldCache.Load(t); ok {
		return v.(bool)
	}
	ok := structHasTypeField(t, 0)
	typeFieldCache.Store(t, ok)
	return ok
}

func structHasTypeField(t reflect.Type, depth int) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || depth > 8 {
		return false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "type" || name == "" && f.IsExported() && strings.EqualFold(f.Name, "type") {
			return true
		}
		if f.Anonymous && name == "" && structHasTypeField(f.Type, depth+1) {
			return true
		}
	}
	return false
}

// byteCount is a table cell holding a size: human units on a terminal
// ("1.5 MiB"), the raw number of bytes when piped.
type byteCount int64

// table renders rows for people or for scripts.
//
// On a terminal (tty): tablewriter with a header row, sizes in human units,
// durations as h:mm:ss.mmm, times in local time, zero times as "-".
//
// Piped: no header, one line per row, cells separated by a tab, sizes in
// bytes, durations in whole milliseconds, times in RFC 3339 UTC, zero times
// empty. Backslash, tab, CR and newline inside a cell are written as \\,
// \t, \r and \n so that every row stays one line with a fixed column count.
type table struct {
	w      io.Writer
	tty    bool
	loc    *time.Location // for tty times
	header []string
	rows   [][]string
}

// newTable starts a table on ios.Out in the mode ios.IsTerminalOut picks.
func newTable(ios IO, header ...string) *table {
	return &table{w: ios.Out, tty: ios.IsTerminalOut(), loc: time.Local, header: header}
}

// row adds a row. Cells may be string, byteCount, time.Time, time.Duration,
// any integer, bool or fmt.Stringer.
func (t *table) row(cells ...any) {
	r := make([]string, len(cells))
	for i, c := range cells {
		r[i] = t.cell(c)
	}
	t.rows = append(t.rows, r)
}

func (t *table) cell(c any) string {
	var s string
	switch v := c.(type) {
	case string:
		s = v
	case byteCount:
		if t.tty {
			s = humanBytes(int64(v))
		} else {
			s = strconv.FormatInt(int64(v), 10)
		}
	case time.Time:
		switch {
		case v.IsZero() && t.tty:
			s = "-"
		case v.IsZero():
			s = ""
		case t.tty:
			s = v.In(t.loc).Format("2006-01-02 15:04:05 MST")
		default:
			s = v.UTC().Format(time.RFC3339Nano)
		}
	case time.Duration:
		if t.tty {
			s = formatClock(v)
		} else {
			s = strconv.FormatInt(v.Milliseconds(), 10)
		}
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case uint64:
		s = strconv.FormatUint(v, 10)
	case bool:
		s = strconv.FormatBool(v)
	case fmt.Stringer:
		s = v.String()
	default:
		s = fmt.Sprint(v)
	}
	if !t.tty {
		s = escapeField(s)
	}
	return s
}

var fieldEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\r", `\r`, "\n", `\n`)

func escapeField(s string) string {
	if !strings.ContainsAny(s, "\\\t\r\n") {
		return s
	}
	return fieldEscaper.Replace(s)
}

// render writes the table.
func (t *table) render() error {
	if !t.tty {
		var b strings.Builder
		for _, r := range t.rows {
			b.WriteString(strings.Join(r, "\t"))
			b.WriteByte('\n')
		}
		_, err := io.WriteString(t.w, b.String())
		return err
	}
	var buf strings.Builder
	tbl := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Lines:      tw.LinesNone,
				Separators: tw.SeparatorsNone,
			},
		})),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: "  ", Overwrite: true}),
	)
	if len(t.header) > 0 {
		hdr := make([]any, len(t.header))
		for i, h := range t.header {
			hdr[i] = h
		}
		tbl.Header(hdr...)
	}
	for _, r := range t.rows {
		if err := tbl.Append(r); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	// Drop the padding after the last column.
	var b strings.Builder
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		b.WriteString(strings.TrimRight(line, " \n"))
		if strings.HasSuffix(line, "\n") {
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// humanBytes formats n with 1024-based units and one decimal: "512 B",
// "1.5 KiB", "2.0 GiB". Values are rounded to the nearest tenth.
func humanBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 && n > -1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n) // n == MinInt64 wraps to 1<<63, still correct
	}
	// Tenths of the unit, rounded half up, in integer arithmetic.
	exp, div := 0, uint64(1024)
	for u/div >= 1024 && exp < len(units)-1 {
		div *= 1024
		exp++
	}
	tenths := (u/div)*10 + ((u%div)*10+div/2)/div
	if tenths >= 10240 && exp < len(units)-1 {
		// Rounded up to 1024.0 of this unit: show 1.0 of the next.
		exp++
		tenths = 10
	}
	sign := ""
	if neg {
		sign = "-"
	}
	return fmt.Sprintf("%s%d.%d %ciB", sign, tenths/10, tenths%10, units[exp])
}

// formatClock formats d as h:mm:ss.mmm ("0:00:03.000", "27:46:40.250"),
// truncated to the millisecond.
func formatClock(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign = "-"
		d = -d
	}
	ms := d.Milliseconds()
	return fmt.Sprintf("%s%d:%02d:%02d.%03d", sign, ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
