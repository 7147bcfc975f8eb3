package uploads

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// stripJPEGMetadata returns the JPEG without the segments that carry
// metadata a sender may not mean to share (Exif with its GPS position and
// camera serial, XMP, IPTC, comments, maker data), keeping what decoding
// needs (JFIF, the ICC colour profile, Adobe's colour transform, the
// tables) and a minimal Exif block with only the orientation, so the
// picture still shows upright. The pixels are not re-encoded. ok is false
// when b is not a JPEG this can walk; b is then to be kept as it is.
func stripJPEGMetadata(b []byte) (out []byte, ok bool) {
	orientation := jpegOrientation(b)
	out = append(make([]byte, 0, len(b)), 0xFF, 0xD8)
	if orientation > 1 {
		out = append(out, orientationExif(orientation)...)
	}
	sos := walkJPEG(b, func(marker byte, seg []byte) bool {
		if keepJPEGSegment(marker, seg) {
			out = append(out, 0xFF, marker, byte((len(seg)+2)>>8), byte(len(seg)+2))
			out = append(out, seg...)
		}
		return true
	})
	if sos < 0 {
		return nil, false
	}
	return append(out, b[sos:]...), true
}

// keepJPEGSegment says whether a segment before the image data is needed
// to show the picture right.
func keepJPEGSegment(marker byte, seg []byte) bool {
	switch {
	case marker == 0xE0: // JFIF
		return true
	case marker == 0xE2: // ICC profile (colours); other APP2 data is maker data
		return bytes.HasPrefix(seg, []byte("ICC_PROFILE\x00"))
	case marker == 0xEE: // Adobe: colour transform
		return true
	case marker >= 0xE1 && marker <= 0xEF, marker == 0xFE: // APPn and comments
		return false
	default: // tables, frame header, restart interval
		return true
	}
}

// orientationExif returns an APP1 segment whose Exif holds only the
// orientation tag.
func orientationExif(orientation int) []byte {
	tiff := []byte{
		'M', 'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF, first directory at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(orientation), 0, 0, // orientation, SHORT, 1
		0, 0, 0, 0, // no next directory
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	return append([]byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
}

// pngSignature starts every PNG file.
const pngSignature = "\x89PNG\r\n\x1a\n"

// stripPNGMetadata returns the PNG without its text, time and Exif chunks.
// ok is false when b is not a PNG this can walk.
func stripPNGMetadata(b []byte) (out []byte, ok bool) {
	if !bytes.HasPrefix(b, []byte(pngSignature)) {
		return nil, false
	}
	out = append(make([]byte, 0, len(b)), pngSignature...)
	for i := len(pngSignature); i < len(b); {
		if i+12 > len(b) {
			return nil, false
		}
		n := int(binary.BigEndian.Uint32(b[i:]))
		end := i + 12 + n
		if n < 0 || end > len(b) || end < i {
			return nil, false
		}
		chunk := b[i:end]
		typ := string(chunk[4:8])
		if binary.BigEndian.Uint32(chunk[8+n:]) != crc32.ChecksumIEEE(chunk[4:8+n]) {
			return nil, false
		}
		switch typ {
		case "tEXt", "zTXt", "iTXt", "eXIf", "tIME":
		default:
			out = append(out, chunk...)
		}
		i = end
		if typ == "IEND" {
			break
		}
	}
	return out, true
}
