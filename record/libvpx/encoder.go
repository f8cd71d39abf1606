//go:build libvpx

package libvpx

// The C side owns every libvpx object: the codec contexts, the input
// picture, the active map and the encoded packets live in C memory, so C
// never sees a Go pointer (cgo pointer rules). libvpx's control calls are
// variadic, which cgo cannot call, hence the small wrappers below.
//
// The input picture is padded to whole macroblocks: libvpx's lookahead has
// a macroblock-wise copy for frames with an active map that reads whole
// 16x16 blocks even where the picture ends inside one (vp8_lookahead_push),
// so an unpadded picture could be read past its end by a libvpx version
// that takes that path. The padding holds copies of the last column and
// row, as libvpx's own border extension does.

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

typedef struct {
	vpx_codec_ctx_t enc;
	int enc_open;
	vpx_image_t *img; // the input, allocated padded to whole macroblocks
	unsigned char *map;
	unsigned int rows, cols;
	int map_on;
	vpx_codec_pts_t pts;
	const unsigned char *pkt;
	size_t pkt_size;
	int pkt_key;

	vpx_codec_ctx_t dec;
	int dec_open;
} rk_enc;

static const char *rk_err_string(vpx_codec_err_t err) { return vpx_codec_err_to_string(err); }

static const char *rk_detail(rk_enc *e) {
	const char *d = vpx_codec_error_detail(&e->enc);
	return d ? d : "";
}

// rk_new allocates the state of a width x height encoder at libvpx quantizer
// q (0..63) and opens it; with dec set it opens a decoder as well. On error
// *out is still set when it could be allocated and must be freed with
// rk_free.
static vpx_codec_err_t rk_new(rk_enc **out, unsigned int w, unsigned int h, unsigned int q, int dec) {
	rk_enc *e = calloc(1, sizeof(rk_enc));
	*out = e;
	if (!e) return VPX_CODEC_MEM_ERROR;
	vpx_codec_enc_cfg_t cfg;
	vpx_codec_err_t err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0);
	if (err) return err;
	cfg.g_w = w;
	cfg.g_h = h;
	cfg.g_threads = 1;
	cfg.g_timebase.num = 1;
	cfg.g_timebase.den = 15;
	cfg.g_pass = VPX_RC_ONE_PASS;
	cfg.g_lag_in_frames = 0;
	cfg.g_error_resilient = 0;
	cfg.rc_end_usage = VPX_Q;
	cfg.rc_min_quantizer = q;
	cfg.rc_max_quantizer = q;
	cfg.rc_dropframe_thresh = 0;
	cfg.rc_resize_allowed = 0;
	cfg.rc_target_bitrate = 1000000;
	cfg.kf_mode = VPX_KF_DISABLED;
	err = vpx_codec_enc_init(&e->enc, vpx_codec_vp8_cx(), &cfg, 0);
	if (err) return err;
	e->enc_open = 1;
	if ((err = vpx_codec_control(&e->enc, VP8E_SET_CPUUSED, -8))) return err;
	if ((err = vpx_codec_control(&e->enc, VP8E_SET_CQ_LEVEL, q))) return err;
	if ((err = vpx_codec_control(&e->enc, VP8E_SET_NOISE_SENSITIVITY, 0))) return err;
	if ((err = vpx_codec_control(&e->enc, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION))) return err;
	e->cols = (w + 15) / 16;
	e->rows = (h + 15) / 16;
	e->img = vpx_img_alloc(NULL, VPX_IMG_FMT_I420, 16 * e->cols, 16 * e->rows, 32);
	if (!e->img) return VPX_CODEC_MEM_ERROR;
	if (vpx_img_set_rect(e->img, 0, 0, w, h)) return VPX_CODEC_INVALID_PARAM;
	e->map = calloc(e->rows, e->cols);
	if (!e->map) return VPX_CODEC_MEM_ERROR;
	if (dec) {
		if ((err = vpx_codec_dec_init(&e->dec, vpx_codec_vp8_dx(), NULL, 0))) return err;
		e->dec_open = 1;
	}
	return VPX_CODEC_OK;
}

