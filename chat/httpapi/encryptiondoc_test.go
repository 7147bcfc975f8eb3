package httpapi

// A reader of docs/ENCRYPTION.md written from the document alone: it
// decrypts the document's worked example here, and the browser tests use
// it (docDecrypt, docDecryptFile) on what the page made, and scanDataDir
// to show the data directory holds none of the plaintext.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// docAD is the associated data: the lines joined by "\n", no final one.
func docAD(lines ...string) []byte { return []byte(strings.Join(lines, "\n")) }

// docKey is the AES key of a link's fragment key (base64url, 43
// characters) and, when kdf is not nil, a passphrase.
func docKey(fragment, passphrase string, kdf *struct {
	Iterations int
	Salt       string
}) ([]byte, error) {
	key, err := base64.RawURLEncoding.DecodeString(fragment)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("the fragment key is not 32 bytes of base64url: %v", err)
	}
	if kdf == nil {
		return key, nil
	}
	salt, err := base64.RawURLEncoding.DecodeString(kdf.Salt)
	if err != nil || len(salt) != 16 {
		return nil, fmt.Errorf("the salt is not 16 bytes of base64url: %v", err)
	}
	return pbkdf2.Key(sha256.New, string(key)+passphrase, salt, kdf.Iterations, 32)
}

// docOpen is AES-256-GCM decryption with the tag at the end of ct.
func docOpen(key, iv, ct, ad []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return gcm.Open(nil, iv, ct, ad)
}

// docDecrypt opens an envelope of kind (text, ping, file, reaction,
// keycheck) sent by nick in room roomID.
func docDecrypt(key []byte, roomID, kind, nick, envelope string) ([]byte, error) {
	var env struct {
		V  int    `json:"v"`
		IV string `json:"iv"`
		CT string `json:"ct"`
	}
	if err := json.Unmarshal([]byte(envelope), &env); err != nil {
		return nil, fmt.Errorf("the envelope is not JSON: %w", err)
	}
	if env.V != 1 {
		return nil, fmt.Errorf("the envelope's v is %d", env.V)
	}
	iv, err := base64.RawURLEncoding.DecodeString(env.IV)
	if err != nil || len(iv) != 12 {
		return nil, fmt.Errorf("the iv is not 12 bytes of base64url: %v", err)
	}
	ct, err := base64.RawURLEncoding.DecodeString(env.CT)
	if err != nil {
		return nil, fmt.Errorf("the ct is not base64url: %w", err)
	}
	return docOpen(key, iv, ct, docAD("chatbox/v1", roomID, kind, nick))
}

// docFile is the description a file's envelope holds.
type docFile struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	Prefix string `json:"prefix"`
	Chunk  int    `json:"chunk"`
	Thumb  *struct {
		IV   string `json:"iv"`
		Type string `json:"type"`
		W    int    `json:"w"`
		H    int    `json:"h"`
	} `json:"thumb"`
}

// docDecryptFile opens a stored file described by desc, sent by nick.
func docDecryptFile(key []byte, roomID, nick string, desc docFile, stored []byte) ([]byte, error) {
	prefix, err := base64.RawURLEncoding.DecodeString(desc.Prefix)
	if err != nil || len(prefix) != 8 {
		return nil, fmt.Errorf("the prefix is not 8 bytes of base64url: %v", err)
	}
	if desc.Chunk <= 0 {
		return nil, fmt.Errorf("the chunk size is %d", desc.Chunk)
	}
	var out []byte
	for i := 0; ; i++ {
		n := min(desc.Chunk+16, len(stored))
		last := n == len(stored)
		iv := binary.BigEndian.AppendUint32(bytes.Clone(prefix), uint32(i))
		flag := "0"
		if last {
			flag = "1"
		}
		plain, err := docOpen(key, iv, stored[:n], docAD("chatbox/v1", roomID, "file-chunk", nick, strconv.Itoa(i), flag))
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		out = append(out, plain...)
		stored = stored[n:]
		if last {
			break
		}
	}
	if int64(len(out)) != desc.Size {
		return nil, fmt.Errorf("the file has %d bytes, its description says %d", len(out), desc.Size)
	}
	return out, nil
}

