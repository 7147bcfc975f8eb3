package config

import _ "embed"

// Example is a commented config.toml that lists every key: uncommented
// lines hold the defaults, commented ones show values to turn on.
//
//go:embed example.toml
var Example string
