package layout

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden")

var t0 = time.Date(2026, 11, 22, 5, 59, 13, 250e6, time.UTC)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// fullManifest returns a manifest that uses every field.
func fullManifest(t testing.TB) *Manifest {
	t.Helper()
	m := NewManifest("WS-042", "alice", "sess-7f3a", "vnc://10.0.0.5:5900", t0)
	m.Title = "quarterly patching"
	m.Recorder = "reckit 1.0.0"
	parts := []Part{
		{Name: "20261122T055913.250Z-m0-001.webm", SizeBytes: 536870000, SHA256: sha("part1"),
			Start: t0, End: t0.Add(10 * time.Minute), DurationMS: 600000, Width: 1920, Height: 1080,
			Monitor: "m0", FPS: 30, SplitReason: SplitStart, Frames: 18000, DroppedFrames: 3},
		{Name: "20261122T060913.250Z-m0-002.webm", SizeBytes: 1234, SHA256: sha("part2"),
			Start: t0.Add(10 * time.Minute), End: t0.Add(11 * time.Minute), DurationMS: 60000, Width: 1080, Height: 1920,
			Monitor: "m0", FPS: 29.97, SplitReason: SplitResolution, Frames: 1798},
	}
	for _, p := range parts {
		if err := m.AppendPart(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SetState(StateComplete); err != nil {
		t.Fatal(err)
	}
	m.End = t0.Add(11 * time.Minute)
	m.StopReason = StopSignal
	m.DroppedFrames = 3
	m.SetLock("bob", "case 4711", t0.Add(time.Hour))
	m.AddNote("carol", "reviewed, nothing found", t0.Add(2*time.Hour))
	m.AddNote("dave", "second opinion: \"ok\" <a&b> ü", t0.Add(3*time.Hour))
	return m
}

func encode(t testing.TB, m *Manifest) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, m); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b.Bytes()
}

func TestManifestGolden(t *testing.T) {
	got := encode(t, fullManifest(t))
	golden := filepath.Join("testdata", "manifest.golden")
	if *updateGolden {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Encode(fullManifest) =\n%s\nwant (testdata/manifest.golden)\n%s", got, want)
	}
	m, err := Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatalf("Decode(golden): %v", err)
	}
	if again := encode(t, m); !bytes.Equal(again, want) {
		t.Errorf("Encode(Decode(golden)) =\n%s\nwant the golden file", again)
	}
	if err := m.VerifyChain(); err != nil {
		t.Errorf("VerifyChain(golden) = %v, want nil", err)
	}
}

func TestUnknownFieldsSurvive(t *testing.T) {
	in := `{"schema_version":1,"device":"d","user":"u","session_id":"s","source":"demo","title":"",
	"state":"complete","start_time":"2026-11-22T06:59:13.25+01:00","dropped_frames":0,
	"parts":[{"name":"a.webm","size_bytes":5,"sha256":"","duration_ms":0,"width":0,"height":0,
	  "monitor":"","split_reason":"start","frames":0,"dropped_frames":0,
	  "future_part":{"x":[1,2]},"Zeta":true}],
	"notes":[{"time":"2026-11-22T05:59:13Z","author":"a","text":"t","mood":"calm"}],
	"lock":{"by":"b","time":"2026-11-22T05:59:13Z","reason":"r","ticket":42},
	"future_top":"kept","another":null}`
	m, err := Decode(strings.NewReader(in))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	tests := []struct {
		name string
		got  json.RawMessage
		want string
	}{
		{"top-level", m.Extra["future_top"], `"kept"`},
		{"top-level null", m.Extra["another"], `null`},
		{"part", m.Parts[0].Extra["future_part"], `{"x":[1,2]}`},
		{"part upper case", m.Parts[0].Extra["Zeta"], `true`},
		{"note", m.Notes[0].Extra["mood"], `"calm"`},
		{"lock", m.Lock.Extra["ticket"], `42`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.got) != tc.want {
				t.Errorf("Extra = %s, want %s", tc.got, tc.want)
			}
		})
	}
	if want := time.Date(2026, 11, 22, 5, 59, 13, 250e6, time.UTC); !m.Start.Equal(want) {
		t.Errorf("Start = %v, want %v", m.Start, want)
	}
	// Write and read again: every unknown member is still there, and the
	// second encoding equals the first.
	out := encode(t, m)
	m2, err := Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("Decode(Encode): %v", err)
	}
	if out2 := encode(t, m2); !bytes.Equal(out, out2) {
		t.Errorf("second encoding differs:\n%s\nvs\n%s", out, out2)
	}
	for _, key := range []string{`"future_top": "kept"`, `"another": null`, `"future_part": {`, `"Zeta": true`, `"mood": "calm"`, `"ticket": 42`, `"start_time": "2026-11-22T05:59:13.250Z"`} {
		if !bytes.Contains(out, []byte(key)) {
			t.Errorf("Encode output lacks %s:\n%s", key, out)
		}
	}
}

