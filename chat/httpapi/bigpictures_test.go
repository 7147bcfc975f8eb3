package httpapi

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/uploads"
)

// peakMemoryTarget is the most memory the box may take while it makes
// thumbnails under attack: a quarter of a 1 GB Raspberry Pi, the rest
// left to the system, the page cache and everything else the box does.
const peakMemoryTarget = 256 << 20

// flat16 encodes a w x h 16-bit PNG of one colour: hundreds of KB that
// decode to 8 bytes a pixel.
func flat16(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA64(image.Rect(0, 0, w, h))
	c := color.NRGBA64{R: 0x1234, G: 0x5678, B: 0x9abc, A: 0xffff}
	for i := 0; i < len(img.Pix); i += 8 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(c.R>>8), uint8(c.R), uint8(c.G>>8), uint8(c.G)
		img.Pix[i+4], img.Pix[i+5], img.Pix[i+6], img.Pix[i+7] = uint8(c.B>>8), uint8(c.B), 0xff, 0xff
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadBody is a multipart upload of data as name from nick.
func uploadBody(nick, name string, data []byte) (*bytes.Buffer, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("nick", nick)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	pw, _ := mw.CreatePart(h)
	pw.Write(data)
	mw.Close()
	return &body, mw.FormDataContentType()
}

// TestBigPicturesDoNotHoldUpTheRoom uploads, all at once, twelve 16-bit
// 6000x6000 PNGs of one colour (about 300 KB each, 275 MiB decoded:
// refused from their header) and twelve 16-bit 3400x3400 ones (88 MiB
// decoded each: accepted, their thumbnails made one at a time after the
// upload is answered). Meanwhile an ordinary post and an ordinary upload
// must be answered at once, and the process's peak resident memory
// (VmHWM, reset first) must stay under peakMemoryTarget. Before, each
// upload decoded its picture before it was answered: one such PNG took
// 486 MB and twelve made an ordinary upload wait 12.3 s.
func TestBigPicturesDoNotHoldUpTheRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes and decodes large pictures")
	}
	tr := newTestRoom(t, nil)
	bomb := flat16(t, 6000, 6000)
	big := flat16(t, 3400, 3400)
	t.Logf("a 6000x6000 16-bit PNG is %d KB, a 3400x3400 one %d KB", len(bomb)/1000, len(big)/1000)
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes; it should be small", len(bomb))
	}
	n := 12
	if raceDetector {
		n = 3 // decoding under the race detector is slow
	}
	runtime.GC()
	debug.FreeOSMemory()
	measured := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil && !raceDetector
	before := procStatus(t, "VmRSS")

	type answer struct {
		status int
		msg    chat.Message
	}
	var wg sync.WaitGroup
	answers := make(chan answer, 2*n)
	send := func(name string, data []byte) {
		body, ctype := uploadBody("mallory", name, data)
		req, _ := http.NewRequest("POST", tr.srv.URL+"/api/files", body)
		req.Header.Set("Content-Type", ctype)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			answers <- answer{}
			return
		}
		defer res.Body.Close()
		var m chat.Message
		json.NewDecoder(res.Body).Decode(&m)
		answers <- answer{res.StatusCode, m}
	}
	for i := range n {
		wg.Go(func() { send("bomb"+strconv.Itoa(i)+".png", bomb) })
		wg.Go(func() { send("big"+strconv.Itoa(i)+".png", big) })
	}
	// An ordinary post and upload while the pictures are in.
	start := time.Now()
	tr.post(t, "alice", "still here?")
	postTook := time.Since(start)
	start = time.Now()
	small := tr.shared(t, "alice", "notes.txt", []byte("ordinary"))
	uploadTook := time.Since(start)
	wg.Wait()
	close(answers)
	var bigs []chat.Message
	for a := range answers {
		switch {
		case a.status == http.StatusCreated:
			bigs = append(bigs, a.msg)
		case a.status != http.StatusUnprocessableEntity:
			t.Errorf("a big picture got %d", a.status)
		}
	}
	if len(bigs) != n {
		t.Fatalf("%d of the %d pictures within the budget were stored", len(bigs), n)
	}
	// Every stored picture gets its thumbnail.
	for _, m := range bigs {
		if m.File.Thumb == "" {
			t.Fatalf("%s has no thumbnail address", m.File.Name)
		}
		// The thumbnails are made one at a time; a request waits up to 20 s
		// for one under way and then says so. Under the race detector a
		// decode takes longer than that, so ask again until a deadline.
		res, raw := tr.do(t, "GET", m.File.Thumb, nil, nil)
		for deadline := time.Now().Add(5 * time.Minute); res.StatusCode == http.StatusNotFound &&
			strings.Contains(string(raw), "not made yet") && time.Now().Before(deadline); {
			res, raw = tr.do(t, "GET", m.File.Thumb, nil, nil)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", m.File.Thumb, res.StatusCode, raw)
		}
		img, _, err := image.Decode(bytes.NewReader(raw))
		if err != nil || img.Bounds().Dx() != uploads.ThumbWidth {
			t.Fatalf("the thumbnail of %s does not decode to %d wide: %v", m.File.Name, uploads.ThumbWidth, err)
		}
	}
	allDone := time.Since(start) + uploadTook
	peak := procStatus(t, "VmHWM")
	t.Logf("RELIABILITY %d pictures of 275 MiB decoded refused, %d of 88 MiB decoded thumbnailed in %v; an ordinary post took %v and an upload %v; RSS before %d MiB, peak %d MiB (target %d MiB)",
		n, n, allDone.Round(time.Millisecond), postTook.Round(time.Millisecond), uploadTook.Round(time.Millisecond), before>>20, peak>>20, peakMemoryTarget>>20)
	if small.File.Thumb != "" {
		t.Errorf("a text file got a thumbnail")
	}
	if postTook > 2*time.Second || uploadTook > 2*time.Second {
		t.Errorf("an ordinary post took %v and an upload %v during the pictures, want under 2 s", postTook, uploadTook)
	}
	if measured && peak > peakMemoryTarget {
		t.Errorf("peak resident memory %d MiB, over the %d MiB target", peak>>20, peakMemoryTarget>>20)
	}
}
