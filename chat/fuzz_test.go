package chat

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzPostMessageBody sends arbitrary bodies to POST /api/messages. Every
// answer is a 201 with a valid stored message or a 4xx with one sentence;
// never a 5xx, and nothing is stored from a refused body.
func FuzzPostMessageBody(f *testing.F) {
	for _, s := range []string{
		`{"nick":"alice","text":"hi"}`,
		`{"nick":"alice","text":"/ping bob hi"}`,
		`{"nick":"a","text":"` + PGPBegin + `\n\nx\n-----END PGP MESSAGE-----"}`,
		`{"nick":"a","text":"\ud83d\ude00"}`,
		`{"nick":"a","text":"\ud800"}`,
		"{\"nick\":\"a\",\"text\":\"\xc0\xaf\"}",
		`{"nick":"a","text":"x","extra":1}`,
		`[]`, `null`, ``, `{"nick":"a","text":"x"} {}`,
	} {
		f.Add([]byte(s))
	}
	room, err := Open(context.Background(), Options{DataDir: f.TempDir(), CreateOnStart: true, PostsPerMinute: 1 << 30, MaxMessageLength: 50, MaxPGPLength: 500})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { room.Close() })
	h := room.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		before, _ := room.store.MessageCount()
		req := httptest.NewRequest("POST", "/api/messages", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		after, _ := room.store.MessageCount()
		switch {
		case rec.Code == http.StatusCreated:
			var m Message
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatalf("201 with a body that is not a message: %q", rec.Body)
			}
			if ValidateNick(m.Nick) != nil || ValidateText(m.Text, TextLimits{Max: 50, MaxPGP: 500}) != nil {
				t.Fatalf("stored an invalid message %+v", m)
			}
			if after != before+1 {
				t.Fatalf("201 but %d messages were stored", after-before)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e struct{ Error string }
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("%d without an error sentence: %q", rec.Code, rec.Body)
			}
			if after != before {
				t.Fatalf("a refused body stored %d messages", after-before)
			}
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}
