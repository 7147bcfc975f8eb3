package chat

import (
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/chat/nicks"
)

func TestValidateNick(t *testing.T) {
	tests := []struct {
		name string
		nick string
		ok   bool
	}{
		{"plain letters are fine", "alice", true},
		{"letters and digits are fine", "bob42", true},
		{"letters of other scripts are fine", "Zoë", true},
		{"twenty-five characters are fine", strings.Repeat("a", 25), true},
		{"twenty-six characters are too many", strings.Repeat("a", 26), false},
		{"an empty nick is refused", "", false},
		{"a space is refused", "al ice", false},
		{"markup is refused", "<b>x</b>", false},
		{"a slash is refused", "a/b", false},
		{"a null byte is refused", "a\x00b", false},
		{"invalid UTF-8 is refused", "a\xffb", false},
		{"a Tamil name with its vowel signs is fine", "தமிழ்", true},
		{"a Devanagari name with its marks is fine", "प्रिया", true},
		{"a name that starts with a combining mark is refused", "\u0301a", false},
		{"a Hangul filler alone is refused", "\u3164", false},
		{"a halfwidth Hangul filler is refused", "a\uFFA0", false},
		{"a Hangul choseong filler is refused", "\u115F", false},
		{"a zero-width joiner is refused", "a\u200db", false},
		{"admin is the box's", "admin", false},
		{"Admin is the box's too", "Admin", false},
		{"SYSTEM is the box's", "SYSTEM", false},
		{"a name that starts like a reserved one is fine", "adminton", true},
		{"a look-alike of a reserved name is the box's too", "аdmin", false},
		{"a full-width reserved name is the box's too", "ｒｏｏｔ", false},
		{"a hyphen inside is fine", "jean-luc", true},
		{"an underscore inside is fine", "snake_case", true},
		{"a dot inside is fine", "a.b", true},
		{"several marks apart are fine", "a.b-c_d", true},
		{"a Cyrillic name is fine", "Иван", true},
		{"a Chinese name is fine", "李雷", true},
		{"an Arabic-Indic number is fine", "١٢٣", true},
		{"a superscript digit (class N) is fine", "x²", true},
		{"a leading dot is refused", ".alice", false},
		{"a trailing dot is refused", "alice.", false},
		{"a dot alone is refused", ".", false},
		{"two dots are refused", "..", false},
		{"two marks in a row are refused", "a..b", false},
		{"a hyphen then a dot are refused", "a-.b", false},
		{"a leading hyphen is refused", "-alice", false},
		{"a trailing underscore is refused", "alice_", false},
		{"a combining mark after a dot is refused", "a.\u0301b", false},
		{"an at sign is refused", "a@b", false},
		{"a plus is refused", "a+b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateNick(tt.nick)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateNick(%q) = %v, want ok=%v", tt.nick, err, tt.ok)
			}
			if err != nil && !strings.Contains(tt.name, "box's") && err.Error() != NickRule {
				t.Fatalf("ValidateNick(%q) says %q, want the rule %q", tt.nick, err, NickRule)
			}
		})
	}
}

func TestValidateText(t *testing.T) {
	lim := TextLimits{Max: 10, MaxPGP: 200}
	armored := PGPBegin + "\r\n\r\nwcBMA" + strings.Repeat("x", 60) + "\r\n-----END PGP MESSAGE-----\r\n"
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"short text is fine", "hello", true},
		{"text at the limit is fine", strings.Repeat("é", 10), true},
		{"text over the limit is refused", strings.Repeat("a", 11), false},
		{"blank text is refused", " \n\t ", false},
		{"a newline is fine", "a\nb", true},
		{"a null byte is refused", "a\x00b", false},
		{"an escape character is refused", "a\x1b[31m", false},
		{"invalid UTF-8 is refused", "a\xc0\xafb", false},
		{"an armored OpenPGP message may be longer than text", armored, true},
		{"an armored OpenPGP message over its own limit is refused", armored + strings.Repeat("y", 200), false},
		{"a fake armor header without an end line is plain text", PGPBegin + "x", false},
		{"text of invisible characters only is empty", "\u200b\u3164 \u2060", false},
		{"text with a zero-width space among letters is fine", "hi\u200bthere", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateText(tt.text, lim)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateText(%q) = %v, want ok=%v", tt.text, err, tt.ok)
			}
		})
	}
}

func TestParsePing(t *testing.T) {
	tests := []struct {
		text, to, body string
		ok             bool
	}{
		{"/ping bob are you there?", "bob", "are you there?", true},
		{"/ping  bob", "bob", "", true},
		{"/pingbob hi", "", "", false},
		{"hello /ping bob", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			to, body, ok := ParsePing(tt.text)
			if to != tt.to || body != tt.body || ok != tt.ok {
				t.Fatalf("ParsePing(%q) = %q, %q, %v; want %q, %q, %v", tt.text, to, body, ok, tt.to, tt.body, tt.ok)
			}
		})
	}
}

// FuzzValidateNick checks that whatever ValidateNick accepts is safe to
// show and to put in a URL path segment: letters and digits, with '-',
// '_' and '.' only between them, so never "." or "..".
func FuzzValidateNick(f *testing.F) {
	for _, s := range []string{"alice", "", "a b", "Zoë", "\xff", strings.Repeat("x", 30), "١٢٣", "a.b", "..", ".a", "a..b", "a-_b", "x²"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, nick string) {
		if ValidateNick(nick) != nil {
			return
		}
		if strings.ContainsAny(nick, "<>&\"'/\\ \x00%?#") {
			t.Fatalf("accepted unsafe nick %q", nick)
		}
		if strings.HasPrefix(nick, ".") || strings.HasSuffix(nick, ".") || strings.Contains(nick, "..") {
			t.Fatalf("accepted a nick that could name a directory: %q", nick)
		}
		if nicks.Fold(nick) == "" {
			t.Fatalf("accepted a nick that folds to nothing: %q", nick)
		}
		if n := len([]rune(nick)); n < 1 || n > MaxNickLength {
			t.Fatalf("accepted nick of %d characters", n)
		}
	})
}

// FuzzValidateText checks that accepted text is valid UTF-8 within the
// limits and free of control characters that could corrupt a terminal or
// a log line.
func FuzzValidateText(f *testing.F) {
	for _, s := range []string{"hi", "", "\x00", "a\nb", PGPBegin + "\n-----END PGP MESSAGE-----", "\xed\xa0\x80"} {
		f.Add(s)
	}
	lim := TextLimits{Max: 50, MaxPGP: 300}
	f.Fuzz(func(t *testing.T, text string) {
		if ValidateText(text, lim) != nil {
			return
		}
		if len(text) > lim.MaxPGP && len([]rune(text)) > lim.Max {
			t.Fatalf("accepted text over both limits: %d bytes", len(text))
		}
		for _, r := range text {
			if r == 0 || r == 0x1b || r == 0x7f {
				t.Fatalf("accepted control character %U", r)
			}
		}
	})
}
