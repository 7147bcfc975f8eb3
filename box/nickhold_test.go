package box

import (
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/config"
)

// room.nick_hold reaches the room: the config owns the default.
func TestRoomOptionsCarryTheNicknameHold(t *testing.T) {
	cfg := config.Default()
	if got := RoomOptions(cfg).NickHold; got != 10*time.Minute {
		t.Fatalf("the default hold reaches the room as %v, want 10m", got)
	}
	cfg.Room.NickHold = config.Duration(time.Minute)
	if got := RoomOptions(cfg).NickHold; got != time.Minute {
		t.Fatalf("nick_hold = 1m reaches the room as %v", got)
	}
}