func TestExtraCannotShadowKnownField(t *testing.T) {
	m := fullManifest(t)
	m.Extra = map[string]json.RawMessage{"state": json.RawMessage(`"hacked"`), "STATE": json.RawMessage(`"x"`), "ok": json.RawMessage(`1`)}
	out := encode(t, m)
	back, err := Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if back.State != StateComplete {
		t.Errorf("State after extra \"state\" = %q, want %q", back.State, StateComplete)
	}
	// Keys are case-sensitive: "STATE" is an unknown member, kept.
	if len(back.Extra) != 2 || string(back.Extra["ok"]) != "1" || string(back.Extra["STATE"]) != `"x"` {
		t.Errorf("Extra = %s, want STATE:\"x\" and ok:1", back.Extra)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := func(edit func(map[string]any)) string {
		var v map[string]any
		if err := json.Unmarshal(encode(t, fullManifest(t)), &v); err != nil {
			t.Fatal(err)
		}
		edit(v)
		b, _ := json.Marshal(v)
		return string(b)
	}
	part := func(v map[string]any) map[string]any { return v["parts"].([]any)[0].(map[string]any) }
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"not json", "{", ErrInvalidManifest},
		{"array", "[]", ErrInvalidManifest},
		{"no version", `{"state":"complete"}`, ErrSchemaVersion},
		{"version 2", good(func(v map[string]any) { v["schema_version"] = 2 }), ErrSchemaVersion},
		{"version string", good(func(v map[string]any) { v["schema_version"] = "1" }), ErrSchemaVersion},
		{"bad state", good(func(v map[string]any) { v["state"] = "done" }), ErrInvalidManifest},
		{"bad time", good(func(v map[string]any) { v["start_time"] = "yesterday" }), ErrInvalidManifest},
		{"time before year 0 in UTC", good(func(v map[string]any) { v["end_time"] = "0000-01-01T00:00:00+01:00" }), ErrInvalidManifest},
		{"part path", good(func(v map[string]any) { part(v)["name"] = "../../etc/passwd" }), ErrInvalidManifest},
		{"part dotdot", good(func(v map[string]any) { part(v)["name"] = ".." }), ErrInvalidManifest},
		{"part empty", good(func(v map[string]any) { part(v)["name"] = "" }), ErrInvalidManifest},
		{"duplicate part", good(func(v map[string]any) { v["parts"] = []any{part(v), part(v)} }), ErrInvalidManifest},
		{"negative size", good(func(v map[string]any) { part(v)["size_bytes"] = -1 }), ErrInvalidManifest},
		{"float size", good(func(v map[string]any) { part(v)["size_bytes"] = 1.5 }), ErrInvalidManifest},
		{"upper hex", good(func(v map[string]any) { part(v)["sha256"] = strings.ToUpper(sha("x")) }), ErrInvalidManifest},
		{"short chain", good(func(v map[string]any) { v["chain_sha256"] = "abc" }), ErrInvalidManifest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(strings.NewReader(tc.in))
			if !errors.Is(err, tc.want) {
				t.Errorf("Decode(%.60s...) = %v, %v, want %v", tc.in, m != nil, err, tc.want)
			}
		})
	}
}

