package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// AdminSocketFile is the Unix socket in the data directory on which a
// running room takes orders from `chatbox room` on the same machine. Only
// the service's user (and root) can open it.
const AdminSocketFile = "admin.sock"

// Reset wipes the room at once (no countdown) and creates a new one. It
// returns the new room's password when it is private.
func (r *Room) Reset(private bool, by string) (string, error) {
	r.mu.Lock()
	if r.countdown != nil {
		r.countdown.Stop()
	}
	r.destroyBy = by
	r.mu.Unlock()
	r.wipe()
	if st := r.State(); st.Exists {
		return "", errors.New("the room could not be wiped; see the service's log")
	}
	return r.Create(private)
}

// Info is what the box's administrator sees of the room.
type Info struct {
	Exists      bool
	Private     bool
	CreatedAt   time.Time
	DestroyedAt time.Time
	DestroyedBy string
	// DestroyAt and DestroyBy describe a countdown under way.
	DestroyAt time.Time
	DestroyBy string
	// Members are the nicknames in the room now, sorted; Clients counts
	// the open connections.
	Members  []string
	Clients  int
	Messages int
}

// Info returns the room as the administrator sees it.
func (r *Room) Info() (Info, error) {
	st := r.State()
	at, by := r.Countdown()
	count, err := r.store.MessageCount()
	if err != nil {
		return Info{}, fmt.Errorf("count the messages: %w", err)
	}
	return Info{
		Exists: st.Exists, Private: st.Private, CreatedAt: st.CreatedAt,
		DestroyedAt: st.DestroyedAt, DestroyedBy: st.DestroyedBy,
		DestroyAt: at, DestroyBy: by,
		Members: r.hub.members(), Clients: r.hub.count(), Messages: count,
	}, nil
}

// TakeInitialPassword returns, once, the password of the private room
// created when the room opened (Options.CreateOnStart with Private): the
// installer shows it to the owner. Only its hash is stored, so after it is
// taken, or after a restart, the answer is false and a new password
// (SetPassword) is the way in.
func (r *Room) TakeInitialPassword() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.initialPassword
	r.initialPassword = ""
	return p, p != ""
}

// AdminHandler serves the room's administration API, for the admin socket
// only: it has no authentication of its own.
func (r *Room) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /room", func(w http.ResponseWriter, _ *http.Request) {
		st := r.State()
		at, by := r.Countdown()
		count, _ := r.store.MessageCount()
		writeJSON(w, http.StatusOK, map[string]any{
			"exists": st.Exists, "private": st.Private, "created_at": st.CreatedAt,
			"destroyed_at": st.DestroyedAt, "destroyed_by": st.DestroyedBy,
			"destroy_at": at, "destroy_by": by,
			"members": r.hub.members(), "clients": r.hub.count(), "messages": count,
		})
	})
	mux.HandleFunc("POST /room/password", func(w http.ResponseWriter, _ *http.Request) {
		password, err := r.SetPassword()
		if err != nil {
			r.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"password": password})
	})
	mux.HandleFunc("POST /room/reset", func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Private bool `json:"private"`
		}
		if err := decodeJSON(w, req, 1<<10, &body); err != nil {
			r.writeError(w, err)
			return
		}
		password, err := r.Reset(body.Private, "the box's administrator")
		if err != nil {
			r.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"password": password})
	})
	mux.HandleFunc("POST /room/destroy", func(w http.ResponseWriter, _ *http.Request) {
		at, err := r.Destroy("admin")
		if err != nil {
			r.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"destroy_at": at})
	})
	return mux
}

// ListenAdmin opens the admin socket in the data directory, replacing a
// stale one left by a killed process.
func (r *Room) ListenAdmin(ctx context.Context) (net.Listener, error) {
	path := filepath.Join(r.opts.DataDir, AdminSocketFile)
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another chatbox is already serving %s", r.opts.DataDir)
	}
	os.Remove(path)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("open the admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("protect the admin socket: %w", err)
	}
	return ln, nil
}
