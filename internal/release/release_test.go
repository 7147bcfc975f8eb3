package release_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"aead.dev/minisign"
	"github.com/chatbox-dev/chatbox/internal/release"
	"github.com/chatbox-dev/chatbox/internal/release/releasetest"
)

func manifest(t *testing.T, keys ...release.Endorsement) []byte {
	t.Helper()
	data, err := json.Marshal(release.Manifest{Version: "v1.2.3", Keys: keys,
		Files: []release.File{releasetest.FileFor("linux", "amd64", "chatbox-linux-amd64", []byte("bin"))}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Rotation: a new key is trusted only when the manifest carries it signed
// by a key this binary already trusts.
func TestVerifyRotation(t *testing.T) {
	oldPub, oldKey := releasetest.NewKey(t)
	newPub, newKey := releasetest.NewKey(t)
	strangerPub, strangerKey := releasetest.NewKey(t)
	trusted := []minisign.PublicKey{oldPub}
	tests := []struct {
		name   string
		keys   []release.Endorsement
		signer minisign.PrivateKey
		want   string // "" for accepted
	}{
		{"a manifest signed by a trusted key is accepted", nil, oldKey, ""},
		{"a new key vouched for by the old one is accepted", []release.Endorsement{release.Endorse(newPub, oldKey)}, newKey, ""},
		{"a new key vouched for by nobody is refused", []release.Endorsement{{PublicKey: newPub.String()}}, newKey, "does not trust and no trusted key vouches for"},
		{"a new key vouching for itself is refused", []release.Endorsement{release.Endorse(newPub, newKey)}, newKey, "does not trust and no trusted key vouches for"},
		{"a new key vouched for by a stranger is refused", []release.Endorsement{release.Endorse(newPub, strangerKey)}, newKey, "does not trust"},
		{"a key vouched for by a vouched-for key is refused (one step only)", []release.Endorsement{release.Endorse(newPub, oldKey), release.Endorse(strangerPub, newKey)}, strangerKey, "does not trust"},
		{"a manifest signature used as an endorsement is refused", []release.Endorsement{{PublicKey: newPub.String(), Signature: string(release.Sign([]byte(newPub.String()), oldKey))}}, newKey, "does not trust"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := manifest(t, tt.keys...)
			m, err := release.Verify(data, release.Sign(data, tt.signer), trusted)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "" && m.Version != "v1.2.3":
				t.Fatalf("version %q", m.Version)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want a refusal saying %q", err, tt.want)
			}
		})
	}
}

func TestVerifyRefusesAChangedManifest(t *testing.T) {
	pub, key := releasetest.NewKey(t)
	data := manifest(t)
	sig := release.Sign(data, key)
	changed := []byte(strings.Replace(string(data), "v1.2.3", "v9.2.3", 1))
	if _, err := release.Verify(changed, sig, []minisign.PublicKey{pub}); err == nil || !strings.Contains(err.Error(), "changed after signing") {
		t.Fatalf("got %v, want a refusal of the changed manifest", err)
	}
}

func TestTheEmbeddedKeysParse(t *testing.T) {
	if len(release.TrustedKeys()) == 0 {
		t.Fatal("no embedded release key")
	}
}

func TestCompareOrdersSemanticVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"v1.10.0", "v1.9.0", 1},
		{"v1.0.0-rc.1", "v1.0.0", -1},
		{"v1.0.0", "v1.0.0", 0},
		{"dev", "v0.0.1", -1},
	} {
		if got := release.Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestAManifestLargerThanTheLimitIsRefused(t *testing.T) {
	ch := releasetest.New(t)
	ch.Put(releasetest.Dir("")+release.ManifestName, []byte(strings.Repeat(" ", release.MaxManifestSize+1)))
	c := ch.Client()
	_, _, err := c.Latest(context.Background())
	if err == nil || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Fatalf("got %v, want a refusal of a manifest over the limit", err)
	}
}

// A binary trusts the embedded release keys and nothing else unless it
// is a test build given a throwaway key (the chatbox_testkey tag and -X;
// cmd/chatbox's TestUpdateTrustsTheTestKeyOnlyInATestBuild builds both).
func TestTrustedKeysAreTheReleaseKeys(t *testing.T) {
	keys := release.TrustedKeys()
	var want minisign.PublicKey
	if err := want.UnmarshalText([]byte(release.Key1)); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !keys[0].Equal(want) {
		t.Errorf("TrustedKeys() = %v, want only Key1 (%X)", keys, want.ID())
	}
}
