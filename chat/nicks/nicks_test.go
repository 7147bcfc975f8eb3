package nicks

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestNamesThatLookAlikeFoldTheSame(t *testing.T) {
	for _, tt := range []struct {
		name, a, b string
		same       bool
	}{
		{"another case is the same name", "alice", "ALICE", true},
		{"mixed case is the same name", "alice", "aLiCe", true},
		{"a Cyrillic А is a Latin A", "alice", "Аlice", true},
		{"a Cyrillic е inside is a Latin e", "alice", "alicе", true},
		{"a name all in Cyrillic look-alikes is the Latin one", "alice", "аlісе", true},
		{"full-width letters are the plain ones", "alice", "ａｌｉｃｅ", true},
		{"full-width capitals are the plain small ones", "alice", "ＡＬＩＣＥ", true},
		{"a Greek omicron is a Latin o", "bob", "bοb", true},
		{"mathematical bold letters are the plain ones", "alice", "𝐚𝐥𝐢𝐜𝐞", true},
		{"a digit one is a small L", "bill", "bi1l", true},
		{"rn looks like m", "mary", "rnary", true},
		{"a decomposed ë is the composed one", "Zoë", "Zoe\u0308", true},
		{"another name is another name", "alice", "alicia", false},
		{"a number makes another name", "alice", "alice2", false},
		{"a Cyrillic name is not a Latin one", "иван", "ivan", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fold(tt.a) == Fold(tt.b); got != tt.same {
				t.Fatalf("Fold(%q)=%q, Fold(%q)=%q: same %v, want %v", tt.a, Fold(tt.a), tt.b, Fold(tt.b), got, tt.same)
			}
		})
	}
}

// ASCII nicknames fold a character at a time; that must be the fold of
// the whole name.
func TestASCIIFoldsAsTheWholeName(t *testing.T) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
	for _, a := range alphabet {
		for _, b := range alphabet {
			for _, c := range "aI1m0._" {
				name := string([]rune{a, b, c})
				if fast, slow := Fold(name), foldSlow(name); fast != slow {
					t.Fatalf("Fold(%q) = %q, the whole name folds to %q", name, fast, slow)
				}
			}
		}
	}
	if _, ok := foldASCII("alice"); !ok {
		t.Fatal("alice does not fold on the quick path")
	}
}

func TestTokens(t *testing.T) {
	for _, tt := range []struct {
		token string
		ok    bool
	}{
		{"", true},
		{strings.Repeat("a", 22), true},
		{"AZaz09-_" + strings.Repeat("x", 56), true},
		{strings.Repeat("a", 21), false},
		{strings.Repeat("a", 65), false},
		{strings.Repeat("a", 21) + "=", false},
		{strings.Repeat("a", 21) + "/", false},
		{strings.Repeat("a", 21) + "é", false},
	} {
		if got := ValidToken(tt.token); got != tt.ok {
			t.Errorf("ValidToken(%q) = %v, want %v", tt.token, got, tt.ok)
		}
	}
	if HashToken("") != (Token{}) {
		t.Error("no token hashes to something")
	}
	if HashToken(strings.Repeat("a", 22)) == HashToken(strings.Repeat("b", 22)) {
		t.Error("two tokens hash the same")
	}
}

var (
	t0    = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	alice = HashToken("alice-browser-token-0000")
	bob   = HashToken("bob-browser-token-000000")
)

func TestANicknameIsHeldByItsToken(t *testing.T) {
	tab := New(10*time.Minute, 100)
	if c := tab.Take("alice", alice, t0); c != nil {
		t.Fatalf("a free nickname: %+v", c)
	}
	for _, name := range []string{"alice", "ALICE", "Аlice", "ａｌｉｃｅ"} {
		if c := tab.Take(name, bob, t0); c == nil || c.Holder != "alice" {
			t.Errorf("another browser took %q: %+v", name, c)
		}
		if c := tab.Take(name, Token{}, t0); c == nil {
			t.Errorf("a connection without a token took %q", name)
		}
		if c := tab.Check(name, bob, t0); c == nil {
			t.Errorf("another browser may write as %q", name)
		}
		if c := tab.Check(name, Token{}, t0); c == nil {
			t.Errorf("a request without a token may write as %q", name)
		}
	}
	if c := tab.Take("alice", alice, t0); c != nil {
		t.Fatalf("a second tab of the holder: %+v", c)
	}
	if c := tab.Take("Alice", alice, t0); c == nil {
		t.Fatal("the holder's tab took another spelling while two tabs use alice")
	}
	if c := tab.Check("alice", alice, t0); c != nil {
		t.Fatalf("the holder may not write: %+v", c)
	}
	if c := tab.Check("carol", Token{}, t0); c != nil {
		t.Fatalf("a nickname nobody holds refuses a request without a token: %+v", c)
	}
}

