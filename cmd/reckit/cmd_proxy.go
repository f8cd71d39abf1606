package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/reckit/reckit/record"
	"github.com/reckit/reckit/record/rfb"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// proxyOptions are the flags of reckit proxy.
type proxyOptions struct {
	listen      string
	target      string
	dir         string
	fps         float64
	quality     int
	keyInterval time.Duration
	encoder     string
	cursor      bool
	maxPartSize int64
	maxDuration time.Duration
	minFree     int64

	tlsCert, tlsKey string // viewer side: terminate TLS with this certificate
	tlsCA           string // server side: verify a VeNCrypt server with this CA
	tlsServerName   string
}

func (o *proxyOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.listen, "listen", "127.0.0.1:5900", "accept viewers on `ADDR` (host:port, or a unix socket path)")
	fs.StringVar(&o.target, "target", "", "the VNC server, `HOST:PORT` or a unix socket path")
	fs.StringVar(&o.dir, "dir", "", "write one recording per viewer connection into `DIR`")
	fs.Float64Var(&o.fps, "fps", 15, "frames per second of the recordings")
	fs.IntVar(&o.quality, "quality", 0, "encoder quality 1..100, higher is better (default 80)")
	fs.Var(newDurationValue(10*time.Second, &o.keyInterval), "keyframe-interval", "a key frame at least every `DUR`")
	fs.Var(newEnumValue("encoder", encoderNames(), "pure-go", &o.encoder), "encoder", "VP8 encoder: "+strings.Join(encoderNames(), " or "))
	fs.BoolVar(&o.cursor, "cursor", true, "draw the viewer's cursor into the recordings (--cursor=false leaves it out)")
	fs.Var(newSizeValue(512<<20, &o.maxPartSize), "max-part-size", "no part larger than `SIZE`: a new part starts before it")
	fs.Var(newDurationValue(24*time.Hour, &o.maxDuration), "max-duration", "end a recording (not the session) after `DUR`")
	fs.Var(newSizeValue(100<<20, &o.minFree), "min-free", "do not record below `SIZE` free on the recordings filesystem")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "viewers: require TLS (VeNCrypt X509), with the certificate in `FILE` (PEM; with --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "viewers: the private key of --tls-cert, in `FILE` (PEM)")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "server: use TLS (VeNCrypt X509) when the server offers it, verifying its certificate with the CA certificates in `FILE` (PEM)")
	fs.StringVar(&o.tlsServerName, "tls-server-name", "", "server: the `NAME` its certificate must carry (default: the host of --target; localhost for a unix socket)")
}

