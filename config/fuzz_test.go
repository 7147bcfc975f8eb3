package config

import (
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary text as config.toml: Parse must not panic, a
// config it accepts must be valid, and writing it out and reading it back
// must give the same config.
func FuzzParse(f *testing.F) {
	f.Add([]byte("[server]\ndomain = \"chat.example.com\"\n"))
	f.Add([]byte("[room]\nmax_file_size = \"10MiB\"\nretention_age = \"720h\"\n"))
	f.Add([]byte("[room]\nquota = \"99999999999GiB\"\n"))
	f.Add([]byte("[limits]\nmax_clients = -1\n"))
	f.Add([]byte("[dns]\nprovider = \"cloudflare\"\napi_token = \"t\"\n[dyndns]\nenabled = true\n"))
	f.Add([]byte("nope = 1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate refuses: %v", err)
		}
		out, err := cfg.Encode()
		if err != nil {
			t.Fatalf("encode an accepted config: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-read an encoded config: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalize(cfg), normalize(again)) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, again)
		}
	})
}

// normalize treats a nil and an empty list alike.
func normalize(c Config) Config {
	if len(c.Server.TrustedProxies) == 0 {
		c.Server.TrustedProxies = nil
	}
	return c
}
