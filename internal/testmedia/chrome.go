package testmedia

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// chromeTimeout bounds one Chromium session beyond the recording time itself.
const chromeTimeout = 60 * time.Second

// maxUpload caps what the test server accepts from the page, so a runaway
// page cannot make the test allocate without bound.
const maxUpload = 256 << 20

// chromeMu serialises Chromium sessions: each one is a browser with several
// processes, and test machines are small.
var chromeMu sync.Mutex

// ChromeSpec describes a Chrome MediaRecorder recording for ChromeRecord.
type ChromeSpec struct {
	Seconds       float64 // recording length (wall clock); default 1
	Width, Height int     // canvas size; default 160x120
	// Alpha records a transparent canvas. Chrome then writes each frame as a
	// BlockGroup whose BlockAdditions (ID 1) carry the alpha plane as a
	// second VP8 frame; without Alpha the canvas is opaque, as a screen or
	// camera capture is, and its frames are SimpleBlocks. Either way
	// Chromium 156 sets the track's AlphaMode to 1: it does not tell the
	// two apart, the BlockAdditions do.
	Alpha bool
	// Audio adds an audio track to the recorded stream: a 440 Hz sine from
	// WebAudio (an OscillatorNode into a MediaStreamAudioDestinationNode),
	// recorded with mimeType 'video/webm;codecs=vp8,opus'. Chrome then
	// writes the video as track 1 and Opus (48 kHz) as track 2, in
	// SimpleBlocks interleaved by time in the same Clusters.
	Audio bool
	// KeyInterval asks MediaRecorder for a key frame at least this often
	// (its videoKeyFrameIntervalDuration option, whole milliseconds). Zero
	// leaves Chrome's default, which in practice makes only the first
	// frame a key frame.
	KeyInterval time.Duration
}

func (s ChromeSpec) withDefaults() ChromeSpec {
	if s.Seconds == 0 {
		s.Seconds = 1
	}
	if s.Width == 0 {
		s.Width = 160
	}
	if s.Height == 0 {
		s.Height = 120
	}
	return s
}

// recorderEntry is one cached MediaRecorder file; once guards the recording.
type recorderEntry struct {
	once sync.Once
	data []byte
	err  error
}

var (
	recorderMu    sync.Mutex
	recorderCache = map[ChromeSpec]*recorderEntry{}
)

// chromeFPS is the frame rate the recording page draws its canvas at and
// passes to canvas.captureStream.
const chromeFPS = 30

// ChromeMediaRecorder returns the path of a new file in dir holding a real
// Chrome MediaRecorder recording of an opaque w x h canvas for the given
// seconds; see ChromeRecord.
func ChromeMediaRecorder(t testing.TB, dir string, seconds float64, w, h int) string {
	t.Helper()
	return ChromeRecord(t, dir, ChromeSpec{Seconds: seconds, Width: w, Height: h})
}

// ChromeRecord returns the path of a new file in dir holding a real Chrome
// MediaRecorder recording: a canvas animated at 30 fps, captured with
// canvas.captureStream(30) and recorded for s.Seconds with
// new MediaRecorder(stream, {mimeType: 'video/webm;codecs=vp8'}) (with
// s.Audio, a WebAudio track added and 'video/webm;codecs=vp8,opus') and a
// 250 ms timeslice, the Blob posted back to the test.
//
// Such files have the MediaRecorder shape reckit must handle (observed with
// Chromium 156): EBML DocTypeVersion 4; an unknown-size Segment holding only
// Info (muxing and writing application "Chrome", TimestampScale 1 ms, no
// Duration), Tracks (V_VP8 with a Colour element, and AlphaMode 1 and
// MaxBlockAdditionID 1 even for an opaque canvas, whose blocks have no
// BlockAdditions) and unknown-size Clusters;
// no SeekHead, Cues, Tags or Void. Frame timestamps follow the wall clock, so
// the frame count is only roughly Seconds*30 and gaps are irregular. With
// s.Audio the Tracks also hold A_OPUS as track 2 (48 kHz, 2 channels,
// OpusHead CodecPrivate, no CodecDelay, SeekPreRoll or DefaultDuration);
// its SimpleBlocks (60 ms packets, also on the wall clock, so their gaps
// jitter around 60 ms) interleave with the video's in the same Clusters.
// Chrome's default makes only the first video frame a key frame; see
// ChromeSpec.KeyInterval. The recording is made once per ChromeSpec per
// test process and copied into dir on each call, since starting Chromium
// takes seconds.
func ChromeRecord(t testing.TB, dir string, s ChromeSpec) string {
	t.Helper()
	s = s.withDefaults()
	if s.Seconds < 0 || s.Width <= 0 || s.Height <= 0 || s.KeyInterval < 0 {
		t.Fatalf("testmedia: ChromeRecord(%+v): want positive seconds and size, a key interval not negative", s)
	}
	Require(t, "chromium")
	recorderMu.Lock()
	e := recorderCache[s]
	if e == nil {
		e = &recorderEntry{}
		recorderCache[s] = e
	}
	recorderMu.Unlock()
	e.once.Do(func() { e.data, e.err = chromeRecord(s) })
	if e.err != nil {
		t.Fatal(e.err)
	}
	out := newFile(t, dir, fmt.Sprintf("chrome-%dx%d-*.webm", s.Width, s.Height))
	if err := os.WriteFile(out, e.data, 0o644); err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	return out
}

