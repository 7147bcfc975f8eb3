package chat

import (
	"fmt"
	"github.com/chatbox-dev/chatbox/chat/event"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The room's records and events, named here as the rest of the room
// knows them.
type (
	Kind    = event.Kind
	Message = event.Message
	File    = event.File
	Event   = event.Event
)

// The kinds of message.
const (
	KindText   = event.KindText
	KindFile   = event.KindFile
	KindSystem = event.KindSystem
	KindPing   = event.KindPing
)

// MaxNickLength is the longest nickname, in characters.
const MaxNickLength = 25

// ValidateNick checks that nick is 1 to 25 letters or digits.
func ValidateNick(nick string) error {
	if nick == "" {
		return invalid("nick", "choose a nickname")
	}
	if !utf8.ValidString(nick) {
		return invalid("nick", "the nickname is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(nick); n > MaxNickLength {
		return invalid("nick", fmt.Sprintf("a nickname has at most %d characters, this one has %d", MaxNickLength, n))
	}
	for _, r := range nick {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return invalid("nick", fmt.Sprintf("a nickname may hold only letters and digits, not %q", r))
		}
	}
	return nil
}

// PGPBegin starts an OpenPGP armored message, which may be longer than
// ordinary text and is stored byte for byte.
const PGPBegin = "-----BEGIN PGP MESSAGE-----"

// IsPGP reports whether text is an OpenPGP armored message.
func IsPGP(text string) bool {
	t := strings.TrimLeft(text, " \t\r\n")
	return strings.HasPrefix(t, PGPBegin) && strings.Contains(t, "-----END PGP MESSAGE-----")
}

// TextLimits bound the length of a message's text.
type TextLimits struct {
	// Max is the most characters of ordinary text.
	Max int
	// MaxPGP is the most bytes of an OpenPGP armored message.
	MaxPGP int
}

// ValidateText checks a message's text: not blank, valid UTF-8, no control
// characters but newline and tab (and carriage return in armored text), and
// within the limits. Malformed text is refused with CodeInvalid, text over
// a limit with CodeTooLong.
func ValidateText(text string, lim TextLimits) error {
	if strings.TrimSpace(text) == "" {
		return invalid("text", "the message is empty")
	}
	if !utf8.ValidString(text) {
		return invalid("text", "the message is not valid UTF-8")
	}
	pgp := IsPGP(text)
	for _, r := range text {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && !(pgp && r == '\r') {
			return invalid("text", fmt.Sprintf("the message holds a control character (%U)", r))
		}
	}
	if pgp {
		if len(text) > lim.MaxPGP {
			return tooLong(int64(lim.MaxPGP), fmt.Sprintf("an OpenPGP message has at most %d bytes, this one has %d", lim.MaxPGP, len(text)))
		}
		return nil
	}
	if n := utf8.RuneCountInString(text); n > lim.Max {
		return tooLong(int64(lim.Max), fmt.Sprintf("a message has at most %d characters, this one has %d", lim.Max, n))
	}
	return nil
}

// ParsePing splits "/ping NICK text" into NICK and text. ok is false when
// text is not a ping.
func ParsePing(text string) (to, body string, ok bool) {
	rest, found := strings.CutPrefix(text, "/ping ")
	if !found {
		return "", "", false
	}
	rest = strings.TrimLeft(rest, " ")
	to, body, _ = strings.Cut(rest, " ")
	return to, strings.TrimSpace(body), true
}
