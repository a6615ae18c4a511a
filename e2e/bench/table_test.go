//go:build bench

package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// row is one line of the table: the plugin's figure and its floor (median,
// min and max over the runs, already formatted), the ratio figure/floor and
// the overhead.
type row struct {
	label, figure, floor, ratio, overhead string
}

type table struct {
	lines []string
}

func (t *table) section(title string) {
	t.lines = append(t.lines, fmt.Sprintf("| **%s** | | | | |", title))
}

func (t *table) add(r row) {
	t.lines = append(t.lines, fmt.Sprintf("| %s | %s | %s | %s | %s |", r.label, r.figure, r.floor, r.ratio, r.overhead))
}

func (t *table) markdown(runs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| Measure | Plugin: median (min–max) | Floor: median (min–max) | Ratio | Overhead |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- |\n")
	for _, l := range t.lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread formats median (min–max) of xs, each value through format.
func spread(xs []float64, format func(float64) string) string {
	if len(xs) == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (%s–%s)", format(median(xs)), format(slices.Min(xs)), format(slices.Max(xs)))
}

func seconds(d []time.Duration, unit time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, x := range d {
		out[i] = float64(x) / float64(unit)
	}
	return out
}

func unitFormat(unit time.Duration) func(float64) string {
	if unit == time.Millisecond {
		return func(v float64) string { return fmt.Sprintf("%.0f ms", v) }
	}
	return func(v float64) string { return fmt.Sprintf("%.1f s", v) }
}

// durationRow compares run-by-run durations: the ratio and overhead are the
// medians of each run's figure/floor and figure−floor.
func durationRow(label string, fig, floor []time.Duration, unit time.Duration) row {
	f, g := seconds(fig, unit), seconds(floor, unit)
	var ratios, over, pct []float64
	for i := range f {
		if g[i] > 0 {
			ratios = append(ratios, f[i]/g[i])
			pct = append(pct, 100*(f[i]-g[i])/g[i])
		}
		over = append(over, f[i]-g[i])
	}
	format := unitFormat(unit)
	overhead := fmt.Sprintf("%+.1f s (%+.0f %%)", median(over), median(pct))
	if unit == time.Millisecond {
		overhead = fmt.Sprintf("%+.0f ms (%+.0f %%)", median(over), median(pct))
	}
	return row{label: label, figure: spread(f, format), floor: spread(g, format),
		ratio: fmt.Sprintf("%.2f", median(ratios)), overhead: overhead}
}

// overheadRow compares a figure of each run with a floor of the same run.
func overheadRow(label string, runs []run, figure, floor func(run) time.Duration) row {
	var f, g []time.Duration
	for _, r := range runs {
		f, g = append(f, figure(r)), append(g, floor(r))
	}
	return durationRow(label, f, g, time.Second)
}

func mibPerSec(v float64) string { return fmt.Sprintf("%.0f MiB/s", v/mib) }

// throughputRow compares the plugin's transfer step (bytes/duration of the
// longest step whose id starts with prefix) with floor throughputs.
func throughputRow(label string, runs []run, prefix string, floor []float64) row {
	var f []float64
	for _, r := range runs {
		if d := transferTime(r, prefix); d > 0 {
			f = append(f, float64(r.bytes)/d.Seconds())
		}
	}
	return row{label: label, figure: spread(f, mibPerSec), floor: spread(floor, mibPerSec),
		ratio: fmt.Sprintf("%.2f", median(f)/median(floor)), overhead: "—"}
}

// pairedThroughputRow is throughputRow for a floor measured right after
// each plugin run: the ratio is the median of the runs' ratios.
func pairedThroughputRow(label string, runs []run, prefix string, floor []float64) row {
	r := throughputRow(label, runs, prefix, floor)
	var ratios []float64
	for i, x := range runs {
		if d := transferTime(x, prefix); d > 0 && i < len(floor) && floor[i] > 0 {
			ratios = append(ratios, float64(x.bytes)/d.Seconds()/floor[i])
		}
	}
	r.ratio = fmt.Sprintf("%.2f", median(ratios))
	return r
}

// memoryRow compares the peak memory at the big size with the small size:
// flat means a ratio near 1.
func memoryRow(label string, small, big []run) row {
	peaks := func(rs []run) []float64 {
		var out []float64
		for _, r := range rs {
			out = append(out, float64(r.peak))
		}
		return out
	}
	s, b := peaks(small), peaks(big)
	format := func(v float64) string { return fmt.Sprintf("%.0f MiB", v/mib) }
	return row{label: label + ": big vs small", figure: spread(b, format), floor: spread(s, format),
		ratio: fmt.Sprintf("%.2f", median(b)/median(s)), overhead: fmt.Sprintf("%+.0f MiB", (median(b)-median(s))/mib)}
}