func TestDecodeSizeCap(t *testing.T) {
	// A valid manifest padded with whitespace just past the cap.
	base := encode(t, fullManifest(t))
	big := append(bytes.Repeat([]byte(" "), MaxManifestSize+1-len(base)), base...)
	if _, err := Decode(bytes.NewReader(big)); !errors.Is(err, ErrManifestTooLarge) {
		t.Errorf("Decode(%d bytes) error = %v, want ErrManifestTooLarge", len(big), err)
	}
	atCap := big[1:]
	if _, err := Decode(bytes.NewReader(atCap)); err != nil {
		t.Errorf("Decode(%d bytes) error = %v, want nil", len(atCap), err)
	}
	m := fullManifest(t)
	m.Title = strings.Repeat("x", MaxManifestSize)
	if err := Encode(&bytes.Buffer{}, m); !errors.Is(err, ErrManifestTooLarge) {
		t.Errorf("Encode(title of %d bytes) error = %v, want ErrManifestTooLarge", len(m.Title), err)
	}
}

func TestChainDefinition(t *testing.T) {
	// Recompute the chain straight from docs/layout.md, independently of
	// ChainSeed and ChainNext.
	m := fullManifest(t)
	h := sha256.Sum256([]byte("reckit/layout/chain/v1\x00" + "sess-7f3a"))
	c := h[:]
	for i, p := range m.Parts {
		d, _ := hex.DecodeString(p.SHA256)
		var buf []byte
		buf = append(buf, c...)
		buf = append(buf, d...)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(p.Name)))
		buf = append(buf, p.Name...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(p.SizeBytes))
		s := sha256.Sum256(buf)
		c = s[:]
		if got, want := p.Chain, hex.EncodeToString(c); got != want {
			t.Errorf("part %d chain_sha256 = %s, want %s", i, got, want)
		}
	}
	if got, want := m.Chain, hex.EncodeToString(c); got != want {
		t.Errorf("chain_sha256 = %s, want %s", got, want)
	}
	empty := NewManifest("d", "u", "sess-7f3a", "demo", t0)
	if got, want := empty.Chain, hex.EncodeToString(h[:]); got != want {
		t.Errorf("NewManifest chain_sha256 = %s, want chain_0 %s", got, want)
	}
}

func TestVerifyChain(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(m *Manifest)
		wantPart int // -2: no error
	}{
		{"intact", func(m *Manifest) {}, -2},
		{"size changed", func(m *Manifest) { m.Parts[0].SizeBytes++ }, 0},
		{"hash changed", func(m *Manifest) { m.Parts[1].SHA256 = sha("other") }, 1},
		{"renamed", func(m *Manifest) { m.Parts[1].Name = "x.webm" }, 1},
		{"part dropped", func(m *Manifest) { m.Parts = m.Parts[1:] }, 0},
		{"reordered", func(m *Manifest) { m.Parts[0], m.Parts[1] = m.Parts[1], m.Parts[0] }, 0},
		{"session changed", func(m *Manifest) { m.SessionID = "other" }, 0},
		{"head changed", func(m *Manifest) { m.Chain = sha("x") }, -1},
		{"last part dropped", func(m *Manifest) { m.Parts = m.Parts[:1] }, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := fullManifest(t)
			tc.edit(m)
			err := m.VerifyChain()
			if tc.wantPart == -2 {
				if err != nil {
					t.Fatalf("VerifyChain() = %v, want nil", err)
				}
				return
			}
			var ce *ChainError
			if !errors.As(err, &ce) || !errors.Is(err, ErrChain) {
				t.Fatalf("VerifyChain() = %v, want a *ChainError", err)
			}
			if ce.Part != tc.wantPart {
				t.Errorf("VerifyChain().Part = %d, want %d", ce.Part, tc.wantPart)
			}
			if err := m.RechainParts(); err != nil {
				t.Fatal(err)
			}
			if err := m.VerifyChain(); err != nil {
				t.Errorf("VerifyChain() after RechainParts = %v, want nil", err)
			}
		})
	}
}

func TestAppendPartRejects(t *testing.T) {
	tests := []struct {
		name string
		p    Part
		want error
	}{
		{"no hash", Part{Name: "b.webm"}, ErrChain},
		{"path", Part{Name: "a/b.webm", SHA256: sha("x")}, ErrInvalidManifest},
		{"duplicate", Part{Name: "20261122T055913.250Z-m0-001.webm", SHA256: sha("x")}, ErrInvalidManifest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := fullManifest(t)
			if err := m.AppendPart(tc.p); !errors.Is(err, tc.want) {
				t.Errorf("AppendPart(%+v) = %v, want %v", tc.p, err, tc.want)
			}
			if len(m.Parts) != 2 {
				t.Errorf("len(Parts) after failed AppendPart = %d, want 2", len(m.Parts))
			}
		})
	}
}