// docDecryptThumb opens a stored thumbnail described by desc.
func docDecryptThumb(key []byte, roomID, nick string, desc docFile, stored []byte) ([]byte, error) {
	if desc.Thumb == nil {
		return nil, fmt.Errorf("the description has no thumb")
	}
	iv, err := base64.RawURLEncoding.DecodeString(desc.Thumb.IV)
	if err != nil || len(iv) != 12 {
		return nil, fmt.Errorf("the thumb's iv is not 12 bytes of base64url: %v", err)
	}
	return docOpen(key, iv, stored, docAD("chatbox/v1", roomID, "thumb", nick))
}

// scanDataDir reads messages.db and every file under files/ in the data
// directory dir as bytes, and returns, for each needle found, where:
// nothing, when the directory holds none of them. It fails the test when
// it found no messages.db (it would be scanning the wrong directory).
func scanDataDir(t testing.TB, dir string, needles ...[]byte) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	check := func(path string) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("scan %s: %v", path, err)
		}
		for _, n := range needles {
			if len(n) > 0 && bytes.Contains(raw, n) {
				found[string(n)] = append(found[string(n)], path)
			}
		}
	}
	db := filepath.Join(dir, "messages.db")
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("scan: no messages.db in %s: %v", dir, err)
	}
	check(db)
	err := filepath.WalkDir(filepath.Join(dir, "files"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			check(path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
	return found
}

// The worked example of docs/ENCRYPTION.md, read with the reader above,
// and the values the example names, read from the document itself so
// that the test breaks when the document changes.
func TestTheWorkedExampleOfTheEncryptionDocDecrypts(t *testing.T) {
	raw, err := os.ReadFile("../../docs/ENCRYPTION.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, want := range []string{
		"#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		`envelope: {"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`,
		`{"v":1,"iv":"sLGys7S1tre4ubq7","ct":"-j07346iw38sne6CrjXtoe9aefTGUIL1PbSkbZuMu47c"}`,
		`associated data: "chatbox/v1\nq1w2e3r4t5y6u7i8o9p0aQ\ntext\nalice"`,
		"`0RBavXaULnphTsM-olfE3PyGGhy1zAVkLFQQxddi50c`",
	} {
		if !strings.Contains(doc, want) {
			t.Fatalf("docs/ENCRYPTION.md no longer holds %s; update this test with it", want)
		}
	}
	const roomID = "q1w2e3r4t5y6u7i8o9p0aQ"
	key, err := docKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	text, err := docDecrypt(key, roomID, "text", "alice", `{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`)
	if err != nil || string(text) != "hello, bob" {
		t.Errorf("alice's text: %q, %v; want hello, bob", text, err)
	}
	// The associated data binds sender and kind.
	if _, err := docDecrypt(key, roomID, "text", "mallory", `{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`); err == nil {
		t.Error("the text opened under another sender's name")
	}
	if _, err := docDecrypt(key, roomID, "ping", "alice", `{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`); err == nil {
		t.Error("the text opened as another kind")
	}
	check, err := docDecrypt(key, roomID, "keycheck", "", `{"v":1,"iv":"sLGys7S1tre4ubq7","ct":"-j07346iw38sne6CrjXtoe9aefTGUIL1PbSkbZuMu47c"}`)
	if err != nil || string(check) != "chatbox key check" {
		t.Errorf("the key check: %q, %v", check, err)
	}
	derived, err := docKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "abcde-fghjk", &struct {
		Iterations int
		Salt       string
	}{600000, "wMHCw8TFxsfIycrLzM3Ozw"})
	if err != nil || base64.RawURLEncoding.EncodeToString(derived) != "0RBavXaULnphTsM-olfE3PyGGhy1zAVkLFQQxddi50c" {
		t.Errorf("the passphrase's key: %s, %v", base64.RawURLEncoding.EncodeToString(derived), err)
	}
	// The example's envelopes are what the box takes.
	tr := newEncryptedRoom(t, nil)
	if res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": `{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`}, nil); res.StatusCode != 201 {
		t.Errorf("the example's envelope was refused: %d %s", res.StatusCode, raw)
	}
	if res, raw := tr.do(t, "PUT", "/api/room/key", map[string]string{"key_check": `{"v":1,"iv":"sLGys7S1tre4ubq7","ct":"-j07346iw38sne6CrjXtoe9aefTGUIL1PbSkbZuMu47c"}`}, nil); res.StatusCode != 201 {
		t.Errorf("the example's key check was refused: %d %s", res.StatusCode, raw)
	}
}

// docSeal is the writer's side of the document, for the file test below:
// what a browser does, written from the document.
func docSeal(t *testing.T, key, iv, plain, ad []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcm.Seal(nil, iv, plain, ad)
}

// A file encrypted in chunks as the document says goes through the box
// byte for byte and opens again; the scan finds its plaintext nowhere on
// disk, and finds the ciphertext (so it does look).
func TestAFileEncryptedAsTheDocSaysGoesThroughTheBoxAndTheScanSeesOnlyCiphertext(t *testing.T) {
	tr := newEncryptedRoom(t, func(o *testOptions) { o.MaxFileSize = 300 << 10 })
	roomID := tr.State().RoomID
	key := bytes.Repeat([]byte{7}, 32)
	plain := bytes.Repeat([]byte("a holiday picture, plainly. "), 5000) // 140,000 bytes: 3 chunks
	prefix := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	var stored []byte
	for i, off := 0, 0; ; i++ {
		end := min(off+65536, len(plain))
		last := end == len(plain)
		flag := "0"
		if last {
			flag = "1"
		}
		iv := binary.BigEndian.AppendUint32(bytes.Clone(prefix), uint32(i))
		stored = append(stored, docSeal(t, key, iv, plain[off:end], docAD("chatbox/v1", roomID, "file-chunk", "alice", strconv.Itoa(i), flag))...)
		off = end
		if last {
			break
		}
	}
	desc := docFile{Name: "secret-holiday.txt", Type: "text/plain", Size: int64(len(plain)), Prefix: base64.RawURLEncoding.EncodeToString(prefix), Chunk: 65536}
	thumbIV := bytes.Repeat([]byte{3}, 12)
	thumbPlain := []byte("a thumbnail's pixels, plainly")
	desc.Thumb = &struct {
		IV   string `json:"iv"`
		Type string `json:"type"`
		W    int    `json:"w"`
		H    int    `json:"h"`
	}{IV: base64.RawURLEncoding.EncodeToString(thumbIV), Type: "image/jpeg", W: 300, H: 200}
	thumb := docSeal(t, key, thumbIV, thumbPlain, docAD("chatbox/v1", roomID, "thumb", "alice"))
	descJSON, _ := json.Marshal(desc)
	iv := bytes.Repeat([]byte{9}, 12)
	env := fmt.Sprintf(`{"v":1,"iv":%q,"ct":%q}`, base64.RawURLEncoding.EncodeToString(iv),
		base64.RawURLEncoding.EncodeToString(docSeal(t, key, iv, descJSON, docAD("chatbox/v1", roomID, "file", "alice"))))
	res, raw := tr.shareEncrypted(t, "alice", env, stored, thumb)
	if res.StatusCode != 201 {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	m := decode[struct {
		Text string
		File struct{ URL, Thumb string }
	}](t, raw)
	gotDesc, err := docDecrypt(key, roomID, "file", "alice", m.Text)
	if err != nil {
		t.Fatal(err)
	}
	var d docFile
	if err := json.Unmarshal(gotDesc, &d); err != nil {
		t.Fatal(err)
	}
	_, served := tr.do(t, "GET", m.File.URL, nil, nil)
	got, err := docDecryptFile(key, roomID, "alice", d, served)
	if err != nil || !bytes.Equal(got, plain) || d.Name != "secret-holiday.txt" {
		t.Fatalf("the served file opens to %d bytes (want %d), name %q: %v", len(got), len(plain), d.Name, err)
	}
	_, servedThumb := tr.do(t, "GET", m.File.Thumb, nil, nil)
	if got, err := docDecryptThumb(key, roomID, "alice", d, servedThumb); err != nil || !bytes.Equal(got, thumbPlain) {
		t.Errorf("the served thumbnail opens to %q: %v", got, err)
	}
	// Cut or reordered, it does not open.
	if _, err := docDecryptFile(key, roomID, "alice", d, served[:len(served)-1]); err == nil {
		t.Error("a cut file opened")
	}
	if _, err := docDecryptFile(key, roomID, "alice", d, served[:65536+16]); err == nil {
		t.Error("a file cut at a chunk's end opened")
	}
	found := scanDataDir(t, tr.dir, []byte("a holiday picture"), []byte("secret-holiday"), []byte("a thumbnail's pixels"), stored[100:140])
	if len(found["a holiday picture"]) > 0 || len(found["secret-holiday"]) > 0 || len(found["a thumbnail's pixels"]) > 0 {
		t.Errorf("the data directory holds plaintext: %v", found)
	}
	if len(found[string(stored[100:140])]) == 0 {
		t.Error("the scan did not find the ciphertext it was given: it is not looking at the stored file")
	}
}
