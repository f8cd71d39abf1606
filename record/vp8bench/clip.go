package vp8bench

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/reckit/reckit/record"
	"github.com/reckit/reckit/record/vp8enc"
)

// DemoClip records n frames of a scenario of reckit's demo desktop
// (record.OpenSource("demo")) at w x h, with the source's exact change
// hints, asking for key frames at the indices in keys (frame 0 is always
// one).
func DemoClip(scenario string, w, h, n int, keys ...int) (*Clip, error) {
	if n < 1 || n > MaxFrames {
		return nil, fmt.Errorf("%w: %d frames (want 1..%d)", ErrClip, n, MaxFrames)
	}
	src, err := record.OpenSource("demo", record.SourceOptions{Width: w, Height: h, Scenario: scenario, Frames: n})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	c := &Clip{Name: scenario}
	for {
		f, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		c.Frames = append(c.Frames, CopyFrame(f.Img, f.Hints))
	}
	c.SetKeys(keys...)
	return c, nil
}

// SetKeys asks for key frames at the given frame indices (and no others
// but frame 0).
func (c *Clip) SetKeys(keys ...int) {
	for i := range c.Frames {
		c.Frames[i].Key = false
	}
	for _, k := range keys {
		if k >= 0 && k < len(c.Frames) {
			c.Frames[k].Key = true
		}
	}
}

// PureGo opens reckit's own encoder (record/vp8enc) at quality level, with
// the options record.PureGo uses (all defaults but Quality).
func PureGo(w, h, quality int) (Encoder, error) {
	e, err := vp8enc.New(w, h, vp8enc.Options{Quality: quality})
	if err != nil {
		return nil, err
	}
	return pureGo{e}, nil
}

type pureGo struct{ *vp8enc.Encoder }

func (p pureGo) Reconstruction() (*image.YCbCr, error) { return p.Encoder.Reconstruction(), nil }

func (p pureGo) Close() error { return nil }