var recordPage = template.Must(template.New("record").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>testmedia record</title></head>
<body style="margin:0">
<canvas id="c" width="{{.W}}" height="{{.H}}"></canvas>
<script>
const W = {{.W}}, H = {{.H}}, FPS = {{.FPS}}, MS = {{.MS}}, ALPHA = {{.Alpha}}, AUDIO = {{.Audio}}, KEYMS = {{.KeyMS}};
let failed = false;
function fail(e) {
  if (failed) return;
  failed = true;
  fetch('/fail', {method: 'POST', body: String((e && (e.stack || e.message)) || e)});
}
window.onerror = function (msg) { fail(msg); };
try {
  const c = document.getElementById('c');
  const g = c.getContext('2d', {alpha: ALPHA});
  let n = 0;
  function draw() {
    n++;
    g.fillStyle = 'hsl(' + ((n * 7) % 360) + ',70%,50%)';
    g.fillRect(0, 0, W, H);
    g.fillStyle = '#fff';
    g.fillRect((n * 4) % W, (n * 3) % H, W / 4, H / 4);
    g.fillStyle = '#000';
    g.fillRect(0, H - 8, (n * 2) % W, 8);
  }
  draw();
  setInterval(draw, 1000 / FPS);
  const mime = AUDIO ? 'video/webm;codecs=vp8,opus' : 'video/webm;codecs=vp8';
  if (!MediaRecorder.isTypeSupported(mime)) throw new Error('MediaRecorder does not support ' + mime);
  const stream = c.captureStream(FPS);
  function begin() {
    const opts = {mimeType: mime};
    if (KEYMS > 0) opts.videoKeyFrameIntervalDuration = KEYMS;
    const rec = new MediaRecorder(stream, opts);
    const chunks = [];
    rec.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
    rec.onerror = function (e) { fail(e.error || 'MediaRecorder error'); };
    rec.onstop = function () {
      fetch('/upload', {method: 'POST', body: new Blob(chunks, {type: 'video/webm'})}).catch(fail);
    };
    rec.start(250);
    setTimeout(function () { rec.stop(); }, MS);
  }
  if (!AUDIO) {
    begin();
  } else {
    // A tone, not silence, so the Opus packets carry signal. Recording
    // starts once the AudioContext runs: headless Chromium starts it
    // without a user gesture only with --autoplay-policy=
    // no-user-gesture-required (in chromeArgs); without it, resume()
    // never settles (Chromium 156), so give up after 10 s with a reason.
    const ac = new AudioContext({sampleRate: 48000});
    const osc = ac.createOscillator();
    osc.frequency.value = 440;
    const gain = ac.createGain();
    gain.gain.value = 0.5;
    const dest = ac.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    stream.addTrack(dest.stream.getAudioTracks()[0]);
    const stuck = setTimeout(function () { fail('AudioContext did not start within 10 s: ' + ac.state); }, 10000);
    ac.resume().then(function () {
      clearTimeout(stuck);
      if (ac.state !== 'running') throw new Error('AudioContext is ' + ac.state + ', not running');
      begin();
    }).catch(fail);
  }
} catch (e) { fail(e); }
</script>
</body></html>
`))

// chromeRecord runs one MediaRecorder session and returns the file's bytes.
func chromeRecord(s ChromeSpec) ([]byte, error) {
	ms := int(math.Round(s.Seconds * 1000))
	got := make(chan []byte, 1)
	failed := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /record", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = recordPage.Execute(rw, struct {
			W, H, FPS, MS, KeyMS int
			Alpha, Audio         bool
		}{s.Width, s.Height, chromeFPS, ms, int(s.KeyInterval.Milliseconds()), s.Alpha, s.Audio})
	})
	mux.HandleFunc("POST /upload", func(rw http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxUpload))
		if err != nil {
			sendOnce(failed, "upload: "+err.Error())
			return
		}
		select {
		case got <- b:
		default:
		}
	})
	mux.HandleFunc("POST /fail", func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		sendOnce(failed, string(b))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var data []byte
	err := runChrome(srv.URL+"/record", time.Duration(ms)*time.Millisecond+chromeTimeout, func(ctx context.Context) error {
		select {
		case data = <-got:
			return nil
		case msg := <-failed:
			return fmt.Errorf("page reported: %s", msg)
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("testmedia: Chromium MediaRecorder %+v: %w", s, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("testmedia: Chromium MediaRecorder %+v: empty recording", s)
	}
	return data, nil
}

// sendOnce sends s on c unless c already holds a value.
func sendOnce(c chan string, s string) {
	select {
	case c <- s:
	default:
	}
}

// Playback is what Chromium's <video> element reported for a file.
type Playback struct {
	Duration   float64 // video.duration after loadedmetadata: +Inf for unknown-duration files, NaN if metadata never loaded
	SeekTarget float64 // duration/2, when Duration was finite and positive
	SeekOK     bool    // the seek to SeekTarget completed ('seeked' fired) with no media error
	FrameTime  float64 // media time of the first frame presented after the seek (requestVideoFrameCallback); -1 if none within 3 s
	ReadyState int     // video.readyState after the seek (or after loadedmetadata)
	Error      string  // a MediaError or timeout, if any
}

var playPage = template.Must(template.New("play").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>testmedia play</title></head>
<body>
<script>
const out = {duration: 'NaN', seekTarget: 0, seekOK: false, frameTime: -1, readyState: 0, error: ''};
let sent = false;
function send() {
  if (sent) return;
  sent = true;
  fetch('/result', {method: 'POST', body: JSON.stringify(out)});
}
const v = document.createElement('video');
v.muted = true;
v.preload = 'auto';
v.onerror = function () {
  out.error = 'MediaError ' + (v.error ? v.error.code + ' ' + v.error.message : '?');
  out.readyState = v.readyState;
  send();
};
v.onloadedmetadata = function () {
  const d = v.duration;
  out.duration = String(d);
  out.readyState = v.readyState;
  if (!isFinite(d) || d <= 0) { send(); return; }
  out.seekTarget = d / 2;
  const timer = setTimeout(function () { out.error = 'seek timed out'; out.readyState = v.readyState; send(); }, {{.SeekMS}});
  let seeked = false, framed = false;
  function done() {
    if (!seeked || !framed) return;
    clearTimeout(timer);
    out.readyState = v.readyState;
    send();
  }
  v.onseeked = function () {
    seeked = true;
    out.seekOK = !v.error;
    // The frame shown after a seek is presented after 'seeked'; wait a
    // moment for it, then report without it.
    setTimeout(function () { framed = true; done(); }, {{.FrameMS}});
    done();
  };
  if (v.requestVideoFrameCallback) {
    // The first frame presented may still be the one from before the seek
    // (a loaded machine paints it late): keep listening until a frame near
    // the target shows, or until the wait after 'seeked' ends.
    const onFrame = function (now, meta) {
      out.frameTime = meta.mediaTime;
      if (Math.abs(meta.mediaTime - out.seekTarget) > 0.25) {
        v.requestVideoFrameCallback(onFrame);
        return;
      }
      framed = true;
      done();
    };
    v.requestVideoFrameCallback(onFrame);
  }
  v.currentTime = out.seekTarget;
};
setTimeout(function () { if (!sent) { out.error = 'loadedmetadata timed out'; out.readyState = v.readyState; send(); } }, {{.MetaMS}});
v.src = '/media.webm';
document.body.appendChild(v);
</script>
</body></html>
`))