func TestStateMachine(t *testing.T) {
	states := []string{StateRecording, StateComplete, StateInterrupted, StatePurging}
	allowed := map[[2]string]bool{
		{StateRecording, StateComplete}:    true,
		{StateRecording, StateInterrupted}: true,
		{StateRecording, StatePurging}:     true,
		{StateInterrupted, StateComplete}:  true,
		{StateInterrupted, StatePurging}:   true,
		{StateComplete, StatePurging}:      true,
	}
	for _, from := range states {
		for _, to := range states {
			want := from == to || allowed[[2]string{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if CanTransition(StateComplete, "deleted") {
		t.Errorf("CanTransition(complete, deleted) = true, want false")
	}
	m := &Manifest{State: StatePurging}
	if err := m.SetState(StateComplete); !errors.Is(err, ErrBadTransition) || m.State != StatePurging {
		t.Errorf("SetState(purging to complete) = %v, state %s; want ErrBadTransition, purging", err, m.State)
	}
}

func TestEffectiveState(t *testing.T) {
	tests := []struct {
		state string
		held  bool
		want  string
	}{
		{StateRecording, true, StateRecording},
		{StateRecording, false, StateInterrupted},
		{StateComplete, false, StateComplete},
		{StateComplete, true, StateComplete},
		{StatePurging, false, StatePurging},
		{StateInterrupted, false, StateInterrupted},
	}
	for _, tc := range tests {
		t.Run(tc.state, func(t *testing.T) {
			m := &Manifest{State: tc.state}
			if got := m.EffectiveState(tc.held); got != tc.want {
				t.Errorf("EffectiveState(%v) of %s = %s, want %s", tc.held, tc.state, got, tc.want)
			}
		})
	}
}

func TestLockAndNotes(t *testing.T) {
	m := NewManifest("d", "u", "s", "demo", t0)
	m.SetLock("bob", "hold", time.Date(2026, 1, 2, 4, 5, 6, 7_891_234, time.FixedZone("x", 3600)))
	if !m.Locked() || m.Lock.By != "bob" || m.Lock.Reason != "hold" || !m.Lock.Time.Equal(time.Date(2026, 1, 2, 3, 5, 6, 7e6, time.UTC)) {
		t.Errorf("SetLock: Lock = %+v, want bob/hold at 03:05:06.007Z", m.Lock)
	}
	m.ClearLock()
	if m.Locked() {
		t.Errorf("Locked() after ClearLock = true, want false")
	}
	m.AddNote("a", "one", t0)
	m.AddNote("b", "two", t0.Add(time.Second))
	if len(m.Notes) != 2 || m.Notes[1].Author != "b" || m.Notes[1].Text != "two" {
		t.Errorf("Notes = %+v, want two notes, the second by b", m.Notes)
	}
}

func FuzzManifest(f *testing.F) {
	f.Add(encode(f, fullManifest(f)))
	f.Add([]byte(`{"schema_version":1,"state":"recording","x":{"y":[]},"parts":[{"name":"a","z":1}]}`))
	f.Add([]byte(`{"schema_version":1,"state":"complete","start_time":"9999-12-31T23:59:59.999999999-01:00"}`))
	f.Add([]byte(`{"schema_version":1,"state":"complete","ſtate":"x","STATE":"purging"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b1 bytes.Buffer
		if err := Encode(&b1, m); err != nil {
			t.Fatalf("Encode(Decode(%q)) error %v", data, err)
		}
		m2, err := Decode(bytes.NewReader(b1.Bytes()))
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) error %v\n%s", data, err, b1.Bytes())
		}
		var b2 bytes.Buffer
		if err := Encode(&b2, m2); err != nil {
			t.Fatalf("second Encode error %v", err)
		}
		if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
			t.Fatalf("encoding not stable for %q:\n%s\nvs\n%s", data, b1.Bytes(), b2.Bytes())
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	data := encode(b, fullManifest(b))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	m := fullManifest(b)
	for b.Loop() {
		if err := Encode(io.Discard, m); err != nil {
			b.Fatal(err)
		}
	}
}
