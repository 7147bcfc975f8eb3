package uploads

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitizeFileName(t *testing.T) {
	long := strings.Repeat("é", 100) + ".jpeg"
	tests := []struct {
		name, in, want string
	}{
		{"a plain name is kept", "photo.jpg", "photo.jpg"},
		{"a Unix path keeps only its base name", "../../etc/passwd", "passwd"},
		{"a Windows path keeps only its base name", `..\..\boot.ini`, "boot.ini"},
		{"a hidden file loses its leading dot", ".htaccess", "htaccess"},
		{"dots alone become a plain name", "..", "file"},
		{"an empty name becomes a plain name", "", "file"},
		{"control characters are dropped", "a\x00b\nc\x7f.txt", "abc.txt"},
		{"a right-to-left override is dropped", "invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"characters Windows forbids become underscores", `a<b>c:d"e|f?g*h.txt`, "a_b_c_d_e_f_g_h.txt"},
		{"invalid UTF-8 is replaced", "caf\xe9.txt", "caf_.txt"},
		{"the thumbnail's address is not a file name", "thumb", "thumb_"},
		{"a long name is cut and keeps its extension", long, strings.Repeat("é", (MaxFileNameLength-5)/2) + ".jpeg"},
		{"spaces at the ends are trimmed", "  notes .txt  ", "notes .txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SanitizeFileName(tt.in); got != tt.want {
				t.Errorf("SanitizeFileName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzSanitizeFileName(f *testing.F) {
	for _, s := range []string{"photo.jpg", "../../etc/passwd", `C:\a\b.txt`, "..", ".", "\u202Egpj.exe", "thumb", strings.Repeat("a", 300) + ".txt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := SanitizeFileName(in)
		switch {
		case got == "" || got == "." || got == "..":
			t.Fatalf("%q gave the name %q", in, got)
		case len(got) > MaxFileNameLength:
			t.Fatalf("%q gave %d bytes, more than %d", in, len(got), MaxFileNameLength)
		case strings.ContainsAny(got, `/\`) || strings.HasPrefix(got, "."):
			t.Fatalf("%q gave %q, which could be a path or a hidden file", in, got)
		case !utf8.ValidString(got):
			t.Fatalf("%q gave invalid UTF-8 %q", in, got)
		case got == thumbName:
			t.Fatalf("%q gave the thumbnail's name", in)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("%q gave %q, which holds %U", in, got, r)
			}
		}
		if again := SanitizeFileName(got); again != got {
			t.Fatalf("not stable: %q -> %q -> %q", in, got, again)
		}
	})
}