static void rk_free(rk_enc *e) {
	if (!e) return;
	if (e->enc_open) vpx_codec_destroy(&e->enc);
	if (e->dec_open) vpx_codec_destroy(&e->dec);
	if (e->img) vpx_img_free(e->img);
	free(e->map);
	free(e);
}

// rk_encode encodes e->img. use_map selects the active map in e->map (1)
// or none (0). On success the frame is in e->pkt / e->pkt_size, valid until
// the next call.
static vpx_codec_err_t rk_encode(rk_enc *e, int force_key, int use_map) {
	vpx_codec_err_t err;
	if (use_map || e->map_on) {
		vpx_active_map_t m;
		m.active_map = use_map ? e->map : NULL;
		m.rows = e->rows;
		m.cols = e->cols;
		if ((err = vpx_codec_control(&e->enc, VP8E_SET_ACTIVEMAP, &m))) return err;
		e->map_on = use_map;
	}
	e->pkt = NULL;
	e->pkt_size = 0;
	err = vpx_codec_encode(&e->enc, e->img, e->pts, 1, force_key ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	if (err) return err;
	e->pts++;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *p;
	while ((p = vpx_codec_get_cx_data(&e->enc, &iter)) != NULL) {
		if (p->kind == VPX_CODEC_CX_FRAME_PKT && !e->pkt) {
			e->pkt = p->data.frame.buf;
			e->pkt_size = p->data.frame.sz;
			e->pkt_key = (p->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
		}
	}
	return VPX_CODEC_OK;
}

// rk_decode decodes the last encoded frame with the decoder and returns its
// picture (valid until the next decode), or NULL with *err set.
static vpx_image_t *rk_decode(rk_enc *e, vpx_codec_err_t *err) {
	*err = vpx_codec_decode(&e->dec, e->pkt, (unsigned int)e->pkt_size, NULL, 0);
	if (*err) return NULL;
	vpx_codec_iter_t iter = NULL;
	return vpx_codec_get_frame(&e->dec, &iter);
}

static const char *rk_version(void) { return vpx_codec_version_str(); }

static unsigned char *rk_plane(vpx_image_t *img, int i) { return img->planes[i]; }
static int rk_stride(vpx_image_t *img, int i) { return img->stride[i]; }
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"unsafe"

	"github.com/reckit/reckit/record"
)

// MaxQuantizer is the coarsest quantizer on libvpx's scale (0..63).
const MaxQuantizer = 63

var (
	// ErrSize reports a frame size outside 1x1..record.MaxWidth x
	// record.MaxHeight or over record.MaxPixels.
	ErrSize = errors.New("libvpx: invalid frame size")
	// ErrQuantizer reports a quantizer outside 0..MaxQuantizer.
	ErrQuantizer = errors.New("libvpx: quantizer out of range")
	// ErrQuality reports a quality outside 0..100.
	ErrQuality = errors.New("libvpx: quality out of range")
	// ErrImage reports an image that does not fit the encoder.
	ErrImage = errors.New("libvpx: image does not match the encoder")
	// ErrClosed reports a call on a closed Encoder.
	ErrClosed = errors.New("libvpx: encoder closed")
	// ErrNoFrame reports that libvpx returned no frame for an input (it
	// never should: frame dropping is off).
	ErrNoFrame = errors.New("libvpx: no frame returned")
	// ErrNoReconstruction reports Reconstruction on an encoder opened
	// without Options.Reconstruct.
	ErrNoReconstruction = errors.New("libvpx: reconstruction not enabled")
)

// CodecError is an error status returned by libvpx.
type CodecError struct {
	Op     string // the libvpx call, e.g. "vpx_codec_encode"
	Code   int    // vpx_codec_err_t
	Msg    string // vpx_codec_err_to_string
	Detail string // vpx_codec_error_detail, if any
}

func (e *CodecError) Error() string {
	s := fmt.Sprintf("libvpx: %s: %s", e.Op, e.Msg)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Options configure Open.
type Options struct {
	// Quantizer is libvpx's quantizer, 0..MaxQuantizer (finest to
	// coarsest), used as both the minimum and the maximum. libvpx maps it
	// to the bitstream's quantizer index 0..127 (RFC 6386, section 9.6)
	// with its own table; QIndex reports the index it becomes and
	// QuantizerFor picks the one matching a reckit quality.
	Quantizer int
	// Reconstruct attaches a libvpx VP8 decoder so that Reconstruction
	// can return what a decoder shows. Decoding happens in Reconstruction
	// (or, for a frame Reconstruction was not asked about, at the start of
	// the next Encode).
	Reconstruct bool
}

// Encoder is libvpx's VP8 encoder for one frame size. It implements
// record.Encoder. It holds C memory: Close frees it. record.Record does
// not call Close (record.Encoder has no Close); an Encoder that becomes
// unreachable without Close is freed by a cleanup when the garbage
// collector finds it. It is not safe for concurrent use.
type Encoder struct {
	c             *C.rk_enc
	cleanup       runtime.Cleanup
	width, height int
	mbw, mbh      int
	quantizer     int
	frames        int64
	out           []byte
	active        []byte    // C memory: the per-macroblock active map
	in            [3][]byte // C memory: the padded input planes Y, U, V
	inStride      [3]int
	reconstruct   bool
	pending       bool // the last frame is not decoded yet
	recon         *image.YCbCr
	err           error // sticky
}

// New returns a libvpx encoder for width x height frames at reckit's
// quality (1..100, 0 = vp8enc.DefaultQuality), mapped to the libvpx
// quantizer by QuantizerFor. It has the record.EncoderFactory signature.
func New(width, height, quality int) (record.Encoder, error) {
	q, err := QuantizerFor(quality)
	if err != nil {
		return nil, err
	}
	e, err := Open(width, height, Options{Quantizer: q})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Open returns a libvpx encoder for width x height frames. The caller
// should Close it.
func Open(width, height int, opts Options) (*Encoder, error) {
	if width < 1 || height < 1 || width > record.MaxWidth || height > record.MaxHeight ||
		width*height > record.MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d", ErrSize, width, height)
	}
	if opts.Quantizer < 0 || opts.Quantizer > MaxQuantizer {
		return nil, fmt.Errorf("%w: %d", ErrQuantizer, opts.Quantizer)
	}
	dec := C.int(0)
	if opts.Reconstruct {
		dec = 1
	}
	var c *C.rk_enc
	if err := C.rk_new(&c, C.uint(width), C.uint(height), C.uint(opts.Quantizer), dec); err != C.VPX_CODEC_OK {
		cerr := codecError(c, "vpx_codec_enc_init", err)
		C.rk_free(c)
		return nil, cerr
	}
	e := &Encoder{
		c:           c,
		width:       width,
		height:      height,
		mbw:         (width + 15) / 16,
		mbh:         (height + 15) / 16,
		quantizer:   opts.Quantizer,
		reconstruct: opts.Reconstruct,
	}
	e.active = unsafe.Slice((*byte)(unsafe.Pointer(c._map)), e.mbw*e.mbh)
	for i := range e.in {
		rows := 16 * e.mbh
		if i > 0 {
			rows = 8 * e.mbh
		}
		e.inStride[i] = int(C.rk_stride(c.img, C.int(i)))
		e.in[i] = unsafe.Slice((*byte)(unsafe.Pointer(C.rk_plane(c.img, C.int(i)))), e.inStride[i]*rows)
	}
	e.cleanup = runtime.AddCleanup(e, func(c *C.rk_enc) { C.rk_free(c) }, c)
	return e, nil
}

func codecError(c *C.rk_enc, op string, err C.vpx_codec_err_t) error {
	ce := &CodecError{Op: op, Code: int(err), Msg: C.GoString(C.rk_err_string(err))}
	if c != nil && c.enc_open != 0 {
		ce.Detail = C.GoString(C.rk_detail(c))
	}
	return ce
}

// Version returns the version of the libvpx library linked in, e.g.
// "v1.12.0".
func Version() string { return C.GoString(C.rk_version()) }

// Quantizer returns the libvpx quantizer (0..63) the encoder uses.
func (e *Encoder) Quantizer() int { return e.quantizer }

// Close frees the encoder's C memory. It is idempotent; after Close, Encode
// returns ErrClosed.
func (e *Encoder) Close() error {
	if e.c == nil {
		return nil
	}
	e.cleanup.Stop()
	C.rk_free(e.c)
	e.c = nil
	e.active = nil
	e.in = [3][]byte{}
	e.recon = nil
	runtime.KeepAlive(e)
	return nil
}

// Encode compresses img, a 4:2:0 image of the encoder's size with any
// strides, into one VP8 frame as stored in a WebM SimpleBlock (RFC 6386,
// section 9: frame tag, key frame header, partitions).
//
// hints, if non-nil, are the rectangles (in img's coordinates) changed
// since the previous frame: they become libvpx's active map (1 for every
// macroblock a hint touches, 0 elsewhere), so hints must cover every
// change. nil hints activate every macroblock. forceKey forces a key
// frame; the first frame is always one, and key frames ignore the hints.
//
// The returned frame aliases a buffer of the encoder that is valid until
// the next call to Encode.
func (e *Encoder) Encode(img *image.YCbCr, hints []image.Rectangle, forceKey bool) (frame []byte, key bool, err error) {
	if e.c == nil {
		return nil, false, ErrClosed
	}
	if e.err != nil {
		return nil, false, e.err
	}
	if e.pending {
		if _, err := e.decode(); err != nil {
			return nil, false, err
		}
	}
	if err := e.check(img); err != nil {
		return nil, false, err
	}
	forceKey = forceKey || e.frames == 0
	useMap := !forceKey && hints != nil
	if useMap {
		// Only the hinted macroblocks changed: copy just those. The
		// others hold the previous input, which is this input by the
		// hints' contract (and libvpx skips them).
		e.markActive(img.Rect.Min, hints)
		for mby := 0; mby < e.mbh; mby++ {
			row := e.active[mby*e.mbw : (mby+1)*e.mbw]
			for x := 0; x < e.mbw; {
				if row[x] == 0 {
					x++
					continue
				}
				end := x
				for end < e.mbw && row[end] != 0 {
					end++
				}
				e.load(img, image.Rect(16*x, 16*mby, 16*end, 16*mby+16))
				x = end
			}
		}
	} else {
		e.load(img, image.Rect(0, 0, 16*e.mbw, 16*e.mbh))
	}
	force, mapFlag := C.int(0), C.int(0)
	if forceKey {
		force = 1
	}
	if useMap {
		mapFlag = 1
	}
	if cerr := C.rk_encode(e.c, force, mapFlag); cerr != C.VPX_CODEC_OK {
		e.err = codecError(e.c, "vpx_codec_encode", cerr)
		return nil, false, e.err
	}
	if e.c.pkt == nil || e.c.pkt_size == 0 {
		e.err = fmt.Errorf("%w (frame %d)", ErrNoFrame, e.frames)
		return nil, false, e.err
	}
	e.out = append(e.out[:0], unsafe.Slice((*byte)(unsafe.Pointer(e.c.pkt)), int(e.c.pkt_size))...)
	e.frames++
	e.pending = e.reconstruct
	// The frame tag's bit 0 is 0 on key frames (RFC 6386, section 9.1).
	return e.out, e.out[0]&1 == 0, nil
}

// check reports whether img fits the encoder.
func (e *Encoder) check(img *image.YCbCr) error {
	if img == nil || img.Rect.Dx() != e.width || img.Rect.Dy() != e.height ||
		img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return ErrImage
	}
	cw, ch := (e.width+1)/2, (e.height+1)/2
	p := img.Rect.Min
	if img.YStride < e.width || img.CStride < cw ||
		img.YOffset(p.X, p.Y+e.height-1)+e.width > len(img.Y) ||
		img.COffset(p.X, p.Y+2*(ch-1))+cw > len(img.Cb) ||
		img.COffset(p.X, p.Y+2*(ch-1))+cw > len(img.Cr) {
		return fmt.Errorf("%w: planes too short", ErrImage)
	}
	return nil
}

// load copies the macroblock-aligned rectangle r (in the padded picture)
// of img into the C input, replicating the last column and row of img
// into the padding.
func (e *Encoder) load(img *image.YCbCr, r image.Rectangle) {
	p := img.Rect.Min
	for i, src := range [3][]byte{img.Y, img.Cb, img.Cr} {
		w, h, rr := e.width, e.height, r
		if i > 0 {
			w, h = (w+1)/2, (h+1)/2
			rr = image.Rect(r.Min.X/2, r.Min.Y/2, r.Max.X/2, r.Max.Y/2)
		}
		dst, ds := e.in[i], e.inStride[i]
		x1 := min(rr.Max.X, w)
		for y := rr.Min.Y; y < rr.Max.Y; y++ {
			sy := min(y, h-1)
			var o int
			if i == 0 {
				o = img.YOffset(p.X+rr.Min.X, p.Y+sy)
			} else {
				o = img.COffset(p.X+2*rr.Min.X, p.Y+2*sy)
			}
			d := dst[y*ds : y*ds+rr.Max.X]
			copy(d[rr.Min.X:x1], src[o:o+x1-rr.Min.X])
			for x := x1; x < rr.Max.X; x++ {
				d[x] = d[x1-1]
			}
		}
	}
}

// markActive fills the active map from hints.
func (e *Encoder) markActive(origin image.Point, hints []image.Rectangle) {
	clear(e.active)
	bounds := image.Rect(0, 0, e.width, e.height)
	for _, h := range hints {
		r := h.Sub(origin).Intersect(bounds)
		if r.Empty() {
			continue
		}
		for mby := r.Min.Y / 16; mby <= (r.Max.Y-1)/16; mby++ {
			row := e.active[mby*e.mbw : (mby+1)*e.mbw]
			for mbx := r.Min.X / 16; mbx <= (r.Max.X-1)/16; mbx++ {
				row[mbx] = 1
			}
		}
	}
}

// Reconstruction returns what libvpx's VP8 decoder outputs for the last
// encoded frame. It needs Options.Reconstruct. The image is valid until
// the next call to Encode and must not be modified.
func (e *Encoder) Reconstruction() (*image.YCbCr, error) {
	if e.c == nil {
		return nil, ErrClosed
	}
	if !e.reconstruct {
		return nil, ErrNoReconstruction
	}
	if e.frames == 0 {
		return nil, nil
	}
	if e.pending {
		return e.decode()
	}
	return e.recon, nil
}

// decode runs the last frame through the decoder into e.recon.
func (e *Encoder) decode() (*image.YCbCr, error) {
	e.pending = false
	var cerr C.vpx_codec_err_t
	ci := C.rk_decode(e.c, &cerr)
	if ci == nil {
		if cerr == C.VPX_CODEC_OK {
			e.err = fmt.Errorf("libvpx: decoder returned no picture for frame %d", e.frames-1)
		} else {
			e.err = &CodecError{Op: "vpx_codec_decode", Code: int(cerr), Msg: C.GoString(C.rk_err_string(cerr))}
		}
		return nil, e.err
	}
	if int(ci.d_w) != e.width || int(ci.d_h) != e.height {
		e.err = fmt.Errorf("libvpx: decoder returned %dx%d, want %dx%d", ci.d_w, ci.d_h, e.width, e.height)
		return nil, e.err
	}
	if e.recon == nil {
		e.recon = image.NewYCbCr(image.Rect(0, 0, e.width, e.height), image.YCbCrSubsampleRatio420)
	}
	cw, ch := (e.width+1)/2, (e.height+1)/2
	for i, plane := range [3][]byte{e.recon.Y, e.recon.Cb, e.recon.Cr} {
		w, h, ds := e.width, e.height, e.recon.YStride
		if i > 0 {
			w, h, ds = cw, ch, e.recon.CStride
		}
		stride := int(C.rk_stride(ci, C.int(i)))
		src := unsafe.Slice((*byte)(unsafe.Pointer(C.rk_plane(ci, C.int(i)))), stride*(h-1)+w)
		for r := 0; r < h; r++ {
			copy(plane[r*ds:r*ds+w], src[r*stride:r*stride+w])
		}
	}
	return e.recon, nil
}
