package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
)

// ErrNotRunning is wrapped by the Client's errors when no service answers
// on its socket.
var ErrNotRunning = errors.New("the chatbox service is not running")

// Error is a refusal from the service: its status and its sentence.
type Error struct {
	// Status is the HTTP status of the answer.
	Status int
	// Code names the kind of refusal as chat.Code.String does; empty when
	// the service did not say.
	Code string
	// Msg is the service's sentence.
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// maxAnswer bounds an answer the Client reads.
const maxAnswer = 1 << 20

// Client asks a running service through its admin socket. Every method
// takes a context that bounds the request.
type Client struct {
	socket string
	hc     *http.Client
}

// New returns a Client of the service listening on the Unix socket at
// socketPath (datadir.Layout.AdminSocket). It connects only when asked.
func New(socketPath string) *Client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socketPath)
	}
	return &Client{
		socket: socketPath,
		hc:     &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}},
	}
}

// Info returns the room as the administrator sees it.
func (c *Client) Info(ctx context.Context) (RoomInfo, error) {
	var info RoomInfo
	err := c.do(ctx, http.MethodGet, pathRoom, nil, &info)
	return info, err
}

// SetPassword gives the room a new password, making it private, and
// returns it. Everyone logged in must enter the new one.
func (c *Client) SetPassword(ctx context.Context) (string, error) {
	var out PasswordResponse
	err := c.do(ctx, http.MethodPost, pathPassword, struct{}{}, &out)
	return out.Password, err
}

// Reset wipes the room at once and starts a new one of kind k. It
// returns the new room's password, or "" for a public room.
func (c *Client) Reset(ctx context.Context, k chat.RoomKind) (string, error) {
	var out PasswordResponse
	err := c.do(ctx, http.MethodPost, pathReset, ResetRequest{Private: k.Private, Encrypted: k.Encrypted}, &out)
	return out.Password, err
}

// Destroy starts the destroy countdown and returns when it ends.
func (c *Client) Destroy(ctx context.Context) (time.Time, error) {
	var out DestroyResponse
	err := c.do(ctx, http.MethodPost, pathDestroy, struct{}{}, &out)
	return out.DestroyAt, err
}

// SetLocked makes the room read-only for people (locked) or writable
// again, and returns the room as it is then.
func (c *Client) SetLocked(ctx context.Context, locked bool) (RoomInfo, error) {
	var info RoomInfo
	err := c.do(ctx, http.MethodPost, pathLock, LockRequest{Locked: locked}, &info)
	return info, err
}

// InitialPassword takes the password of the private room the service
// created when it started. The service hands it over once: ok is false
// when it has none (it was taken already, the service restarted since, or
// the room was not created at start).
func (c *Client) InitialPassword(ctx context.Context) (password string, ok bool, err error) {
	var out PasswordResponse
	err = c.do(ctx, http.MethodPost, pathInitialPassword, struct{}{}, &out)
	if e, isErr := errors.AsType[*Error](err); isErr && e.Code == chat.CodeNotFound.String() {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return out.Password, true, nil
}

// Snapshot asks for a consistent copy of the room's store as it is now
// (a bbolt file) and returns its body and size. The copy is read as it
// arrives: the caller reads it to the end (a shorter body is an error,
// io.ErrUnexpectedEOF) and closes it. ctx bounds the whole transfer.
func (c *Client) Snapshot(ctx context.Context) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://chatbox"+pathSnapshot, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("make the request to %s: %w", pathSnapshot, err)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, c.transportError(err)
	}
	if res.StatusCode >= 300 {
		defer res.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
		return nil, 0, answerError(res, http.MethodGet, pathSnapshot, raw)
	}
	if res.ContentLength < 0 {
		res.Body.Close()
		return nil, 0, fmt.Errorf("chatbox answered GET %s without saying how long the copy is", pathSnapshot)
	}
	return res.Body, res.ContentLength, nil
}

// do sends one request with in as its JSON body (none when nil) and
// decodes the answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode the request to %s: %w", path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://chatbox"+path, body)
	if err != nil {
		return fmt.Errorf("make the request to %s: %w", path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("read chatbox's answer through %s: %w", c.socket, err)
	}
	if res.StatusCode >= 300 {
		return answerError(res, method, path, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("read chatbox's answer to %s %s: %w", method, path, err)
	}
	return nil
}

// answerError is the refusal in raw, the body of an answer of status 300
// or more.
func answerError(res *http.Response, method, path string, raw []byte) error {
	var e ErrorResponse
	if json.Unmarshal(raw, &e) != nil || e.Error == "" {
		return &Error{Status: res.StatusCode, Msg: fmt.Sprintf("chatbox answered %s to %s %s", res.Status, method, path)}
	}
	return &Error{Status: res.StatusCode, Code: e.Code, Msg: e.Error}
}

// transportError says why a request got no answer.
func (c *Client) transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: nothing answers on %s", ErrNotRunning, c.socket)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("talk to chatbox through %s: %w; run as root or as the chatbox user", c.socket, fs.ErrPermission)
	default:
		return fmt.Errorf("talk to chatbox through %s: %w", c.socket, err)
	}
}
