//! Charts drawn on the server as SVG: readable without JavaScript, named for screen readers
//! (a title and a description, every bar and point with its value), coloured by the page's
//! light or dark palette, with the same figures as a table beside them.

use std::fmt::Write;

/// How a chart draws its series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Bars side by side in each period.
    Bars,
    /// A line a series, a dot a value.
    Lines,
}

/// One series: its name (legend and table header), its colour class and a value a label
/// (`None` where there is nothing to show, as a period without answers has no answer time).
#[derive(Clone, Debug)]
pub struct Series {
    pub name: &'static str,
    /// `chart-1`, `chart-2` or `chart-3`: the CSS gives each its colour in both schemes.
    pub class: &'static str,
    pub values: Vec<Option<f64>>,
}

/// A chart ready to draw.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Unique on the page: the SVG's title and description are found by it.
    pub id: &'static str,
    pub title: &'static str,
    /// One sentence of what it shows, for screen readers and under the title.
    pub description: String,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    pub style: Style,
    /// Said after each value: "ms", "%", or nothing.
    pub unit: &'static str,
    /// Where its data is downloaded as CSV.
    pub csv_href: String,
}

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 28.0;
/// Horizontal grid lines above zero (fewer for small counts).
const GRID: usize = 4;

impl Chart {
    /// Whether any series has a value above zero (an empty chart says so instead).
    pub fn has_data(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.values.iter().flatten().any(|v| *v > 0.0))
    }

    /// A value as the table and tooltips show it.
    pub fn format(&self, value: Option<f64>) -> String {
        match value {
            None => "—".into(),
            Some(v) if v.fract() == 0.0 => format!("{v:.0}{}", self.unit),
            Some(v) => format!("{v:.2}{}", self.unit),
        }
    }

    /// The table fallback's rows: a label and each series' value.
    pub fn rows(&self) -> Vec<(String, Vec<String>)> {
        self.labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let cells = self
                    .series
                    .iter()
                    .map(|s| self.format(s.values.get(i).copied().flatten()))
                    .collect();
                (label.clone(), cells)
            })
            .collect()
    }

    /// The chart as an inline `<svg>`.
    pub fn svg(&self) -> String {
        let n = self.labels.len().max(1);
        let top = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .fold(0.0_f64, |a, &b| a.max(b));
        let integers = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .all(|v| v.fract() == 0.0);
        // Counts below the usual number of grid lines get a line each.
        let grid = if integers && top < GRID as f64 {
            (top as usize).max(1)
        } else {
            GRID
        };
        let scale_top = nice_step(top / grid as f64, integers) * grid as f64;
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let y = |v: f64| TOP + plot_h - (v / scale_top) * plot_h;
        let band = plot_w / n as f64;
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" data-docent="chart-{id}"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#,
            id = self.id,
            title = escape(self.title),
            desc = escape(&self.description),
        );
        for i in 0..=grid {
            let value = scale_top * i as f64 / grid as f64;
            let at = y(value);
            let _ = write!(
                out,
                r#"<line class="chart-grid" x1="{LEFT}" x2="{x2}" y1="{at:.1}" y2="{at:.1}"/><text class="chart-axis" x="{lx}" y="{ty:.1}" text-anchor="end">{label}</text>"#,
                x2 = WIDTH - RIGHT,
                lx = LEFT - 6.0,
                ty = at + 4.0,
                label = short(value),
            );
        }
        // A few labels under the axis: the first, the last and some between, never crowded
        // (the last takes the place of a regular one too close to it).
        let every = n.div_ceil(6).max(1);
        let mut shown: Vec<usize> = (0..n).step_by(every).collect();
        if shown.last() != Some(&(n - 1)) {
            if shown.len() > 1 {
                shown.pop();
            }
            shown.push(n - 1);
        }
        for (i, label) in self.labels.iter().enumerate() {
            if let Some(place) = shown.iter().position(|&s| s == i) {
                // Every other one is left out on a phone (the CSS hides "minor" labels).
                let minor = place % 2 == 1 && place + 1 != shown.len();
                // The first and last labels stay inside the chart.
                let anchor = match i {
                    0 if n > 1 => "start",
                    _ if i + 1 == n && n > 1 => "end",
                    _ => "middle",
                };
                let x = match anchor {
                    "start" => LEFT,
                    "end" => WIDTH - RIGHT,
                    _ => LEFT + band * (i as f64 + 0.5),
                };
                let _ = write!(
                    out,
                    r#"<text class="chart-axis{minor}" x="{x:.1}" y="{ty}" text-anchor="{anchor}">{label}</text>"#,
                    minor = if minor { " chart-axis-minor" } else { "" },
                    ty = HEIGHT - 8.0,
                    label = escape(label),
                );
            }
        }
        match self.style {
            Style::Bars => {
                let count = self.series.len().max(1) as f64;
                let gap = (band * 0.2).min(6.0);
                let width = ((band - gap) / count).max(1.0);
                for (k, s) in self.series.iter().enumerate() {
                    for (i, v) in s.values.iter().enumerate() {
                        let Some(v) = v else { continue };
                        let x = LEFT + band * i as f64 + gap / 2.0 + width * k as f64;
                        let top_y = y(*v);
                        let _ = write!(
                            out,
                            r#"<rect class="{class}" x="{x:.1}" y="{top_y:.1}" width="{width:.1}" height="{h:.1}"><title>{label}: {name} {value}</title></rect>"#,
                            class = s.class,
                            h = (TOP + plot_h - top_y).max(0.0),
                            label = escape(&self.labels[i]),
                            name = s.name,
                            value = self.format(Some(*v)),
                        );
                    }
                }
            }
            Style::Lines => {
                for s in &self.series {
                    let mut path = String::new();
                    let mut pen_down = false;
                    for (i, v) in s.values.iter().enumerate() {
                        let x = LEFT + band * (i as f64 + 0.5);
                        match v {
                            Some(v) => {
                                let _ = write!(
                                    path,
                                    "{}{x:.1},{:.1} ",
                                    if pen_down { "L" } else { "M" },
                                    y(*v)
                                );
                                pen_down = true;
                            }
                            None => pen_down = false,
                        }
                    }
                    let _ = write!(
                        out,
                        r#"<path class="chart-line {class}" d="{path}"/>"#,
                        class = s.class,
                        path = path.trim_end(),
                    );
                    for (i, v) in s.values.iter().enumerate() {
                        let Some(v) = v else { continue };
                        let _ = write!(
                            out,
                            r#"<circle class="{class}" cx="{x:.1}" cy="{cy:.1}" r="3"><title>{label}: {name} {value}</title></circle>"#,
                            class = s.class,
                            x = LEFT + band * (i as f64 + 0.5),
                            cy = y(*v),
                            label = escape(&self.labels[i]),
                            name = s.name,
                            value = self.format(Some(*v)),
                        );
                    }
                }
            }
        }
        let _ = write!(
            out,
            r#"<line class="chart-baseline" x1="{LEFT}" x2="{x2}" y1="{b}" y2="{b}"/></svg>"#,
            x2 = WIDTH - RIGHT,
            b = TOP + plot_h,
        );
        out
    }
}

