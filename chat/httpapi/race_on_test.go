//go:build race

package httpapi

// raceDetector is set when the tests run under the race detector, which
// makes the slow password hash several times slower still.
const raceDetector = true
