package chat

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chatbox-dev/chatbox/chat/event"
	"github.com/chatbox-dev/chatbox/chat/nicks"
)

// The room's records and events, named here as the rest of the room
// knows them.
type (
	Kind    = event.Kind
	Message = event.Message
	File    = event.File
	Event   = event.Event
	// Reactions maps each emoji to the nicknames that reacted with it.
	Reactions = event.Reactions
)

// The kinds of message.
const (
	KindText   = event.KindText
	KindFile   = event.KindFile
	KindSystem = event.KindSystem
	KindPing   = event.KindPing
	// KindDeleted is what a deleted message leaves in the history.
	KindDeleted = event.KindDeleted
)

// MaxNickLength is the longest nickname, in characters.
const MaxNickLength = 25

// reservedNicks are the names the box speaks under itself; nobody may
// take them, in any case.
var reservedNicks = []string{"admin", "administrator", "chatbox", "owner", "root", "server", "system"}

// invisible reports whether r shows as nothing: a space, a formatting
// character, or one of the Hangul fillers that Unicode counts as letters.
func invisible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0':
		return true
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// NickRule is the rule a nickname follows, in the words a person is
// refused with.
const NickRule = "a nickname is 1 to 25 letters and digits (any script), with - _ or . allowed between them"

// nickPunct reports whether r is punctuation a nickname may hold
// between its letters and digits.
func nickPunct(r rune) bool { return r == '-' || r == '_' || r == '.' }

// ValidateNick checks that nick follows NickRule: 1 to 25 characters,
// letters and digits of any script (Unicode's L and N classes), each
// letter followed by the combining marks its script needs (Tamil and
// Devanagari names have them), and '-', '_' or '.' only between them
// (never first, last, or two in a row, so no nickname is "." or ".."), no
// invisible filler, and no name the box reserves for itself or one that
// looks like it. A bad nickname is refused with the rule, never cut.
func ValidateNick(nick string) error {
	if nick == "" || !utf8.ValidString(nick) || utf8.RuneCountInString(nick) > MaxNickLength {
		return errNickRule
	}
	prevPunct := true // nothing before the first character
	for _, r := range nick {
		mark := unicode.In(r, unicode.Mn, unicode.Mc)
		punct := nickPunct(r)
		switch {
		case invisible(r):
			return errNickRule
		case mark && prevPunct:
			return errNickRule // a mark belongs to a letter or digit
		case punct && prevPunct:
			return errNickRule
		case !mark && !punct && !unicode.IsLetter(r) && !unicode.IsNumber(r):
			return errNickRule
		}
		prevPunct = punct
	}
	if prevPunct {
		return errNickRule // ends with punctuation
	}
	if slices.Contains(reservedFolds, nicks.Fold(nick)) {
		return invalid("nick", fmt.Sprintf("%q is the box's own name; choose another nickname", nick))
	}
	return nil
}

// reservedFolds are the folds of reservedNicks (see nicks.Fold): a name
// that looks like one of them is the box's too.
var reservedFolds = func() []string {
	out := make([]string, len(reservedNicks))
	for i, n := range reservedNicks {
		out[i] = nicks.Fold(n)
	}
	return out
}()

var errNickRule = invalid("nick", NickRule)

// MaxClientIDLength is the longest client id of a message, in bytes.
const MaxClientIDLength = 64

// ValidateClientID checks the id a client chose for a send: empty (no id),
// or 1 to 64 ASCII letters, digits, '-' and '_'.
func ValidateClientID(id string) error {
	if len(id) > MaxClientIDLength {
		return errBadClientID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return errBadClientID
		}
	}
	return nil
}

var errBadClientID = invalid("client_id", fmt.Sprintf("client_id is 1 to %d letters, digits, '-' or '_'", MaxClientIDLength))

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
	if strings.IndexFunc(text, func(r rune) bool { return !invisible(r) }) < 0 {
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
