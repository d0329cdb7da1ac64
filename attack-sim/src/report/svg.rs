//! Line charts as inline SVG, for the self-contained HTML report: no script, no external
//! resource, readable when printed.

use std::fmt::Write;

const WIDTH: f64 = 680.0;
const HEIGHT: f64 = 212.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 30.0;

/// One line of a chart.
pub struct Series<'a> {
    /// Legend text.
    pub label: &'a str,
    /// CSS colour.
    pub color: &'a str,
    /// (x in seconds, y) points, x ascending; a NaN y leaves a gap.
    pub points: Vec<(f64, f64)>,
}

/// A chart: title, y-axis unit, x range in seconds, a shaded x interval (the attack).
pub struct Chart<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// Unit of the y axis.
    pub unit: &'a str,
    /// Largest x.
    pub x_max: f64,
    /// The shaded interval.
    pub shade: (f64, f64),
    /// The lines.
    pub series: Vec<Series<'a>>,
    /// A fixed top of the y axis (for percentages); otherwise from the data.
    pub y_max: Option<f64>,
    /// What follows an x label: `s` for time; empty for a count.
    pub x_suffix: &'a str,
}

/// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `v`.
pub fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

impl Chart<'_> {
    /// The chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let data_max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let y_max = self.y_max.unwrap_or_else(|| nice_ceiling(data_max));
        let x_max = if self.x_max > 0.0 { self.x_max } else { 1.0 };
        let pw = WIDTH - LEFT - RIGHT;
        let ph = HEIGHT - TOP - BOTTOM;
        let x = |v: f64| LEFT + (v / x_max).clamp(0.0, 1.0) * pw;
        let y = |v: f64| TOP + ph - (v / y_max).clamp(0.0, 1.0) * ph;
        let mut s = String::new();
        let _ = write!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{}\">",
            esc(self.title)
        );
        let _ = write!(
            s,
            "<text x=\"{LEFT}\" y=\"16\" class=\"t\">{} ({})</text>",
            esc(self.title),
            esc(self.unit)
        );
        // The attack, shaded.
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{ph}\" class=\"attack\"/>",
            x(self.shade.0),
            (x(self.shade.1) - x(self.shade.0)).max(0.0)
        );
        // Axes and grid.
        for i in 0..=4 {
            let v = y_max * f64::from(i) / 4.0;
            let _ = write!(
                s,
                "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"yl\">{}</text>",
                WIDTH - RIGHT,
                y(v),
                y(v),
                LEFT - 4.0,
                y(v) + 4.0,
                short(v)
            );
        }
        let step = nice_ceiling(x_max / 8.0);
        let mut t = 0.0;
        while t <= x_max + 1e-9 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"xl\">{}{}</text>",
                x(t),
                HEIGHT - BOTTOM + 16.0,
                short(t),
                esc(self.x_suffix)
            );
            t += step;
        }
        for (i, series) in self.series.iter().enumerate() {
            // A NaN y is a gap: the line stops there and starts again after it.
            for run in series.points.split(|p| p.1.is_nan()) {
                let pts: Vec<String> = run
                    .iter()
                    .map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py)))
                    .collect();
                match pts.as_slice() {
                    [] => {}
                    [one] => {
                        let (cx, cy) = one.split_once(',').unwrap_or_default();
                        let _ = write!(
                            s,
                            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"2\" fill=\"{}\"/>",
                            esc(series.color)
                        );
                    }
                    _ => {
                        let _ = write!(
                            s,
                            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"/>",
                            pts.join(" "),
                            esc(series.color)
                        );
                    }
                }
            }
            // The legend: a row of its own under the title.
            let lx = LEFT + 130.0 * i as f64;
            let _ = write!(
                s,
                "<rect x=\"{lx:.1}\" y=\"22\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.1}\" y=\"31\" class=\"lg\">{}</text>",
                esc(series.color),
                lx + 14.0,
                esc(series.label)
            );
        }
        s.push_str("</svg>");
        s
    }
}

/// A compact axis label.
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.0}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v.fract() == 0.0 || v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Escapes text for HTML/SVG content and attributes.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
    }

    #[test]
    fn charts_are_svg_with_escaped_text_and_points_inside_the_plot() {
        let c = Chart {
            title: "a <b>",
            unit: "ms",
            x_max: 10.0,
            shade: (2.0, 8.0),
            y_max: None,
            x_suffix: "s",
            series: vec![Series {
                label: "p99",
                color: "#c00",
                points: vec![(0.0, 1.0), (10.0, 40.0), (20.0, 1e9)],
            }],
        };
        let svg = c.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt;") && !svg.contains("<b>"));
        assert!(svg.contains("<polyline"));
        let gap = Chart {
            series: vec![Series {
                label: "p50",
                color: "#00c",
                points: vec![
                    (0.0, 1.0),
                    (1.0, 2.0),
                    (2.0, f64::NAN),
                    (3.0, 1.0),
                    (4.0, 1.0),
                ],
            }],
            ..c
        }
        .render();
        assert_eq!(gap.matches("<polyline").count(), 2, "{gap}");
        assert!(!gap.contains("NaN"));
        // Out-of-range points are clamped to the plot, never drawn outside it.
        for p in svg
            .split("points=\"")
            .nth(1)
            .expect("points")
            .split('"')
            .next()
            .expect("list")
            .split(' ')
        {
            let (px, py) = p.split_once(',').expect("x,y");
            let (px, py): (f64, f64) = (px.parse().expect("x"), py.parse().expect("y"));
            assert!((LEFT..=WIDTH - RIGHT).contains(&px) && (TOP..=HEIGHT - BOTTOM).contains(&py));
        }
    }
}
