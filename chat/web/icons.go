package web

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// The page's colours for the manifest and the theme-color of both
// schemes; style.css uses the same.
const (
	ThemeLight      = "#2f6fde"
	ThemeDark       = "#14171c"
	BackgroundLight = "#f6f7f9"
	BackgroundDark  = "#14171c"
)

// Icon is one of the app icons in static/, drawn by DrawIcon (the test
// TestIconsAreDrawnByDrawIcon keeps the files and the drawing the same).
type Icon struct {
	Name string
	Size int
	// Purpose is the manifest's: "any", or "maskable" for an icon whose
	// background fills the square and whose picture keeps to the middle
	// 80%, so a launcher may cut it to any shape.
	Purpose string
}

// Sizes is the manifest's sizes value.
func (ic Icon) Sizes() string { return fmt.Sprintf("%dx%d", ic.Size, ic.Size) }

// Icons are the app icons the manifest lists.
var Icons = []Icon{
	{Name: "icon-192.png", Size: 192, Purpose: "any"},
	{Name: "icon-512.png", Size: 512, Purpose: "any"},
	{Name: "icon-maskable-192.png", Size: 192, Purpose: "maskable"},
	{Name: "icon-maskable-512.png", Size: 512, Purpose: "maskable"},
}

// DrawIcon draws ic: static/icon.svg's speech bubble on the accent
// colour, in a rounded square, or for a maskable icon on a full square
// with the bubble inside the safe zone.
func DrawIcon(ic Icon) *image.NRGBA {
	n := ic.Size
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	accent := color.NRGBA{0x2f, 0x6f, 0xde, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	maskable := ic.Purpose == "maskable"
	// The drawing is in icon.svg's 64-unit square.
	scale, offset := float64(n)/64, 0.0
	if maskable {
		// The bubble spans 44 units; the safe zone is a circle of 80%.
		scale, offset = float64(n)/64*0.78, float64(n)*0.11
	}
	const ss = 4 // samples per pixel along each axis
	for y := range n {
		for x := range n {
			var bg, fg, dot int
			for sy := range ss {
				for sx := range ss {
					px := float64(x) + (float64(sx)+0.5)/ss
					py := float64(y) + (float64(sy)+0.5)/ss
					u, v := px*64/float64(n), py*64/float64(n)
					if maskable || roundRect(u, v, 0, 0, 64, 64, 14) {
						bg++
					}
					gu, gv := (px-offset)/scale, (py-offset)/scale
					switch {
					case circle(gu, gv, 23, 30, 3.5) || circle(gu, gv, 32, 30, 3.5) || circle(gu, gv, 41, 30, 3.5):
						dot++
					case bubble(gu, gv):
						fg++
					}
				}
			}
			total := float64(ss * ss)
			a := float64(bg) / total
			if a == 0 {
				continue
			}
			// Blend white over accent by the bubble's cover (dots are accent).
			w := float64(fg) / float64(max(bg, 1))
			mix := func(c1, c2 uint8) uint8 { return uint8(math.Round(float64(c1)*(1-w) + float64(c2)*w)) }
			img.SetNRGBA(x, y, color.NRGBA{mix(accent.R, white.R), mix(accent.G, white.G), mix(accent.B, white.B), uint8(math.Round(a * 255))})
		}
	}
	return img
}

// bubble is icon.svg's speech bubble: a rounded box with a tail.
func bubble(u, v float64) bool {
	if roundRect(u, v, 10, 16, 54, 44, 4) {
		return true
	}
	// The tail: from (18,44) and (28,44) down to (18,52).
	return u >= 18 && v >= 44 && v <= 52 && u <= 28-(v-44)*10/8
}

func roundRect(u, v, x0, y0, x1, y1, r float64) bool {
	if u < x0 || u > x1 || v < y0 || v > y1 {
		return false
	}
	cx := math.Max(x0+r, math.Min(u, x1-r))
	cy := math.Max(y0+r, math.Min(v, y1-r))
	return (u-cx)*(u-cx)+(v-cy)*(v-cy) <= r*r
}

func circle(u, v, cx, cy, r float64) bool { return (u-cx)*(u-cx)+(v-cy)*(v-cy) <= r*r }
