package httpapi

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// parsedFeed is an RSS 2.0 document as a feed reader reads it.
type parsedFeed struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		// Self comes before Link: a field without a namespace would also
		// take atom:link.
		Self struct {
			Href string `xml:"href,attr"`
			Rel  string `xml:"rel,attr"`
		} `xml:"http://www.w3.org/2005/Atom link"`
		Title         string `xml:"title"`
		Link          string `xml:"link"`
		Description   string `xml:"description"`
		LastBuildDate string `xml:"lastBuildDate"`
		Items         []struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			Description string `xml:"description"`
			PubDate     string `xml:"pubDate"`
			GUID        struct {
				IsPermaLink string `xml:"isPermaLink,attr"`
				Value       string `xml:",chardata"`
			} `xml:"guid"`
			Enclosure *struct {
				URL    string `xml:"url,attr"`
				Length int64  `xml:"length,attr"`
				Type   string `xml:"type,attr"`
			} `xml:"enclosure"`
			Thumbnail *struct {
				URL string `xml:"url,attr"`
			} `xml:"http://search.yahoo.com/mrss/ thumbnail"`
		} `xml:"item"`
	} `xml:"channel"`
}

// feed fetches and parses a feed, failing unless it is served as RSS.
func (tr *testRoom) feed(t *testing.T, path string, change func(*http.Request)) parsedFeed {
	t.Helper()
	res, raw := tr.do(t, "GET", path, nil, change)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, raw)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/rss+xml") {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if !strings.HasPrefix(string(raw), xml.Header) {
		t.Errorf("GET %s does not start with an XML declaration", path)
	}
	var f parsedFeed
	if err := xml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("GET %s is not valid XML: %v\n%s", path, err, raw)
	}
	if f.Version != "2.0" {
		t.Errorf("RSS version %q, want 2.0", f.Version)
	}
	return f
}

func guids(f parsedFeed) []string {
	var out []string
	for _, it := range f.Channel.Items {
		out = append(out, it.GUID.Value)
	}
	return out
}

func TestFeedsAreValidRSSNewestFirst(t *testing.T) {
	tr := newTestRoom(t, nil)
	bob := tr.dial(t, "bob", nil)
	bob.waitFor("presence", func(ev chat.Event) bool { return ev.Type == "presence" })
	tr.post(t, "alice", "first <b>not bold</b> & more")
	tr.post(t, "alice", "/ping bob are you there?")
	pic := tr.shared(t, "alice", "cat.png", testpics.PNG(640, 480))
	tr.post(t, "carol", "last")

	all := tr.feed(t, "/rss/all.xml", nil)
	ch := all.Channel
	base := tr.srv.URL + "/"
	if ch.Link != base || ch.Self.Href != base+"rss/all.xml" || ch.Self.Rel != "self" || ch.Title == "" || ch.Description == "" {
		t.Errorf("channel link %q, self %q (%q), title %q, description %q", ch.Link, ch.Self.Href, ch.Self.Rel, ch.Title, ch.Description)
	}
	wantTitles := []string{"carol: last", "alice shared cat.png", "alice pinged bob: are you there?", "alice: first <b>not bold</b> & more"}
	if len(ch.Items) != len(wantTitles) {
		t.Fatalf("%d items, want %d", len(ch.Items), len(wantTitles))
	}
	var last time.Time
	for i, it := range ch.Items {
		if it.Title != wantTitles[i] {
			t.Errorf("item %d is %q, want %q", i, it.Title, wantTitles[i])
		}
		ts, err := time.Parse(time.RFC1123Z, it.PubDate)
		if err != nil || ts.Format(time.RFC1123Z) != it.PubDate {
			t.Errorf("item %d pubDate %q is not RFC 822 with a numeric zone: %v", i, it.PubDate, err)
		}
		if i > 0 && ts.After(last) {
			t.Errorf("item %d (%s) is newer than the one before it", i, it.PubDate)
		}
		last = ts
		if it.GUID.IsPermaLink != "false" || it.GUID.Value == "" {
			t.Errorf("item %d guid %q isPermaLink=%q", i, it.GUID.Value, it.GUID.IsPermaLink)
		}
		if !strings.HasPrefix(it.Link, base) {
			t.Errorf("item %d links to %q, not back to the room", i, it.Link)
		}
	}
	if ch.LastBuildDate != ch.Items[0].PubDate {
		t.Errorf("lastBuildDate %q, want the newest item's %q", ch.LastBuildDate, ch.Items[0].PubDate)
	}
	picture := ch.Items[1]
	if e := picture.Enclosure; e == nil || e.URL != tr.srv.URL+pic.File.URL || e.Type != "image/png" || e.Length != pic.File.Size {
		t.Errorf("the picture's enclosure is %+v", e)
	}
	if th := picture.Thumbnail; th == nil || th.URL != tr.srv.URL+pic.File.Thumb {
		t.Errorf("the picture's thumbnail is %+v, want %s", th, pic.File.Thumb)
	}

	// The guids stay the same as the feed grows.
	before := guids(all)
	tr.post(t, "carol", "one more")
	after := guids(tr.feed(t, "/rss/all.xml", nil))
	if len(after) != len(before)+1 || !slices.Equal(after[1:], before) || slices.Contains(before, after[0]) {
		t.Errorf("guids changed: before %v, after %v", before, after)
	}

	pings := tr.feed(t, "/rss/ping/bob.xml", nil)
	if len(pings.Channel.Items) != 1 || pings.Channel.Items[0].GUID.Value != before[2] {
		t.Errorf("bob's ping feed: %+v, want the one ping with guid %s", pings.Channel.Items, before[2])
	}
	if n := len(tr.feed(t, "/rss/ping/alice.xml", nil).Channel.Items); n != 0 {
		t.Errorf("alice's ping feed has %d items; nobody pinged her", n)
	}
}

