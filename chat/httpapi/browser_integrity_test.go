package httpapi

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// A module whose served bytes are not the ones the page names is refused
// by Chromium: the box is made to serve render.js (imported by main.js,
// never named by a script tag) with one byte added, and the page never
// starts, while the same room served as it is starts at once.
func TestBrowserRefusesAModuleWhoseBytesDoNotMatchItsIntegrity(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	const swapped = "/static/js/render.js"
	altered := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == swapped {
			// The file itself, not its gzip encoding, gets the extra byte.
			req.Header.Del("Accept-Encoding")
			rec := httptest.NewRecorder()
			tr.web.ServeHTTP(rec, req)
			for k, v := range rec.Header() {
				if k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(rec.Code)
			w.Write(append(rec.Body.Bytes(), '\n'))
			return
		}
		tr.web.ServeHTTP(w, req)
	}))
	t.Cleanup(altered.Close)

	// As served: the page starts and asks for a nickname.
	good := b.page(t, tr.srv.URL+"/")
	run(t, good, chromedp.WaitVisible(chromedp.ID("nick-form")))

	// Swapped: the page's main module fails to load (its script element
	// fires error: an import of the graph was refused), Chromium says why,
	// and the page never leaves its loading screen. The altered file
	// differs by one newline, so nothing but its integrity refuses it.
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	var mu sync.Mutex
	var said []string
	go func() {
		for ev, err := range chromedp.Events(ctx, log.EntryAdded) {
			if err != nil {
				return
			}
			mu.Lock()
			said = append(said, ev.Entry.Text)
			mu.Unlock()
		}
	}()
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	watch := `document.addEventListener("error", (e) => {
  if (e.target && e.target.src && e.target.src.endsWith("/static/js/main.js")) window.mainFailed = true;
}, true);`
	yes := true
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watch, RunImmediately: &yes}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(altered.URL+"/"), until(`window.mainFailed === true`))
	if get(t, ctx, chromedp.Evaluate[bool](`!document.getElementById("pick-nick").hidden || document.getElementById("loading").hidden`)) {
		t.Error("the page started though one of its modules was altered")
	}
	// Chromium's word for it reaches the log as the page loads; wait a
	// bounded time for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		found := slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, "integrity") && strings.Contains(s, swapped) })
		saidAll := strings.Join(said, "\n")
		mu.Unlock()
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("Chromium's log does not name %s's integrity within 10 s; it said:\n%s", swapped, saidAll)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}
