package uploads

import (
	"bytes"

	"encoding/binary"
	"errors"
	"github.com/chatbox-dev/chatbox/internal/testpics"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// exifTIFF returns a TIFF structure whose first directory holds only the
// orientation tag, in the given byte order.
func exifTIFF(bo binary.ByteOrder, orientation uint16) []byte {
	var b bytes.Buffer
	if bo == binary.LittleEndian {
		b.WriteString("II*\x00")
	} else {
		b.WriteString("MM\x00*")
	}
	binary.Write(&b, bo, uint32(8)) // the first directory follows at once
	binary.Write(&b, bo, uint16(1)) // one entry
	binary.Write(&b, bo, uint16(0x0112))
	binary.Write(&b, bo, uint16(3)) // SHORT
	binary.Write(&b, bo, uint32(1))
	binary.Write(&b, bo, orientation)
	binary.Write(&b, bo, uint16(0))
	binary.Write(&b, bo, uint32(0)) // no next directory
	return b.Bytes()
}

// withSegments inserts JPEG segments (marker, payload) right after SOI.
func withSegments(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for i := 0; i+1 < len(segs); i += 2 {
		out = append(out, 0xFF, segs[i][0])
		out = binary.BigEndian.AppendUint16(out, uint16(len(segs[i+1])+2))
		out = append(out, segs[i+1]...)
	}
	return append(out, jpg[2:]...)
}

// writeTemp writes data to a file in a temporary directory.
func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "picture")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// quadrantAt names the quadrant colour nearest to c.
func quadrantAt(img image.Image, x, y int) string {
	r, g, b, _ := img.At(x, y).RGBA()
	hi := func(v uint32) bool { return v > 0x8000 }
	switch {
	case hi(r) && hi(g) && hi(b):
		return "white"
	case hi(r):
		return "red"
	case hi(g):
		return "green"
	case hi(b):
		return "blue"
	}
	return "unknown"
}

func TestThumbnailFollowsEXIFOrientation(t *testing.T) {
	plain := testpics.JPEG(testpics.Quadrants(120, 60))
	// What the top-left and top-right corners show for each orientation.
	tests := []struct {
		name        string
		orientation uint16
		topLeft     string
		topRight    string
	}{
		{"1 shows the picture as stored", 1, "red", "green"},
		{"2 mirrors it", 2, "green", "red"},
		{"3 turns it upside down", 3, "white", "blue"},
		{"4 flips it vertically", 4, "blue", "white"},
		{"5 transposes it", 5, "red", "blue"},
		{"6 turns it a quarter clockwise", 6, "blue", "red"},
		{"7 transverses it", 7, "white", "green"},
		{"8 turns it a quarter counter-clockwise", 8, "green", "white"},
	}
	for _, tt := range tests {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			t.Run(tt.name+" ("+bo.String()+")", func(t *testing.T) {
				jpg := withSegments(plain, []byte{0xE1}, append([]byte("Exif\x00\x00"), exifTIFF(bo, tt.orientation)...))
				if got := jpegOrientation(jpg); got != int(tt.orientation) {
					t.Fatalf("jpegOrientation = %d, want %d", got, tt.orientation)
				}
				th, _, err := makeThumbnail(writeTemp(t, jpg), "image/jpeg")
				if err != nil {
					t.Fatal(err)
				}
				img, err := jpeg.Decode(bytes.NewReader(th.Data))
				if err != nil {
					t.Fatal(err)
				}
				w, h := img.Bounds().Dx(), img.Bounds().Dy()
				if wantW, wantH := 120, 60; tt.orientation >= 5 {
					if w != wantH || h != wantW {
						t.Errorf("size %dx%d, want %dx%d", w, h, wantH, wantW)
					}
				} else if w != wantW || h != wantH {
					t.Errorf("size %dx%d, want %dx%d", w, h, wantW, wantH)
				}
				if got := quadrantAt(img, 3, 3); got != tt.topLeft {
					t.Errorf("top left is %s, want %s", got, tt.topLeft)
				}
				if got := quadrantAt(img, w-4, 3); got != tt.topRight {
					t.Errorf("top right is %s, want %s", got, tt.topRight)
				}
			})
		}
	}
}

// jpegMarkers lists the markers of the segments before the image data.
func jpegMarkers(t *testing.T, jpg []byte) []byte {
	t.Helper()
	var out []byte
	for i := 2; i+4 <= len(jpg) && jpg[i] == 0xFF; {
		m := jpg[i+1]
		out = append(out, m)
		if m == 0xDA {
			break
		}
		i += 2 + int(binary.BigEndian.Uint16(jpg[i+2:]))
	}
	return out
}

func TestThumbnailCarriesNoMetadata(t *testing.T) {
	gps := []byte("Exif\x00\x00" + string(exifTIFF(binary.BigEndian, 1)) + "GPS 48.8584 N 2.2945 E")
	jpg := withSegments(testpics.JPEG(testpics.Quadrants(64, 64)),
		[]byte{0xE1}, gps,
		[]byte{0xFE}, []byte("taken at home"), // a comment
		[]byte{0xED}, []byte("Photoshop 3.0\x00IPTC"), // APP13
	)
	th, _, err := makeThumbnail(writeTemp(t, jpg), "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(th.Data, []byte("GPS")) || bytes.Contains(th.Data, []byte("taken at home")) || bytes.Contains(th.Data, []byte("Exif")) {
		t.Fatal("the thumbnail kept the original's metadata")
	}
	for _, m := range jpegMarkers(t, th.Data) {
		if m == 0xE1 || m == 0xED || m == 0xFE {
			t.Errorf("the thumbnail has a metadata segment FF%02X", m)
		}
	}
}

