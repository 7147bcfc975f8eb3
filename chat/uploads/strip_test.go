package uploads

import (
	"bytes"
	"io"
	"os"

	"encoding/binary"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/internal/testpics"
	"hash/crc32"
	"image"
	"image/png"
	"testing"
)

// pngChunk encodes one PNG chunk with its checksum.
func pngChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// withPNGChunks inserts chunks right after a PNG's IHDR chunk.
func withPNGChunks(pic []byte, chunks ...[]byte) []byte {
	ihdrEnd := len(pngSignature) + 12 + int(binary.BigEndian.Uint32(pic[len(pngSignature):]))
	out := append([]byte{}, pic[:ihdrEnd]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, pic[ihdrEnd:]...)
}

// share stores data as an upload named name, as the room does, and
// returns its record and the bytes it would serve.
func share(t *testing.T, dir *Dir, name string, data []byte) (Meta, []byte) {
	t.Helper()
	stage, err := dir.Stage()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(stage)
	size, err := dir.SaveOriginal(stage, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := dir.Describe(stage, SanitizeFileName(name), size)
	if err != nil {
		t.Fatal(err)
	}
	id, err := dir.Commit(stage)
	if err != nil {
		t.Fatal(err)
	}
	f, err := dir.Open(id, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	served, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return meta, served
}

// TestSharedPicturesLoseTheirMetadata uploads a phone-like JPEG (Exif with
// an orientation and a GPS position, XMP, a comment, maker data) and a PNG
// with text chunks: what the room serves has none of it, still decodes to
// the same picture, and the JPEG still knows which way is up.
func TestSharedPicturesLoseTheirMetadata(t *testing.T) {
	dir := New(datadir.Layout{Dir: t.TempDir()}, 10<<20)
	secret := []byte("GPS 48.8584N 2.2945E serial 123456")
	exif := append([]byte("Exif\x00\x00"), exifTIFF(binary.LittleEndian, 6)...)
	exif = append(exif, secret...) // data behind the directory, as GPS data sits
	jpg := withSegments(testpics.JPEG(testpics.Quadrants(64, 32)),
		[]byte{0xE1}, exif,
		[]byte{0xE1}, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), secret...),
		[]byte{0xE2}, append([]byte("MPF\x00"), secret...),
		[]byte{0xED}, append([]byte("Photoshop 3.0\x00"), secret...),
		[]byte{0xFE}, secret,
	)
	pic := testpics.PNG(40, 20)
	pngWithText := withPNGChunks(pic,
		pngChunk("tEXt", append([]byte("Location\x00"), secret...)),
		pngChunk("eXIf", secret),
	)
	pngWithText = append(pngWithText, secret...) // hidden after IEND

	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"photo.jpg", jpg},
		{"drawing.png", pngWithText},
	} {
		t.Run(tt.name, func(t *testing.T) {
			meta, served := share(t, dir, tt.name, tt.data)
			if bytes.Contains(served, []byte("GPS")) || bytes.Contains(served, []byte("serial")) {
				t.Fatalf("the served file still carries the metadata")
			}
			if meta.Size != int64(len(served)) {
				t.Errorf("the record says %d bytes, %d are served", meta.Size, len(served))
			}
			img, _, err := image.Decode(bytes.NewReader(served))
			if err != nil {
				t.Fatalf("the cleaned picture does not decode: %v", err)
			}
			orig, _, _ := image.Decode(bytes.NewReader(tt.data))
			if img.Bounds() != orig.Bounds() {
				t.Fatalf("the cleaned picture is %v, was %v", img.Bounds(), orig.Bounds())
			}
		})
	}
	t.Run("the JPEG keeps its orientation", func(t *testing.T) {
		clean, ok := stripJPEGMetadata(jpg)
		if !ok || jpegOrientation(clean) != 6 {
			t.Fatalf("ok=%v orientation %d after stripping, want 6", ok, jpegOrientation(clean))
		}
	})
	t.Run("pixels are not re-encoded", func(t *testing.T) {
		plain := testpics.JPEG(testpics.Quadrants(64, 32))
		clean, _ := stripJPEGMetadata(withSegments(plain, []byte{0xFE}, secret))
		if !bytes.Equal(clean, plain) {
			t.Fatal("stripping a comment changed more than the comment")
		}
	})
	t.Run("damaged data is left alone", func(t *testing.T) {
		for _, bad := range [][]byte{jpg[:20], {0xFF, 0xD8, 0xFF}, pngWithText[:30]} {
			if _, ok := stripJPEGMetadata(bad); ok {
				t.Errorf("stripJPEGMetadata accepted %d damaged bytes", len(bad))
			}
			if _, ok := stripPNGMetadata(bad); ok {
				t.Errorf("stripPNGMetadata accepted %d damaged bytes", len(bad))
			}
		}
	})
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	if clean, ok := stripPNGMetadata(buf.Bytes()); !ok || !bytes.Equal(clean, buf.Bytes()) {
		t.Fatal("a PNG without metadata changed")
	}
}

// FuzzStripMetadata feeds arbitrary bytes to both strippers: they must not
// panic, and what they accept comes out walkable and no larger than the
// input (plus the small orientation block a JPEG may gain).
func FuzzStripMetadata(f *testing.F) {
	f.Add(withSegments([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 1, 2, 0xFF, 0xD9}, []byte{0xE1}, append([]byte("Exif\x00\x00"), exifTIFF(binary.BigEndian, 3)...)))
	f.Add([]byte(pngSignature + "\x00\x00\x00\x00IEND\xaeB`\x82"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xFE, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		if out, ok := stripJPEGMetadata(data); ok {
			if walkJPEG(out, func(byte, []byte) bool { return true }) < 0 {
				t.Fatalf("stripped JPEG cannot be walked: %x", out)
			}
			if len(out) > len(data)+len(orientationExif(8)) {
				t.Fatalf("stripped JPEG grew from %d to %d bytes", len(data), len(out))
			}
		}
		if out, ok := stripPNGMetadata(data); ok {
			if again, ok := stripPNGMetadata(out); !ok || !bytes.Equal(again, out) {
				t.Fatal("stripping a stripped PNG changed it or failed")
			}
		}
	})
}
