package uploads

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Thumbnails are about this wide, and never taller than thumbMaxHeight.
const (
	// ThumbWidth is the widest a thumbnail is.
	ThumbWidth     = 300
	thumbMaxHeight = 400
	// MaxPicturePixels bounds the pictures that are decoded for a
	// thumbnail: a 40-megapixel picture needs up to about 320 MB decoded.
	// Anything larger is refused from its header, before decoding.
	MaxPicturePixels = 40_000_000
	// exifSearchBytes is how much of a JPEG is searched for EXIF data.
	exifSearchBytes = 256 << 10
)

// PixelsError refuses a picture that claims more than MaxPicturePixels
// (a decompression bomb, or a photo too big for a small box).
type PixelsError struct{ Width, Height int }

func (e *PixelsError) Error() string {
	return fmt.Sprintf("a picture may have at most %d million pixels; this one claims %dx%d", MaxPicturePixels/1_000_000, e.Width, e.Height)
}

// errNotPicture means a file looked like a picture but does not decode.
var errNotPicture = errors.New("the file is not a readable picture")

// thumbnail is an encoded thumbnail and its content type.
type thumbnail struct {
	Data []byte
	Type string
}

// pictureCodec returns the decoder functions for a sniffed picture type.
func pictureCodec(ct string) (decode func(io.Reader) (image.Image, error), config func(io.Reader) (image.Config, error), ok bool) {
	switch ct {
	case "image/jpeg":
		return jpeg.Decode, jpeg.DecodeConfig, true
	case "image/png":
		return png.Decode, png.DecodeConfig, true
	case "image/gif":
		return gif.Decode, gif.DecodeConfig, true // the first frame
	case "image/webp":
		return webp.Decode, webp.DecodeConfig, true
	}
	return nil, nil, false
}

// makeThumbnail decodes the picture at path (of sniffed type ct), turns it
// the way its EXIF orientation says, scales it to thumbnail size and
// encodes it afresh, so no metadata of the original survives. It checks
// the pixel count in the header before decoding anything.
func makeThumbnail(path, ct string) (thumbnail, error) {
	decode, config, ok := pictureCodec(ct)
	if !ok {
		return thumbnail{}, errNotPicture
	}
	f, err := os.Open(path)
	if err != nil {
		return thumbnail{}, err
	}
	defer f.Close()
	cfg, err := config(bufio.NewReader(f))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return thumbnail{}, errNotPicture
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxPicturePixels {
		return thumbnail{}, &PixelsError{Width: cfg.Width, Height: cfg.Height}
	}
	orientation := 1
	if ct == "image/jpeg" {
		head := make([]byte, exifSearchBytes)
		n, _ := f.ReadAt(head, 0)
		orientation = jpegOrientation(head[:n])
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return thumbnail{}, err
	}
	src, err := decode(bufio.NewReader(f))
	if err != nil {
		return thumbnail{}, errNotPicture
	}
	return encodeThumbnail(src, orientation)
}

// thumbSize returns the thumbnail's size for a picture shown w by h.
func thumbSize(w, h int) (int, int) {
	tw := min(w, ThumbWidth)
	th := max(1, int((int64(h)*int64(tw)+int64(w)/2)/int64(w)))
	if th > thumbMaxHeight {
		th = thumbMaxHeight
		tw = max(1, int((int64(w)*int64(th)+int64(h)/2)/int64(h)))
	}
	return tw, th
}

// encodeThumbnail scales src, applies the EXIF orientation, and encodes
// the result: JPEG when it is opaque, PNG when it has transparency.
func encodeThumbnail(src image.Image, orientation int) (thumbnail, error) {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	swap := orientation >= 5 && orientation <= 8
	if swap {
		w, h = h, w // the size as shown
	}
	tw, th := thumbSize(w, h)
	if swap {
		tw, th = th, tw // the size before turning
	}
	scaled := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.BiLinear.Scale(scaled, scaled.Bounds(), src, b, draw.Src, nil)
	out := orient(scaled, orientation)
	var buf bytes.Buffer
	if out.Opaque() {
		if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: 82}); err != nil {
			return thumbnail{}, fmt.Errorf("encode thumbnail: %w", err)
		}
		return thumbnail{Data: buf.Bytes(), Type: "image/jpeg"}, nil
	}
	if err := png.Encode(&buf, out); err != nil {
		return thumbnail{}, fmt.Errorf("encode thumbnail: %w", err)
	}
	return thumbnail{Data: buf.Bytes(), Type: "image/png"}, nil
}

// orient returns src turned and flipped as EXIF orientation o (1 to 8)
// asks, so that it shows upright. Orientations 5 to 8 swap width and
// height.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = w-1-x, y
			case 3: // upside down
				sx, sy = w-1-x, h-1-y
			case 4: // upside down, mirrored
				sx, sy = x, h-1-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // turn a quarter clockwise
				sx, sy = y, h-1-x
			case 7: // transversed
				sx, sy = w-1-y, h-1-x
			case 8: // turn a quarter counter-clockwise
				sx, sy = w-1-y, x
			}
			si := src.PixOffset(src.Rect.Min.X+sx, src.Rect.Min.Y+sy)
			copy(dst.Pix[dst.PixOffset(x, y):][:4], src.Pix[si:si+4])
		}
	}
	return dst
}

// jpegOrientation returns the EXIF orientation (1 to 8) of the JPEG that b
// begins with, or 1 when there is none or the data is damaged. It reads
// only the segments before the image data.
func jpegOrientation(b []byte) int {
	orientation := 1
	walkJPEG(b, func(marker byte, seg []byte) bool {
		if marker == 0xE1 {
			if tiff, ok := bytes.CutPrefix(seg, []byte("Exif\x00\x00")); ok {
				orientation = tiffOrientation(tiff)
				return false
			}
		}
		return true
	})
	return orientation
}

// walkJPEG calls fn with each marker segment (its marker and its payload)
// before the image data, until fn returns false. It returns where the
// image data's SOS marker starts, or -1 when b is not a JPEG it can walk
// to there.
func walkJPEG(b []byte, fn func(marker byte, seg []byte) bool) (sos int) {
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 {
		return -1
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return -1
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8: // no length
			i += 2
			continue
		case marker == 0xDA:
			return i
		case marker == 0xD9:
			return -1
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return -1
		}
		if !fn(marker, b[i+4:i+2+n]) {
			return -1
		}
		i += 2 + n
	}
	return -1
}

// tiffOrientation reads the orientation tag (0x0112) of a TIFF structure's
// first directory; 1 when absent or damaged.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := uint64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > uint64(len(t)) {
		return 1
	}
	count := int(bo.Uint16(t[off:]))
	p := int(off) + 2
	for range count {
		if p+12 > len(t) {
			return 1
		}
		e := t[p : p+12]
		if bo.Uint16(e) == 0x0112 {
			const typeShort = 3
			if bo.Uint16(e[2:]) != typeShort || bo.Uint32(e[4:]) != 1 {
				return 1
			}
			if v := int(bo.Uint16(e[8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
		p += 12
	}
	return 1
}