func TestThumbnailSizes(t *testing.T) {
	tests := []struct {
		name       string
		w, h       int
		wantW, wan int
	}{
		{"a wide picture is scaled to 300 wide", 1200, 800, 300, 200},
		{"a small picture keeps its size", 40, 30, 40, 30},
		{"a tall picture is bounded in height", 100, 2000, 20, 400},
		{"a one-pixel line stays at least one pixel", 3000, 1, 300, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w, h := thumbSize(tt.w, tt.h); w != tt.wantW || h != tt.wan {
				t.Errorf("thumbSize(%d, %d) = %dx%d, want %dx%d", tt.w, tt.h, w, h, tt.wantW, tt.wan)
			}
		})
	}
}

func TestThumbnailOfEachFormat(t *testing.T) {
	opaque := testpics.Quadrants(600, 400)
	clear := image.NewNRGBA(image.Rect(0, 0, 600, 400)) // fully transparent
	var pngOpaque, pngClear, gifBuf bytes.Buffer
	png.Encode(&pngOpaque, opaque)
	png.Encode(&pngClear, clear)
	gif.Encode(&gifBuf, opaque, nil)
	webp, err := os.ReadFile("testdata/picture.webp")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ct  string
		data      []byte
		thumbType string
	}{
		{"a JPEG gets a JPEG thumbnail", "image/jpeg", testpics.JPEG(opaque), "image/jpeg"},
		{"an opaque PNG gets a JPEG thumbnail", "image/png", pngOpaque.Bytes(), "image/jpeg"},
		{"a transparent PNG keeps its transparency in a PNG thumbnail", "image/png", pngClear.Bytes(), "image/png"},
		{"a GIF gets a JPEG thumbnail", "image/gif", gifBuf.Bytes(), "image/jpeg"},
		{"a WebP gets a JPEG thumbnail", "image/webp", webp, "image/jpeg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := http.DetectContentType(tt.data); got != tt.ct {
				t.Fatalf("the test picture sniffs as %s, not %s", got, tt.ct)
			}
			th, _, err := makeThumbnail(writeTemp(t, tt.data), tt.ct)
			if err != nil {
				t.Fatal(err)
			}
			if th.Type != tt.thumbType || http.DetectContentType(th.Data) != tt.thumbType {
				t.Fatalf("thumbnail type %s (sniffs as %s), want %s", th.Type, http.DetectContentType(th.Data), tt.thumbType)
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(th.Data))
			if err != nil || cfg.Width > ThumbWidth || cfg.Height > thumbMaxHeight {
				t.Fatalf("thumbnail %dx%d (%v), want at most %dx%d", cfg.Width, cfg.Height, err, ThumbWidth, thumbMaxHeight)
			}
		})
	}
}

func TestDamagedPicturesAreNotPictures(t *testing.T) {
	jpg := testpics.JPEG(testpics.Quadrants(64, 64))
	for name, data := range map[string][]byte{
		"a JPEG cut after its header": jpg[:200],
		"a PNG signature alone":       []byte("\x89PNG\r\n\x1a\n"),
		"a PNG claiming no pixels":    testpics.PNGClaiming(0, 10),
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := makeThumbnail(writeTemp(t, data), http.DetectContentType(data)); !errors.Is(err, errNotPicture) {
				t.Fatalf("got %v, want errNotPicture", err)
			}
		})
	}
}

func TestPictureBombIsRefusedFromItsHeader(t *testing.T) {
	_, _, err := makeThumbnail(writeTemp(t, testpics.PNGClaiming(100000, 100000)), "image/png")
	var e *PixelsError
	if !errors.As(err, &e) || e.Width != 100000 || e.Height != 100000 {
		t.Fatalf("got %v, want a refusal of 100000x100000 pixels", err)
	}
}

func TestJPEGOrientationOfDamagedData(t *testing.T) {
	jpg := testpics.JPEG(testpics.Quadrants(16, 16))
	good := append([]byte("Exif\x00\x00"), exifTIFF(binary.BigEndian, 6)...)
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"no data", nil, 1},
		{"not a JPEG", []byte("GIF89a"), 1},
		{"a JPEG without EXIF", jpg, 1},
		{"EXIF after other APP segments", withSegments(jpg, []byte{0xE0}, []byte("JFIF\x00......."), []byte{0xE1}, good), 6},
		{"XMP before EXIF", withSegments(jpg, []byte{0xE1}, []byte("http://ns.adobe.com/xap/1.0/\x00<x/>"), []byte{0xE1}, good), 6},
		{"a segment length past the end", append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}, good...), 1},
		{"a directory offset past the end", withSegments(jpg, []byte{0xE1}, []byte("Exif\x00\x00MM\x00*\xff\xff\xff\xf0")), 1},
		{"an orientation out of range", withSegments(jpg, []byte{0xE1}, append([]byte("Exif\x00\x00"), exifTIFF(binary.BigEndian, 9)...)), 1},
		{"an entry count past the end", withSegments(jpg, []byte{0xE1}, []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff")), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jpegOrientation(tt.data); got != tt.want {
				t.Errorf("jpegOrientation = %d, want %d", got, tt.want)
			}
		})
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0})
	f.Add(withSegments([]byte{0xFF, 0xD8, 0xFF, 0xD9}, []byte{0xE1}, append([]byte("Exif\x00\x00"), exifTIFF(binary.LittleEndian, 6)...)))
	f.Add(withSegments([]byte{0xFF, 0xD8, 0xFF, 0xD9}, []byte{0xE1}, append([]byte("Exif\x00\x00"), exifTIFF(binary.BigEndian, 8)...)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d is not 1 to 8", o)
		}
		if len(data) >= 8 {
			if o := tiffOrientation(data); o < 1 || o > 8 {
				t.Fatalf("TIFF orientation %d is not 1 to 8", o)
			}
		}
	})
}