/// The grid's step for lines `v` apart at least: the smallest of 1, 2, 2.5 and 5 times a
/// power of ten at or above `v`, so the grid's values are round; for counts, a whole number
/// (no 2.5 under 10, at least 1).
fn nice_step(v: f64, integers: bool) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return if integers { 1.0 } else { 0.25 };
    }
    let power = 10f64.powf(v.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .filter(|c| !integers || c.fract() == 0.0)
        .find(|c| *c >= v * 0.999_999)
        .unwrap_or(10.0 * power);
    if integers { step.max(1.0) } else { step }
}

/// An axis value, short: 1200 as 1.2k.
fn short(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.1}M", v / 1_000_000.0).replace(".0M", "M")
    } else if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0).replace(".0k", "k")
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}").trim_end_matches('0').to_owned()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(style: Style, values: Vec<Option<f64>>) -> Chart {
        Chart {
            id: "t",
            title: "Conversations <by day>",
            description: "How many.".into(),
            labels: (1..=values.len()).map(|d| format!("Nov {d}")).collect(),
            series: vec![Series {
                name: "conversations",
                class: "chart-1",
                values,
            }],
            style,
            unit: "",
            csv_href: String::new(),
        }
    }

    #[test]
    fn grids_are_round_and_bars_are_as_tall_as_their_value() {
        assert_eq!(nice_step(7.0, false), 10.0);
        assert_eq!(nice_step(21.0, true), 25.0);
        assert_eq!(nice_step(0.75, true), 1.0, "counts: 3 at most");
        assert_eq!(nice_step(1.25, true), 2.0, "counts: 5 at most, no 2.5");
        assert_eq!(nice_step(0.0, true), 1.0);
        assert_eq!(nice_step(0.31, false), 0.5);
        assert_eq!(short(1500.0), "1.5k");
        assert_eq!(short(0.25), "0.25");
        let svg = chart(Style::Bars, vec![Some(8.0), Some(4.0), None]).svg();
        assert!(svg.contains("<title id=\"t-title\">Conversations &lt;by day&gt;</title>"));
        // 8 is the top of the grid (steps of 2): the full plot's height; 4 half of it.
        assert!(svg.contains("height=\"182.0\""), "{svg}");
        assert!(svg.contains("height=\"91.0\""), "{svg}");
        assert_eq!(
            svg.matches("<rect").count(),
            2,
            "no bar where there is no value"
        );
    }

    #[test]
    fn lines_break_where_a_value_is_missing() {
        let c = chart(Style::Lines, vec![Some(1.0), None, Some(2.0), Some(3.0)]);
        let svg = c.svg();
        assert_eq!(svg.matches("<circle").count(), 3);
        let path = svg
            .split(" d=\"")
            .nth(1)
            .and_then(|p| p.split('"').next())
            .expect("path");
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert_eq!(c.rows()[1].1, vec!["—".to_owned()]);
        assert!(!chart(Style::Bars, vec![Some(0.0)]).has_data());
    }
}