// ChromePlay opens webmPath in headless Chromium's <video> element, served
// over HTTP with range requests (http.ServeContent), waits for
// loadedmetadata, and, when the duration is finite, seeks to the middle and
// waits for 'seeked'. It reports what the browser saw; a media error is
// reported in Playback.Error, not as a test failure. dir receives Chromium's
// temporary profile, removed before returning.
func ChromePlay(t testing.TB, dir, webmPath string) Playback {
	t.Helper()
	Require(t, "chromium")
	f, err := os.Open(webmPath)
	if err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	results := make(chan []byte, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /play", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = playPage.Execute(rw, struct{ SeekMS, MetaMS, FrameMS int }{10000, 20000, 3000})
	})
	mux.HandleFunc("GET /media.webm", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "video/webm")
		// Each request gets its own reader over the shared file.
		http.ServeContent(rw, r, "media.webm", fi.ModTime(), io.NewSectionReader(f, 0, fi.Size()))
	})
	mux.HandleFunc("POST /result", func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		select {
		case results <- b:
		default:
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var raw []byte
	err = runChromeIn(dir, srv.URL+"/play", chromeTimeout, func(ctx context.Context) error {
		select {
		case raw = <-results:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err != nil {
		t.Fatalf("testmedia: Chromium playback of %s: %v", webmPath, err)
	}
	var j struct {
		Duration   string  `json:"duration"`
		SeekTarget float64 `json:"seekTarget"`
		SeekOK     bool    `json:"seekOK"`
		FrameTime  float64 `json:"frameTime"`
		ReadyState int     `json:"readyState"`
		Error      string  `json:"error"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatalf("testmedia: Chromium playback of %s: result %q: %v", webmPath, raw, err)
	}
	p := Playback{SeekTarget: j.SeekTarget, SeekOK: j.SeekOK, FrameTime: j.FrameTime, ReadyState: j.ReadyState, Error: j.Error}
	// JavaScript's String(x) spells the non-finite values "Infinity" and
	// "NaN"; ParseFloat accepts both.
	p.Duration, err = strconv.ParseFloat(j.Duration, 64)
	if err != nil {
		p.Duration = math.NaN()
	}
	return p
}

// ChromePlayback is ChromePlay reduced to the two facts repair tests check:
// the duration the browser shows (+Inf for an unknown-duration file, NaN if
// it could not load the file) and whether seeking to the middle worked. A
// media error is logged.
func ChromePlayback(t testing.TB, dir, webmPath string) (duration float64, seekOK bool) {
	t.Helper()
	p := ChromePlay(t, dir, webmPath)
	if p.Error != "" {
		t.Logf("testmedia: Chromium playback of %s: %s", webmPath, p.Error)
	}
	return p.Duration, p.SeekOK
}

// chromeArgs are the flags every session uses, before the profile and URL.
var chromeArgs = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
	"--no-default-browser-check", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--disable-extensions",
	"--disable-default-apps", "--disable-dev-shm-usage", "--mute-audio",
	"--autoplay-policy=no-user-gesture-required",
	// Keep timers and rendering at full rate although no window is visible.
	"--disable-background-timer-throttling", "--disable-renderer-backgrounding",
	"--disable-backgrounding-occluded-windows",
}

// runChrome is runChromeIn with the profile in the system temp directory.
func runChrome(url string, timeout time.Duration, wait func(context.Context) error) error {
	return runChromeIn("", url, timeout, wait)
}

// runChromeIn starts headless Chromium on url with a fresh profile under dir
// (the system temp directory if dir is ""), calls wait until it returns, the
// browser exits, or timeout passes, then kills the browser's whole process
// group, waits for it and removes the profile. No process or goroutine
// outlives the call.
func runChromeIn(dir, url string, timeout time.Duration, wait func(context.Context) error) error {
	path, err := lookTool("chromium")
	if err != nil {
		return err
	}
	chromeMu.Lock()
	defer chromeMu.Unlock()
	profile, err := os.MkdirTemp(dir, "chromium-profile-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)

	args := append(append([]string{}, chromeArgs...),
		"--user-data-dir="+profile,
		"--crash-dumps-dir="+filepath.Join(profile, "crashes"),
		url)
	cmd := exec.Command(path, args...)
	// Chromium makes org.chromium.Chromium.* scratch directories under
	// TMPDIR and leaves some behind: give it a directory of its own,
	// removed below, with a short path (it puts a unix socket there).
	scratch, err := os.MkdirTemp("", "crtmp")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	cmd.Env = append(os.Environ(), "TMPDIR="+scratch)
	stderr := &tailWriter{max: 8 << 10}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- wait(ctx) }()

	select {
	case err = <-waited:
		// Ask the browser to quit so it reaps its helpers; kill the whole
		// group if it has not within a few seconds, and in any case kill
		// whatever is left of the group afterwards.
		terminateProcess(cmd)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			killProcessGroup(cmd)
			<-exited
		}
		killProcessGroup(cmd)
	case werr := <-exited:
		cancel()
		<-waited
		killProcessGroup(cmd) // children may survive the launcher
		err = fmt.Errorf("chromium exited early (%v): %s", werr, stderr.String())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no result from the page within %v; chromium said: %s", timeout, stderr.String())
	}
	return err
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > w.max {
		w.b = append(w.b[:0], w.b[len(w.b)-w.max:]...)
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return tail(w.b)
}
