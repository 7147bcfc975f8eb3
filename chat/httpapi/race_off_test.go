//go:build !race

package httpapi

// raceDetector is set when the tests run under the race detector, which
// multiplies memory and time: the slow password hash is several times
// slower, and measurements of memory are skipped.
const raceDetector = false