func TestANicknameIsHeldForAWhileAfterItsLastConnection(t *testing.T) {
	tab := New(10*time.Minute, 100)
	tab.Take("alice", alice, t0)
	tab.Take("alice", alice, t0)
	tab.Release("alice", alice, t0, true)
	if all, idle := tab.Len(); all != 1 || idle != 0 {
		t.Fatalf("one tab of two closed: %d held, %d idle", all, idle)
	}
	tab.Release("alice", alice, t0.Add(time.Minute), true)
	at := t0.Add(time.Minute)
	if c := tab.Take("alice", bob, at.Add(10*time.Minute-time.Nanosecond)); c == nil {
		t.Fatal("another browser took alice within the hold")
	}
	if c := tab.Take("alice", alice, at.Add(5*time.Minute)); c != nil {
		t.Fatalf("the holder came back within the hold and was refused: %+v", c)
	}
	tab.Release("alice", alice, at.Add(5*time.Minute), true)
	if tab.Free("alice", at.Add(14*time.Minute)) {
		t.Fatal("the hold did not start again at the last close")
	}
	if !tab.Free("alice", at.Add(15*time.Minute)) {
		t.Fatal("alice is still held after the hold")
	}
	if c := tab.Take("alice", bob, at.Add(15*time.Minute)); c != nil {
		t.Fatalf("another browser may not take alice after the hold: %+v", c)
	}
	if all, idle := tab.Len(); all != 1 || idle != 0 {
		t.Fatalf("after the hold: %d held, %d idle, want 1 and 0", all, idle)
	}
}

func TestANicknameWithoutATokenIsLetGoAtOnce(t *testing.T) {
	tab := New(10*time.Minute, 100)
	tab.Take("bot", Token{}, t0)
	if c := tab.Take("bot", Token{}, t0); c != nil {
		t.Fatalf("a second tokenless connection of bot: %+v", c)
	}
	if c := tab.Take("bot", alice, t0); c == nil {
		t.Fatal("a browser took the nickname of an open tokenless connection")
	}
	if c := tab.Check("bot", Token{}, t0); c != nil {
		t.Fatalf("a tokenless post as a tokenless connection's nickname: %+v", c)
	}
	tab.Release("bot", Token{}, t0, true)
	tab.Release("bot", Token{}, t0, true)
	if !tab.Free("bot", t0) {
		t.Fatal("a tokenless nickname is kept after its connections closed")
	}
}

func TestARefusedConnectionHoldsNothing(t *testing.T) {
	tab := New(10*time.Minute, 100)
	tab.Take("alice", alice, t0)
	tab.Release("alice", alice, t0, false)
	if !tab.Free("alice", t0) {
		t.Fatal("a connection the room refused left its nickname held")
	}
}

func TestMove(t *testing.T) {
	tab := New(10*time.Minute, 100)
	tab.Take("alice", alice, t0)
	tab.Take("bob", bob, t0)
	if c := tab.Move("alice", "bob", alice, t0); c == nil || c.Holder != "bob" {
		t.Fatalf("alice took bob's name: %+v", c)
	}
	if tab.Free("alice", t0) {
		t.Fatal("a refused rename let go of the old name")
	}
	if c := tab.Move("alice", "Alice", alice, t0); c != nil {
		t.Fatalf("a respelling of one's own name: %+v", c)
	}
	if c := tab.Move("Alice", "alicia", alice, t0); c != nil {
		t.Fatalf("a rename to a free name: %+v", c)
	}
	if c := tab.Take("alice", bob, t0.Add(time.Minute)); c == nil {
		t.Fatal("the old name is not held for a while after a rename")
	}
	if c := tab.Take("alice", alice, t0.Add(time.Minute)); c != nil {
		t.Fatalf("the browser cannot go back to its old name: %+v", c)
	}
}

// The idle holds are bounded: past the bound, the hold released first is
// let go first, whatever the hold time.
func TestTheTableIsBounded(t *testing.T) {
	tab := New(time.Hour, 3)
	for i := range 5 {
		tok := HashToken(fmt.Sprintf("browser-token-%010d", i))
		name := fmt.Sprintf("n%d", i)
		tab.Take(name, tok, t0)
		tab.Release(name, tok, t0.Add(time.Duration(i)*time.Second), true)
	}
	if all, idle := tab.Len(); all != 3 || idle != 3 {
		t.Fatalf("%d held, %d idle, want 3 and 3", all, idle)
	}
	for i, free := range []bool{true, true, false, false, false} {
		if got := tab.Free(fmt.Sprintf("n%d", i), t0.Add(time.Minute)); got != free {
			t.Errorf("n%d free: %v, want %v", i, got, free)
		}
	}
}

// 100,000 names taken and released (100 seconds of an attacker cycling
// 1,000 names a second) leave at most the bound held, and the memory
// stays what the bound takes: under 1 KiB a hold.
func TestCyclingNamesCannotGrowTheTable(t *testing.T) {
	const bound = 20000
	tab := New(10*time.Minute, bound)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	now := t0
	for i := range 100_000 {
		tok := HashToken(fmt.Sprintf("attacker-token-%010d", i))
		name := fmt.Sprintf("x%d", i)
		if c := tab.Take(name, tok, now); c != nil {
			t.Fatalf("take %s: %+v", name, c)
		}
		tab.Release(name, tok, now, true)
		now = now.Add(time.Millisecond) // 1,000 names a second
	}
	all, idle := tab.Len()
	grew := int64(heap()) - int64(before)
	runtime.KeepAlive(tab)
	t.Logf("after 100,000 names at 1,000 a second: %d held (%d idle), heap grew %d KiB (%d bytes a hold)", all, idle, grew>>10, grew/int64(max(all, 1)))
	if all > bound || idle > bound {
		t.Fatalf("%d held, %d idle, over the bound %d", all, idle, bound)
	}
	if grew > bound*1024 {
		t.Fatalf("the heap grew %d bytes for %d holds", grew, all)
	}
}
