package uploads

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
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
	// MaxDecodeBytes bounds the memory a picture may take decoded for
	// its thumbnail, computed from its header (size, colour model, bit
	// depth, JPEG sampling and progressive coding) before decoding: a
	// 16-bit 6000x6000 PNG of a few hundred KB would take 275 MiB.
	// Anything larger is refused. Pictures are decoded one at a time, so
	// this is about what thumbnails add to the box's memory at most.
	MaxDecodeBytes = 96 << 20
	// exifSearchBytes is how much of a JPEG is searched for EXIF data
	// and for its frame header.
	exifSearchBytes = 256 << 10
)

// PixelsError refuses a picture that would take more than MaxDecodeBytes
// to decode (a decompression bomb, or a photo too big for a small box).
type PixelsError struct {
	Width, Height int
	// Bytes is what decoding it would take.
	Bytes int64
}

func (e *PixelsError) Error() string {
	return fmt.Sprintf("a picture may take at most %d MiB of memory to decode; this one claims %dx%d pixels, which would take %d MiB",
		MaxDecodeBytes>>20, e.Width, e.Height, (e.Bytes+(1<<20)-1)>>20)
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

// checkPicture reads the header of the picture in f (of sniffed type ct)
// and returns what decoding it would take: errNotPicture when the header
// does not read, a *PixelsError when it would take over MaxDecodeBytes.
// It returns the head of the file it read too.
func checkPicture(f *os.File, ct string) (cost int64, head []byte, err error) {
	_, config, ok := pictureCodec(ct)
	if !ok {
		return 0, nil, errNotPicture
	}
	cfg, err := config(bufio.NewReader(io.NewSectionReader(f, 0, 1<<62)))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, nil, errNotPicture
	}
	head = make([]byte, exifSearchBytes)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	cost = decodeCost(ct, cfg, head)
	if cost > MaxDecodeBytes {
		return cost, head, &PixelsError{Width: cfg.Width, Height: cfg.Height, Bytes: cost}
	}
	return cost, head, nil
}

// decodeCost is the memory, in bytes, that decoding a picture of type ct
// with header cfg takes; head is the start of the file.
func decodeCost(ct string, cfg image.Config, head []byte) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	if ct == "image/jpeg" {
		if c, ok := jpegCost(head); ok {
			return c
		}
		return px * 15 // unknown sampling, progressive: the most it can take
	}
	// Twice the bytes per pixel, for the sampled formats' halves.
	var twice int64
	switch m := cfg.ColorModel; m {
	case color.GrayModel, color.AlphaModel:
		twice = 2
	case color.Gray16Model, color.Alpha16Model:
		twice = 4
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		twice = 8
	case color.RGBA64Model, color.NRGBA64Model:
		twice = 16
	case color.YCbCrModel:
		twice = 6 // 4:4:4 at worst; lossy WebP is 4:2:0
		if ct == "image/webp" {
			twice = 3
		}
	case color.NYCbCrAModel:
		twice = 5 // WebP with alpha: 4:2:0 and a full alpha plane
	default:
		if _, ok := m.(color.Palette); ok {
			twice = 2
		} else {
			twice = 16
		}
	}
	cost := px * twice / 2
	// An interlaced PNG holds its largest pass (half the rows) besides.
	if ct == "image/png" && len(head) > 28 && head[28] == 1 {
		cost += cost / 2
	}
	return cost
}

// jpegCost reads a JPEG's frame header from head and returns what Go's
// decoder allocates for it: a plane per component at its sampling, a
// CMYK image for four components, and 32-bit coefficients for every
// sample of a progressive JPEG, with an eighth more for block rounding.
func jpegCost(head []byte) (int64, bool) {
	var cost int64
	found := false
	walkJPEG(head, func(marker byte, seg []byte) bool {
		if marker < 0xC0 || marker > 0xCF || marker == 0xC4 || marker == 0xC8 || marker == 0xCC {
			return true
		}
		if len(seg) < 6 {
			return false
		}
		h, w := int64(binary.BigEndian.Uint16(seg[1:])), int64(binary.BigEndian.Uint16(seg[3:]))
		n := int(seg[5])
		if n == 0 || len(seg) < 6+3*n {
			return false
		}
		var hmax, vmax int64 = 1, 1
		for i := range n {
			hv := seg[6+3*i+1]
			hmax, vmax = max(hmax, int64(hv>>4)), max(vmax, int64(hv&15))
		}
		var planes int64
		for i := range n {
			hv := seg[6+3*i+1]
			planes += w * h * int64(hv>>4) * int64(hv&15) / (hmax * vmax)
		}
		cost = planes
		if n == 4 {
			cost += 4 * w * h
		}
		switch marker {
		case 0xC2, 0xC6, 0xCA, 0xCE: // progressive
			cost += 4 * planes
		}
		cost += cost / 8
		found = true
		return false
	})
	return cost, found
}

// makeThumbnail decodes the picture at path (of sniffed type ct), turns it
// the way its EXIF orientation says, scales it to thumbnail size and
// encodes it afresh, so no metadata of the original survives. It checks
// what decoding will take from the header before decoding anything, and
// returns that cost.
func makeThumbnail(path, ct string) (thumbnail, int64, error) {
	decode, _, ok := pictureCodec(ct)
	if !ok {
		return thumbnail{}, 0, errNotPicture
	}
	f, err := os.Open(path)
	if err != nil {
		return thumbnail{}, 0, err
	}
	defer f.Close()
	cost, head, err := checkPicture(f, ct)
	if err != nil {
		return thumbnail{}, cost, err
	}
	orientation := 1
	if ct == "image/jpeg" {
		orientation = jpegOrientation(head)
	}
	src, err := decode(bufio.NewReader(io.NewSectionReader(f, 0, 1<<62)))
	if err != nil {
		return thumbnail{}, cost, errNotPicture
	}
	th, err := encodeThumbnail(src, orientation)
	return th, cost, err
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
