//go:build e2e

package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"
)

// Reading the globe back from screenshots of its canvas: where a player's dot
// is drawn, to check that the name labels (HTML over the canvas) sit next to
// the dots, for the 2D drawing and for cobe's WebGL one.

// dotKind classifies a pixel of a screenshot of the canvas.
type dotKind int

const (
	other dotKind = iota
	land          // light gray: cobe's land dots
	cyan          // palette 0: the first player
	red           // palette 1: the second player
)

func classify(R, G, B int) dotKind {
	switch {
	case R > 120 && G > 120 && B > 120 && abs(float64(R-B)) < 30 && abs(float64(R-G)) < 30:
		return land
	case B > 150 && G > 120 && R < 140 && B-R > 60:
		return cyan
	case R > 150 && G < 130 && B < 130 && R-G > 60:
		return red
	}
	return other
}

// blob is where the pixels of one kind are in a screenshot: their count, centroid and right edge.
type blob struct {
	n      int
	cx, cy float64
	right  int
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rgb8(img image.Image, x, y int) (int, int, int) {
	r, g, b, _ := img.At(x, y).RGBA()
	return int(r >> 8), int(g >> 8), int(b >> 8)
}

// find locates the largest patch of pixels of kind k in img, pixels within
// 3 px of each other counting as one patch: one dot, whatever else of its
// colour the frame has (the rim's glow has cyan pixels), although cobe's
// shading breaks a small dot's pixels of that colour into specks.
func find(img image.Image, k dotKind) blob {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	is := make([]bool, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			is[y*w+x] = classify(rgb8(img, r.Min.X+x, r.Min.Y+y)) == k
		}
	}
	var best blob
	seen := make([]bool, w*h)
	var stack []int
	for start := range is {
		if !is[start] || seen[start] {
			continue
		}
		var bl blob
		var sx, sy float64
		seen[start] = true
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := i%w, i/w
			bl.n++
			sx += float64(x)
			sy += float64(y)
			if x > bl.right {
				bl.right = x
			}
			for dy := -3; dy <= 3; dy++ {
				for dx := -3; dx <= 3; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					if j := ny*w + nx; is[j] && !seen[j] {
						seen[j] = true
						stack = append(stack, j)
					}
				}
			}
		}
		if bl.n > best.n {
			bl.cx, bl.cy = sx/float64(bl.n), sy/float64(bl.n)
			best = bl
		}
	}
	return best
}

// canvasCount counts pixels of a screenshot of the globe's canvas: land dots,
// the first player's marker (cyan) within 8% of the centre, and the second's (red) anywhere.
type canvasCount struct{ land, centerCyan, red int }

func countCanvas(img image.Image) canvasCount {
	r := img.Bounds()
	cx, cy, near := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2, r.Dx()*8/100
	var c canvasCount
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			switch classify(rgb8(img, x, y)) {
			case land:
				c.land++
			case cyan:
				if abs(float64(x-cx)) < float64(near) && abs(float64(y-cy)) < float64(near) {
					c.centerCyan++
				}
			case red:
				c.red++
			}
		}
	}
	return c
}

// rect is an element's box relative to the canvas's top left corner, in CSS pixels.
type rect struct{ X, Y, W, H float64 }

// overlay hides the labels, lets the page draw two more frames, and returns a
// screenshot of the bare canvas with the boxes of the label of player n and of
// the own-dot ring (W = 0 when hidden), then shows the labels again. The
// labels keep moving with the globe while hidden (visibility only).
func overlay(t *testing.T, p playwright.Page, n int) (image.Image, rect, rect) {
	t.Helper()
	eval(t, p, `new Promise((r) => { document.getElementById("labels").style.visibility = "hidden"; requestAnimationFrame(() => requestAnimationFrame(() => r(true))); })`)
	b, err := p.Locator("#globe").Screenshot(playwright.LocatorScreenshotOptions{Animations: playwright.ScreenshotAnimationsDisabled})
	if err != nil {
		t.Fatal(err)
	}
	v := eval(t, p, fmt.Sprintf(`(() => {
		const c = document.getElementById("globe").getBoundingClientRect();
		const box = (e) => { if (!e || e.hidden) return [0, 0, 0, 0]; const r = e.getBoundingClientRect(); return [r.left - c.left, r.top - c.top, r.width, r.height]; };
		const out = [box(document.querySelector('#labels .tag[data-n="%d"]')), box(document.querySelector("#labels .you-ring"))];
		document.getElementById("labels").style.visibility = "";
		return out;
	})()`, n))
	boxes, ok := v.([]any)
	if !ok || len(boxes) != 2 {
		t.Fatalf("label boxes: %v", v)
	}
	toRect := func(a any) rect {
		s, _ := a.([]any)
		if len(s) != 4 {
			t.Fatalf("box: %v", a)
		}
		return rect{toF(s[0]), toF(s[1]), toF(s[2]), toF(s[3])}
	}
	return decode(t, b), toRect(boxes[0]), toRect(boxes[1])
}

// expectLabelBeside waits until page p draws the player called name as a dot
// of kind k with its label just right of it (its left edge 4 to 24 px right of
// the dot's centre: the dot's edge is blurred, so its classified pixels are
// fewer than it covers; its middle within 8 px of the dot's centre line: cobe
// draws a marker at the nearest point of its land-dot lattice, up to ~1° from
// the player, which the label does not follow); when you
// is set, also the ring around the player's own dot, centred on it. It fails
// at the deadline with what it saw last.
func expectLabelBeside(t *testing.T, p playwright.Page, name string, k dotKind, you bool, within time.Duration) {
	t.Helper()
	n := int(toF(eval(t, p, fmt.Sprintf(`[...globe.players.values()].find((q) => q.name === %q)?.n ?? -1`, name))))
	if n < 0 {
		t.Fatalf("%s is not on the page", name)
	}
	deadline := time.Now().Add(within)
	for {
		img, tag, ring := overlay(t, p, n)
		dot := find(img, k)
		gap, dy := tag.X-dot.cx, tag.Y+tag.H/2-dot.cy
		ok := dot.n > 5 && tag.W > 0 && gap >= 4 && gap <= 24 && abs(dy) <= 8
		if you {
			rx, ry := ring.X+ring.W/2-dot.cx, ring.Y+ring.H/2-dot.cy
			ok = ok && ring.W > 0 && abs(rx) <= 4 && abs(ry) <= 4
		}
		if ok {
			t.Logf("%s: dot of %d px at %.0f,%.0f (right edge %d), label at %.0f,%.0f: %.1f px right of its centre, %.1f px off its centre line; ring %+v",
				name, dot.n, dot.cx, dot.cy, dot.right, tag.X, tag.Y, gap, dy, ring)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's label is not beside the dot: dot of %d px at %.1f,%.1f (right edge %d), label %+v, ring %+v",
				name, dot.n, dot.cx, dot.cy, dot.right, tag, ring)
		}
	}
}