func TestFeedRequestsThatAreRefused(t *testing.T) {
	tr, password := newPrivateRoom(t, nil)
	tests := []struct {
		name   string
		path   string
		change func(*http.Request)
		status int
	}{
		{"the feed of a private room without the password", "/rss/all.xml", nil, 401},
		{"the feed of a private room with a wrong password", "/rss/all.xml", func(r *http.Request) { r.SetBasicAuth("reader", "wrong") }, 401},
		{"a ping feed with a wrong password", "/rss/ping/bob.xml", func(r *http.Request) { r.SetBasicAuth("", "wrong") }, 401},
		{"a ping feed for an impossible nick", "/rss/ping/a%20b.xml", func(r *http.Request) { r.SetBasicAuth("", password) }, 400},
		{"a ping feed without .xml", "/rss/ping/bob", func(r *http.Request) { r.SetBasicAuth("", password) }, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			res, raw := tr.do(t, "GET", tt.path, nil, tt.change)
			if res.StatusCode != tt.status {
				t.Fatalf("got %d %s, want %d", res.StatusCode, raw, tt.status)
			}
			if tt.status == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("a 401 without a Basic challenge: feed readers cannot ask for the password")
			}
		})
	}
	t.Run("the feed of a private room with the password in basic auth is served", func(t *testing.T) {
		tr.feed(t, "/rss/all.xml", func(r *http.Request) { r.SetBasicAuth("reader", password) })
	})
}

// A feed costs what a page of history costs: it is charged to the
// reader's budget and holds at most a page's bytes, however long the
// messages are.
func TestFeedsAreBoundedLikeHistory(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.ReadsPerMinute = 1 // a burst of 5
		o.PostsPerMinute = 1 << 30
	})
	long := chat.PGPBegin + "\n\n" + strings.Repeat(strings.Repeat("A", 63)+"\n", 900) + "-----END PGP MESSAGE-----\n"
	for range 30 {
		tr.post(t, "alice", long)
	}
	res, raw := tr.do(t, "GET", "/rss/all.xml", nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the feed: %d", res.StatusCode)
	}
	if items := strings.Count(string(raw), "<item>"); items == 0 || items*len(long) > chat.HistoryPageBytes+len(long) {
		t.Fatalf("the feed holds %d items of %d bytes, over a page of %d bytes", items, len(long), chat.HistoryPageBytes)
	}
	refused := 0
	for range 10 {
		if res, _ := tr.do(t, "GET", "/rss/all.xml", nil, nil); res.StatusCode == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("11 quick feed reads at one a minute were never refused")
	}
}
