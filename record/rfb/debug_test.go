package rfb

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reckit/reckit/internal/testx"
)

// dumpPNG saves a screenshot of xs for a failing test to look at and logs
// where.
func dumpPNG(t *testing.T, xs *testx.XServer, name string) {
	t.Helper()
	w, h, pix := xs.Screenshot(t)
	img := &image.RGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	path := filepath.Join(os.TempDir(), strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".png")
	f, err := os.Create(path)
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	defer f.Close()
	if err := png.Encode(f, img); err == nil {
		t.Logf("screenshot of %s: %s", xs.Display, path)
	}
}
