package web

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the app icons in static/ from DrawIcon")

// TestIconsAreDrawnByDrawIcon keeps the committed PNGs what DrawIcon
// draws; go test ./chat/web -update redraws them.
func TestIconsAreDrawnByDrawIcon(t *testing.T) {
	for _, ic := range Icons {
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, DrawIcon(ic)); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("static", ic.Name)
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := Files.Open("static/" + ic.Name)
		if err != nil {
			t.Fatalf("%s is missing; go test ./chat/web -update draws it", path)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if b := img.Bounds(); b.Dx() != ic.Size || b.Dy() != ic.Size {
			t.Errorf("%s is %dx%d, want %s", path, b.Dx(), b.Dy(), ic.Sizes())
		}
		want := DrawIcon(ic)
		for y := range ic.Size {
			for x := range ic.Size {
				r1, g1, b1, a1 := img.At(x, y).RGBA()
				r2, g2, b2, a2 := want.At(x, y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
					t.Fatalf("%s differs from DrawIcon at (%d,%d); go test ./chat/web -update redraws it", path, x, y)
				}
			}
		}
	}
}

// TestMaskableIconsFillTheirSquare checks what a launcher needs of a
// maskable icon: no transparent corner, and the picture (the white
// bubble) within the middle 80% circle.
func TestMaskableIconsFillTheirSquare(t *testing.T) {
	for _, ic := range Icons {
		if ic.Purpose != "maskable" {
			continue
		}
		img := DrawIcon(ic)
		n := float64(ic.Size)
		for y := range ic.Size {
			for x := range ic.Size {
				c := img.NRGBAAt(x, y)
				if c.A != 0xff {
					t.Fatalf("%s: (%d,%d) is not opaque", ic.Name, x, y)
				}
				dx, dy := float64(x)+0.5-n/2, float64(y)+0.5-n/2
				if c.R > 0x80 && dx*dx+dy*dy > (0.4*n)*(0.4*n) {
					t.Fatalf("%s: the picture reaches (%d,%d), outside the safe zone", ic.Name, x, y)
				}
			}
		}
	}
}
