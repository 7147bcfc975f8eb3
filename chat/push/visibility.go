package push

import "sync"

// visibility tracks which connections say their page is visible, and so
// which people (folded nicknames) have a visible page of the room.
type visibility struct {
	mu    sync.Mutex
	conns map[any]visEntry
	// count is the number of visible pages of each folded nickname.
	count map[string]int
}

type visEntry struct {
	who     string
	visible bool
}

// SetVisible records whether the page on conn (any comparable value the
// transport keeps per connection), under nick, is visible. A person with
// a visible page gets no pushes; the service worker also stays quiet
// while a page of the room has focus.
func (s *Service) SetVisible(conn any, nick string, visible bool) {
	v := &s.vis
	v.mu.Lock()
	defer v.mu.Unlock()
	v.drop(conn)
	v.conns[conn] = visEntry{who: s.fold(nick), visible: visible}
	if visible {
		v.count[s.fold(nick)]++
	}
}

// Renamed moves conn's page, if it said whether it is visible, to nick.
func (s *Service) Renamed(conn any, nick string) {
	v := &s.vis
	v.mu.Lock()
	e, ok := v.conns[conn]
	v.mu.Unlock()
	if ok {
		s.SetVisible(conn, nick, e.visible)
	}
}

// Gone forgets conn: its page is closed.
func (s *Service) Gone(conn any) {
	v := &s.vis
	v.mu.Lock()
	defer v.mu.Unlock()
	v.drop(conn)
}

// Visible reports whether nick has a visible page of the room.
func (s *Service) Visible(nick string) bool {
	v := &s.vis
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.count[s.fold(nick)] > 0
}

// drop removes conn's entry; mu is held.
func (v *visibility) drop(conn any) {
	e, ok := v.conns[conn]
	if !ok {
		return
	}
	delete(v.conns, conn)
	if e.visible {
		if v.count[e.who]--; v.count[e.who] <= 0 {
			delete(v.count, e.who)
		}
	}
}

// snapshot returns the folded nicknames with a visible page now.
func (v *visibility) snapshot() map[string]bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]bool, len(v.count))
	for who := range v.count {
		out[who] = true
	}
	return out
}
