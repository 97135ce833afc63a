package recommender

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Small inline SVG charts for the report: plain markup, no scripts, no
// external fetches. Every label is escaped, so a title or a genre name from
// a data file cannot inject markup.

// chartSeries is one named row of values.
type chartSeries struct {
	Name   string
	Values []float64
}

// chartColors are the series colours, colour-blind safe (Okabe-Ito).
var chartColors = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"}

const (
	chartWidth  = 640
	chartLabelW = 150
	chartBarH   = 7
)

// barChart draws horizontal grouped bars, one group per category, one bar
// per series, scaled to the largest value; values print as percentages
// when percent, else with three decimals.
func barChart(categories []string, series []chartSeries, percent bool) template.HTML {
	top := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			top = max(top, v)
		}
	}
	if top <= 0 {
		top = 1
	}
	groupH := chartBarH*len(series) + 6
	height := 24 + groupH*len(categories)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" role="img">`, chartWidth, height)
	legend(&b, series)
	plotW := float64(chartWidth - chartLabelW - 60)
	for c, name := range categories {
		y := 24 + c*groupH
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>`,
			chartLabelW-6, y+groupH/2+3, html.EscapeString(name))
		for s, ser := range series {
			v := 0.0
			if c < len(ser.Values) {
				v = ser.Values[c]
			}
			w := plotW * v / top
			by := y + s*chartBarH
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`,
				chartLabelW, by, w, chartBarH-1, chartColors[s%len(chartColors)],
				html.EscapeString(ser.Name), formatValue(v, percent))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from escaped text and numbers only
}

func legend(b *strings.Builder, series []chartSeries) {
	x := chartLabelW
	for s, ser := range series {
		fmt.Fprintf(b, `<rect x="%d" y="4" width="10" height="10" fill="%s"/><text x="%d" y="13" font-size="11">%s</text>`,
			x, chartColors[s%len(chartColors)], x+14, html.EscapeString(ser.Name))
		x += 24 + 7*len(ser.Name)
	}
}

func formatValue(v float64, percent bool) string {
	if percent {
		return fmt.Sprintf("%.1f%%", 100*v)
	}
	return fmt.Sprintf("%.3f", v)
}

// intervalChart draws each group's mean as a dot with its interval as a
// whisker, on a 0..1 axis.
func intervalChart(groups []GroupQuality) template.HTML {
	rowH := 18
	height := 30 + rowH*len(groups)
	plotW := float64(chartWidth - chartLabelW - 60)
	x := func(v float64) float64 { return float64(chartLabelW) + plotW*math.Max(0, math.Min(1, v)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" role="img">`, chartWidth, height)
	for _, t := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="14" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="10" font-size="10" text-anchor="middle">%.2f</text>`,
			x(t), x(t), height-4, x(t), t)
	}
	for i, g := range groups {
		y := 28 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%s (%d)</text>`,
			chartLabelW-6, y+4, html.EscapeString(g.Group), g.Users)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#0072B2" stroke-width="2"/>`, x(g.Low), y, x(g.High), y)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%d" r="4" fill="#D55E00"><title>%.4f [%.4f, %.4f]</title></circle>`,
			x(g.Mean), y, g.Mean, g.Low, g.High)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // escaped text and numbers only
}

// lineChart draws one series against 1..n with its own y range.
func lineChart(name string, values []float64) template.HTML {
	const h, pad = 160, 40
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	if len(values) == 0 {
		return ""
	}
	if hi == lo {
		hi, lo = hi+0.5, lo-0.5
	}
	plotW := float64(chartWidth - 2*pad)
	px := func(i int) float64 {
		if len(values) == 1 {
			return pad + plotW/2
		}
		return pad + plotW*float64(i)/float64(len(values)-1)
	}
	py := func(v float64) float64 { return 20 + (h-40)*(hi-v)/(hi-lo) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" role="img">`, chartWidth, h)
	fmt.Fprintf(&b, `<text x="%d" y="12" font-size="11">%s (%.4g to %.4g)</text>`, pad, html.EscapeString(name), lo, hi)
	pts := make([]string, len(values))
	for i, v := range values {
		pts[i] = fmt.Sprintf("%.1f,%.1f", px(i), py(v))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#0072B2"><title>%d: %.5g</title></circle>`, px(i), py(v), i+1, v)
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#0072B2" stroke-width="1.5" points="%s"/>`, strings.Join(pts, " "))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10">1</text><text x="%.1f" y="%d" font-size="10" text-anchor="end">%d</text>`,
		pad, h-4, px(len(values)-1), h-4, len(values))
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // escaped text and numbers only
}
