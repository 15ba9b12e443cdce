package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// The plot is the usual HDR percentile curve: latency against percentile
// with the x axis in "nines" (x = -log10(1 - q/100)), so p90, p99 and
// p99.9 are equally spaced and the tail is visible.
const (
	svgWidth, svgHeight = 640, 360
	svgMarginLeft       = 64
	svgMarginRight      = 16
	svgMarginTop        = 32
	svgMarginBottom     = 40
	svgPoints           = 200
	// svgMaxNines is the deepest percentile drawn, p99.999; the curve
	// stops earlier when there are too few values to resolve it.
	svgMaxNines = 5
)

// writeHistogramSVGFile writes the percentile plot of h to path.
func writeHistogramSVGFile(path string, mode Mode, h *Histogram) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing histogram plot: %w", err)
	}
	if err := writeHistogramSVG(f, fmt.Sprintf("fjord bench %s latency", mode), h); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing histogram plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing histogram plot %s: %w", path, err)
	}
	return nil
}

// writeHistogramSVG draws h's percentile curve as a standalone SVG.
func writeHistogramSVG(w io.Writer, title string, h *Histogram) error {
	nines := 0.0
	if h.Count() > 1 {
		nines = min(math.Log10(float64(h.Count())), svgMaxNines)
	}
	maxMs := max(milliseconds(h.Max()), 0.001) * 1.05
	plotW := float64(svgWidth - svgMarginLeft - svgMarginRight)
	plotH := float64(svgHeight - svgMarginTop - svgMarginBottom)
	x := func(n float64) float64 { return svgMarginLeft + plotW*n/max(nines, 1) }
	y := func(ms float64) float64 { return svgMarginTop + plotH*(1-ms/maxMs) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", svgWidth, svgHeight)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">%s (%d records)</text>`+"\n", svgMarginLeft, escapeXML(title), h.Count())
	// Axes, with a tick per nine and five latency ticks.
	fmt.Fprintf(&b, `<path d="M%d %d V%.1f H%.1f" stroke="black" fill="none"/>`+"\n", svgMarginLeft, svgMarginTop, y(0), x(max(nines, 1)))
	for n := 0; float64(n) <= nines; n++ {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x(float64(n)), y(0)+16, ninesLabel(n))
	}
	for i := 0; i <= 5; i++ {
		ms := maxMs * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.3g ms</text>`+"\n", svgMarginLeft-6, y(ms)+4, ms)
		fmt.Fprintf(&b, `<path d="M%d %.1f H%.1f" stroke="#ddd"/>`+"\n", svgMarginLeft, y(ms), x(max(nines, 1)))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">percentile</text>`+"\n", svgMarginLeft+plotW/2, svgHeight-6)
	// The curve.
	b.WriteString(`<polyline fill="none" stroke="#1f6fb2" stroke-width="2" points="`)
	for i := 0; i <= svgPoints; i++ {
		n := nines * float64(i) / svgPoints
		q := 100 * (1 - math.Pow(10, -n))
		fmt.Fprintf(&b, "%.1f,%.1f ", x(n), y(milliseconds(h.Percentile(q))))
	}
	b.WriteString("\"/>\n</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// ninesLabel names the percentile n nines deep: 0, 90, 99, 99.9, ...
func ninesLabel(n int) string {
	if n == 0 {
		return "0"
	}
	if n == 1 {
		return "90"
	}
	if n == 2 {
		return "99"
	}
	return "99." + strings.Repeat("9", n-2)
}

func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
