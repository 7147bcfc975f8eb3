package httpapi

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatbox-dev/chatbox/chat"

	"github.com/chatbox-dev/chatbox/internal/bytesize"
)

// feedItems is how many messages a feed holds, newest first.
const feedItems = 100

// The RSS 2.0 document, with the Atom self link and Media RSS thumbnails
// that feed readers and validators look for.
type rssFeed struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Atom    string     `xml:"xmlns:atom,attr"`
	Media   string     `xml:"xmlns:media,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Self          rssLink   `xml:"atom:link"`
	LastBuildDate string    `xml:"lastBuildDate"`
	TTL           int       `xml:"ttl"`
	Items         []rssItem `xml:"item"`
}

type rssLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type rssItem struct {
	Title       string        `xml:"title"`
	Link        string        `xml:"link"`
	Description string        `xml:"description"`
	GUID        rssGUID       `xml:"guid"`
	PubDate     string        `xml:"pubDate"`
	Enclosure   *rssEnclosure `xml:"enclosure,omitempty"`
	Thumbnail   *rssThumbnail `xml:"media:thumbnail,omitempty"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssEnclosure struct {
	URL    string `xml:"url,attr"`
	Length int64  `xml:"length,attr"`
	Type   string `xml:"type,attr"`
}

type rssThumbnail struct {
	URL string `xml:"url,attr"`
}

// handleFeedAll serves /rss/all.xml: the newest messages.
func (s *Server) handleFeedAll(w http.ResponseWriter, req *http.Request) {
	if !s.requireRoom(w, req) {
		return
	}
	msgs, err := s.room.Newest(s.addrs.clientAddr(req), feedItems, func(chat.Message) bool { return true })
	if err != nil {
		s.writeError(w, err)
		return
	}
	st := s.room.State()
	s.writeFeed(w, req, st, "rss/all.xml", st.Name, "Every message in the room, newest first.", msgs)
}

// handleFeedPings serves /rss/ping/{nick}.xml: the pings to nick.
func (s *Server) handleFeedPings(w http.ResponseWriter, req *http.Request) {
	if !s.requireRoom(w, req) {
		return
	}
	nick, ok := strings.CutSuffix(req.PathValue("feed"), ".xml")
	if !ok {
		s.writeError(w, &chat.Error{Code: chat.CodeNotFound, Msg: "ping feeds are at /rss/ping/NICK.xml"})
		return
	}
	if err := chat.ValidateNick(nick); err != nil {
		s.writeError(w, invalid(err.Error()))
		return
	}
	msgs, err := s.room.Newest(s.addrs.clientAddr(req), feedItems, func(m chat.Message) bool { return m.Kind == chat.KindPing && m.To == nick })
	if err != nil {
		s.writeError(w, err)
		return
	}
	st := s.room.State()
	s.writeFeed(w, req, st, "rss/ping/"+nick+".xml", st.Name+": pings to "+nick, "Pings to "+nick+", newest first.", msgs)
}

// writeFeed writes msgs (newest first) as an RSS 2.0 document.
func (s *Server) writeFeed(w http.ResponseWriter, req *http.Request, st chat.RoomState, self, title, description string, msgs []chat.Message) {
	base := s.roomURL(req)
	ch := rssChannel{
		Title:       title,
		Link:        base,
		Description: description,
		Self:        rssLink{Href: base + self, Rel: "self", Type: "application/rss+xml"},
		TTL:         5,
		Items:       make([]rssItem, 0, len(msgs)),
	}
	built := st.CreatedAt
	if len(msgs) > 0 {
		built = msgs[0].TS
	}
	ch.LastBuildDate = built.Format(time.RFC1123Z)
	for _, m := range msgs {
		ch.Items = append(ch.Items, feedItem(base, st, m))
	}
	doc := rssFeed{
		Version: "2.0",
		Atom:    "http://www.w3.org/2005/Atom",
		Media:   "http://search.yahoo.com/mrss/",
		Channel: ch,
	}
	raw, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	w.Write(raw)
	w.Write([]byte("\n"))
}

// encryptedItem is what an item of an encrypted room says of its message.
const encryptedItem = "encrypted message"

// feedItem turns one message into an RSS item. Its guid joins the room's
// creation time and the message id, so it never changes and never names
// another message, not even in a room created after a destroy.
func feedItem(base string, st chat.RoomState, m chat.Message) rssItem {
	it := rssItem{
		Link:        base + "#m" + strconv.FormatUint(m.ID, 10),
		Description: m.Text,
		GUID:        rssGUID{Value: fmt.Sprintf("chatbox:%d:%d", st.CreatedAt.Unix(), m.ID)},
		PubDate:     m.TS.Format(time.RFC1123Z),
	}
	switch {
	case st.Encrypted:
		// The box cannot read it: the nickname and the time are all.
		it.Title = m.Nick + ": " + encryptedItem
		it.Description = encryptedItem
	case m.File != nil:
		it.Title = m.Nick + " shared " + m.File.Name
		it.Description = fmt.Sprintf("%s (%s, %s)", m.File.Name, m.File.Type, bytesize.Text(m.File.Size))
		it.Enclosure = &rssEnclosure{URL: absolute(base, m.File.URL), Length: m.File.Size, Type: m.File.Type}
		if m.File.Thumb != "" {
			it.Thumbnail = &rssThumbnail{URL: absolute(base, m.File.Thumb)}
		}
	case chat.IsPGP(m.Text):
		it.Title = m.Nick + ": (an OpenPGP message)"
	case m.Kind == chat.KindPing:
		_, body, _ := chat.ParsePing(m.Text)
		it.Title = m.Nick + " pinged " + m.To + oneLine(": "+body, 80)
	default:
		it.Title = m.Nick + oneLine(": "+m.Text, 80)
	}
	return it
}

// absolute makes a path of the room (starting with /) a full URL.
func absolute(base, path string) string {
	return strings.TrimSuffix(base, "/") + path
}

// oneLine folds s onto one line and cuts it to at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
