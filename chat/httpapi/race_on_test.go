//go:build race

package httpapi

// raceEnabled is set when the race detector runs, which multiplies
// memory and time: measurements of memory are skipped then.
const raceEnabled = true