func newProxyCommand(g *globals) *cobra.Command {
	opts := &proxyOptions{}
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --target HOST:PORT --dir DIR [flags]",
		Short: "Relay VNC viewers to a server and record every session",
		Long: longHelp(`Relay VNC (RFB) viewers to one server and record every session that
passes through: one recording directory (docs/layout.md) per viewer
connection under DIR, with the target as the device and the viewer's
address as the user, parts of at most --max-part-size and a manifest kept
up to date as parts close, exactly as reckit record writes them.

The proxy never needs the password: VNC Authentication passes through
untouched. It offers viewers only what it can relay: security None or VNC
Authentication, whichever the server asks for (both when the server offers
both). It rewrites every SetEncodings a viewer sends to the encodings it
decodes (Raw, CopyRect, RRE, Hextile, Zlib, ZRLE, Tight and the Cursor,
DesktopSize, ExtendedDesktopSize, LastRect pseudo-encodings), follows the
viewer's SetPixelFormat and forwards input untouched. A session the proxy
cannot decode is ended rather than relayed unrecorded.

TLS is terminated at the proxy, on each side independently:

    --tls-cert FILE --tls-key FILE
        viewers must use TLS: the proxy offers them only VeNCrypt with
        X509Vnc (when the server asks for a VNC password, which is then
        relayed inside TLS) or X509None, and presents this certificate
        (PEM; a chain may follow it). Viewers speaking RFB 3.3 cannot do
        VeNCrypt and are refused. Give the viewers the CA that signed it
        (TigerVNC: -X509CA FILE -SecurityTypes X509Vnc,X509None).
    --tls-ca FILE [--tls-server-name NAME]
        when the server offers VeNCrypt X509None or X509Vnc, the proxy
        uses it, verifying the server's certificate with these CA
        certificates (PEM) for NAME (default: the host of --target;
        localhost for a unix socket). Without --tls-ca a server that
        offers only VeNCrypt is refused.

The anonymous-TLS VeNCrypt types (TLSNone, TLSVnc) cannot be used: Go's
TLS has no anonymous key exchange. A certificate, key or CA file that
cannot be read or parsed fails at start (exit status 1).

A viewer or server that disconnects ends that recording cleanly (a
finalized file); the proxy keeps serving others. SIGINT/SIGTERM stop
accepting, finalize every open recording and exit 0. With --json, one
line per finished recording, with the security used on each side.`),
		Example: `  reckit proxy --listen 0.0.0.0:5900 --target 10.0.0.5:5900 --dir /srv/recordings
  xtigervncviewer localhost::5900
  reckit proxy --listen 0.0.0.0:5900 --target vnc1.example.com:5900 --dir /srv/recordings \
      --tls-cert proxy.pem --tls-key proxy.key --tls-ca site-ca.pem
  xtigervncviewer -X509CA site-ca.pem -SecurityTypes X509Vnc,X509None proxy.example.com::5900`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.target == "" || opts.dir == "" {
				return usageErrorf(cmd, "proxy needs --target HOST:PORT and --dir DIR")
			}
			if opts.quality < 0 || opts.quality > 100 {
				return usageErrorf(cmd, "--quality %d: want 1..100", opts.quality)
			}
			if opts.fps <= 0 || opts.fps > 1000 {
				return usageErrorf(cmd, "--fps %g: want 0 < fps <= 1000", opts.fps)
			}
			if (opts.tlsCert == "") != (opts.tlsKey == "") {
				return usageErrorf(cmd, "--tls-cert and --tls-key go together: give both or neither")
			}
			if opts.tlsServerName != "" && opts.tlsCA == "" {
				return usageErrorf(cmd, "--tls-server-name needs --tls-ca FILE")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProxy(cmd.Context(), opts, g, args)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// proxyRecord is proxy's JSON output, one per finished recording.
type proxyRecord struct {
	Type       string   `json:"type"` // "recording"
	Path       string   `json:"path"` // the recording directory
	Viewer     string   `json:"viewer"`
	Target     string   `json:"target"`
	Start      string   `json:"start"`
	End        string   `json:"end"`
	Parts      []string `json:"parts"` // the part files, in order
	Frames     int64    `json:"frames"`
	Dropped    int64    `json:"dropped_frames"`
	Bytes      int64    `json:"bytes"`
	DurationMS int64    `json:"duration_ms"`
	Width      int      `json:"width"` // of the first part
	Height     int      `json:"height"`
	StopReason string   `json:"stop_reason"`
	// The security used on each side: None, VncAuth, X509None or X509Vnc
	// (the last two: VeNCrypt, TLS).
	ViewerSecurity string `json:"viewer_security"`
	ServerSecurity string `json:"server_security"`
}

// network returns "unix" for a path, else "tcp".
func network(addr string) string {
	if strings.Contains(addr, "/") {
		return "unix"
	}
	return "tcp"
}

func runProxy(ctx context.Context, opts *proxyOptions, g *globals, _ []string) error {
	if fi, err := os.Stat(opts.dir); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("--dir %s: not a directory", opts.dir)
	}
	factory, err := encoderFactory(opts.encoder)
	if err != nil {
		return err
	}
	var pcfg rfb.ProxyConfig
	if opts.tlsCert != "" {
		if pcfg.ViewerTLS, err = loadServerTLS(opts.tlsCert, opts.tlsKey); err != nil {
			return err
		}
	}
	if opts.tlsCA != "" {
		name := tlsServerName(opts.tlsServerName, network(opts.target), opts.target)
		if pcfg.ServerTLS, err = loadClientTLS(opts.tlsCA, name); err != nil {
			return err
		}
	}
	ln, err := net.Listen(network(opts.listen), opts.listen)
	if err != nil {
		return err
	}
	g.notef("proxy: listening on %s, relaying to %s, recording into %s", ln.Addr(), opts.target, opts.dir)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var (
		wg    sync.WaitGroup
		outMu sync.Mutex
		jsonl = newJSONL(g.io.Out)
	)
	for {
		vc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			g.warnf("proxy: accept: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := proxySession(ctx, opts, g, factory, pcfg, vc)
			outMu.Lock()
			defer outMu.Unlock()
			if errors.Is(err, rfb.ErrNeedServerTLS) {
				err = fmt.Errorf("%w (give the CA of its certificate with --tls-ca FILE)", err)
			}
			if err != nil {
				g.warnf("proxy: viewer %s: %v", vc.RemoteAddr(), err)
			}
			if rec == nil {
				return
			}
			if g.json {
				jsonl.encode(rec)
				return
			}
			g.notef("wrote %s: viewer %s, %d frames, %dx%d, %s (%s)", rec.Path, rec.Viewer, rec.Frames, rec.Width, rec.Height,
				humanBytes(rec.Bytes), rec.StopReason)
		}()
	}
	ln.Close()
	wg.Wait()
	return nil
}

// viewerName makes a file-name part of a viewer address.
func viewerName(addr net.Addr) string {
	s := addr.String()
	if s == "" || s == "@" {
		return "local"
	}
	r := strings.NewReplacer(":", "_", "[", "", "]", "", "/", "_", "@", "")
	return r.Replace(s)
}

// proxySession relays and records one viewer connection. It returns the
// recording made, if any.
func proxySession(ctx context.Context, opts *proxyOptions, g *globals, factory record.EncoderFactory, pcfg rfb.ProxyConfig, vc net.Conn) (*proxyRecord, error) {
	start := g.now().UTC()
	d := net.Dialer{Timeout: 10 * time.Second}
	sc, err := d.DialContext(ctx, network(opts.target), opts.target)
	if err != nil {
		vc.Close()
		return nil, err
	}
	p := rfb.NewProxySessionConfig(vc, sc, pcfg)
	stop := context.AfterFunc(ctx, func() { p.Close() })
	deadline := time.Now().Add(60 * time.Second)
	vc.SetDeadline(deadline)
	sc.SetDeadline(deadline)
	err = p.Handshake()
	stop()
	if err != nil {
		p.Close()
		return nil, err
	}
	vc.SetDeadline(time.Time{})
	sc.SetDeadline(time.Time{})
	viewer := vc.RemoteAddr().String()
	src, err := record.NewVNCProxySource(p, "vnc-proxy:"+opts.target, record.SourceOptions{FPS: opts.fps, HideCursor: !opts.cursor})
	if err != nil {
		p.Close()
		return nil, err
	}
	defer src.Close()
	sid := make([]byte, 8)
	if _, err := rand.Read(sid); err != nil {
		return nil, err
	}
	res, rerr := record.RecordSession(ctx, src, record.SessionOptions{
		Root: opts.dir, Device: opts.target, User: viewer, SessionID: hex.EncodeToString(sid),
		Source: "vnc-proxy:" + opts.target, Recorder: "reckit " + versionString(), Start: start, Now: g.now,
		Title:   "VNC session of " + viewer + " to " + opts.target,
		Encoder: factory, Quality: opts.quality, KeyframeInterval: opts.keyInterval,
		MaxPartSize: opts.maxPartSize, MaxDuration: opts.maxDuration, MinFree: opts.minFree, Realtime: true,
	})
	src.Close()
	if res == nil || res.Frames == 0 {
		return nil, rerr
	}
	rec := &proxyRecord{Type: "recording", Path: res.Dir, Viewer: viewer, Target: opts.target,
		Start: start.Format(time.RFC3339), End: g.now().UTC().Format(time.RFC3339), Parts: []string{},
		Frames: res.Frames, Dropped: res.Dropped, Bytes: res.Bytes, DurationMS: res.Duration.Milliseconds(),
		ViewerSecurity: rfb.SecurityName(p.ViewerSecurity), ServerSecurity: rfb.SecurityName(p.ServerSecurity)}
	if m := res.Manifest; m != nil {
		rec.StopReason = m.StopReason
		for i, p := range m.Parts {
			rec.Parts = append(rec.Parts, filepath.Join(res.Dir, p.Name))
			if i == 0 {
				rec.Width, rec.Height = p.Width, p.Height
			}
		}
	}
	return rec, rerr
}
