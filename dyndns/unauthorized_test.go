package dyndns_test

import (
	"testing"

	"github.com/chatbox-dev/chatbox/dyndns"
)

// The codes and statuses Cloudflare answers a refused token with are the
// ones APIError.Unauthorized recognises, and no others.
func TestUnauthorizedRecognisesARefusedToken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		code   int
		want   bool
	}{
		{"an unknown token", 403, 9109, true},
		{"a token without the permission", 403, 10000, true},
		{"no token", 401, 10000, true},
		{"invalid request headers", 400, 6003, true},
		{"a malformed Authorization header", 400, 6111, true},
		{"a bad record", 400, 1004, false},
		{"a server failure", 500, 10001, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &dyndns.APIError{Status: tc.status, Errors: []dyndns.APIMessage{{Code: tc.code}}}
			if got := e.Unauthorized(); got != tc.want {
				t.Fatalf("HTTP %d with code %d: Unauthorized() = %v, want %v", tc.status, tc.code, got, tc.want)
			}
		})
	}
}
