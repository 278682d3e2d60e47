//! The bench's results: one row per store, printed as a table or JSON, and the plot of
//! suggestion latency against the number of documents as an SVG.

use std::fmt;

use serde::Serialize;

use super::measure::Measured;

/// One organisation measured on one store.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    pub documents: usize,
    pub cases: usize,
    pub bulk_docs_per_s: f64,
    pub store_mb: f64,
    pub index_mb: f64,
    pub startup_s: f64,
    /// Resident memory of `serve` after start-up, MiB.
    pub rss_mb: f64,
    /// Resident memory of `serve` after the clients are done, MiB.
    pub rss_after_mb: f64,
    pub uploads_per_s: f64,
    pub suggest_p50_ms_1: f64,
    pub suggest_p99_ms_1: f64,
    pub suggest_p50_ms_8: f64,
    pub suggest_p99_ms_8: f64,
    pub accept_p50_ms: f64,
    pub accept_p99_ms: f64,
    /// Share of uploads whose first suggestion was the case they belong on.
    pub suggest_top1: f64,
    pub requests: Requests,
}

/// How many requests each figure rests on.
#[derive(Debug, Clone, Serialize)]
pub struct Requests {
    pub uploads: usize,
    pub suggestions_1: usize,
    pub suggestions_8: usize,
    pub accepts: usize,
}

impl Row {
    pub fn new(
        store: &'static str,
        (documents, cases): (usize, usize),
        bulk_docs_per_s: f64,
        (store_mb, index_mb): (f64, f64),
        measured: &Measured,
    ) -> Row {
        Row {
            store,
            documents,
            cases,
            bulk_docs_per_s,
            store_mb,
            index_mb,
            startup_s: measured.startup_s,
            rss_mb: measured.rss_start_mb,
            rss_after_mb: measured.rss_end_mb,
            uploads_per_s: measured.uploads_per_s,
            suggest_p50_ms_1: percentile(&measured.suggest_ms_1, 0.50),
            suggest_p99_ms_1: percentile(&measured.suggest_ms_1, 0.99),
            suggest_p50_ms_8: percentile(&measured.suggest_ms_8, 0.50),
            suggest_p99_ms_8: percentile(&measured.suggest_ms_8, 0.99),
            accept_p50_ms: percentile(&measured.accept_ms, 0.50),
            accept_p99_ms: percentile(&measured.accept_ms, 0.99),
            suggest_top1: measured.top1,
            requests: Requests {
                uploads: measured.uploads,
                suggestions_1: measured.suggest_ms_1.len(),
                suggestions_8: measured.suggest_ms_8.len(),
                accepts: measured.accept_ms.len(),
            },
        }
    }
}

/// The bench's whole output: the rows of the organisation asked for (SQLite first), and the
/// suggestion latency at each size the plot was drawn from.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub sqlite: Row,
    /// The same organisation on PostgreSQL, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres: Option<Row>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plot: Vec<Point>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub documents: usize,
    pub suggest_p99_ms_1: f64,
    pub suggest_p99_ms_8: f64,
}

impl Point {
    pub fn of(row: &Row) -> Point {
        Point {
            documents: row.documents,
            suggest_p99_ms_1: row.suggest_p99_ms_1,
            suggest_p99_ms_8: row.suggest_p99_ms_8,
        }
    }
}

/// The value below which `q` of the sorted `values` lie (nearest rank); 0 for none.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<&Row> = std::iter::once(&self.sqlite)
            .chain(&self.postgres)
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, label: &str, value: &dyn Fn(&Row) -> String| {
            write!(f, "{label:<34}")?;
            for row in &rows {
                write!(f, " {:>14}", value(row))?;
            }
            writeln!(f)
        };
        line(f, "", &|r| r.store.to_string())?;
        line(f, "documents", &|r| r.documents.to_string())?;
        line(f, "cases", &|r| r.cases.to_string())?;
        line(f, "bulk load (documents/s)", &|r| {
            format!("{:.0}", r.bulk_docs_per_s)
        })?;
        line(f, "store on disk (MB)", &|r| format!("{:.1}", r.store_mb))?;
        line(f, "index on disk (MB)", &|r| format!("{:.1}", r.index_mb))?;
        line(f, "serve start-up until /readyz (s)", &|r| {
            format!("{:.2}", r.startup_s)
        })?;
        line(f, "RSS after start (MB)", &|r| format!("{:.0}", r.rss_mb))?;
        line(f, "RSS after the run (MB)", &|r| {
            format!("{:.0}", r.rss_after_mb)
        })?;
        line(f, "uploads, 4 clients (mails/s)", &|r| {
            format!("{:.0}", r.uploads_per_s)
        })?;
        line(f, "suggest p50, 1 client (ms)", &|r| {
            format!("{:.1}", r.suggest_p50_ms_1)
        })?;
        line(f, "suggest p99, 1 client (ms)", &|r| {
            format!("{:.1}", r.suggest_p99_ms_1)
        })?;
        line(f, "suggest p50, 8 clients (ms)", &|r| {
            format!("{:.1}", r.suggest_p50_ms_8)
        })?;
        line(f, "suggest p99, 8 clients (ms)", &|r| {
            format!("{:.1}", r.suggest_p99_ms_8)
        })?;
        line(f, "filing accept p50 (ms)", &|r| {
            format!("{:.1}", r.accept_p50_ms)
        })?;
        line(f, "filing accept p99 (ms)", &|r| {
            format!("{:.1}", r.accept_p99_ms)
        })?;
        line(f, "first suggestion right", &|r| {
            format!("{:.3}", r.suggest_top1)
        })?;
        if !self.plot.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "{:<34} {:>14} {:>14}",
                "documents", "p99 1 (ms)", "p99 8 (ms)"
            )?;
            for point in &self.plot {
                writeln!(
                    f,
                    "{:<34} {:>14.1} {:>14.1}",
                    point.documents, point.suggest_p99_ms_1, point.suggest_p99_ms_8
                )?;
            }
        }
        Ok(())
    }
}

/// Suggestion p99 (1 and 8 clients) against documents, on a logarithmic axis, as an SVG.
pub fn plot(points: &[Point]) -> String {
    const WIDTH: f64 = 640.0;
    const HEIGHT: f64 = 360.0;
    const LEFT: f64 = 60.0;
    const BOTTOM: f64 = 40.0;
    const TOP: f64 = 30.0;
    const RIGHT: f64 = 20.0;
    let max_ms = points
        .iter()
        .map(|p| p.suggest_p99_ms_1.max(p.suggest_p99_ms_8))
        .fold(1.0, f64::max)
        * 1.1;
    let (min_docs, max_docs) = points.iter().fold((f64::MAX, 1.0f64), |(lo, hi), p| {
        (lo.min(p.documents as f64), hi.max(p.documents as f64))
    });
    let (lo, hi) = (
        min_docs.max(1.0).log10(),
        max_docs.log10().max(min_docs.log10() + 1.0),
    );
    let x = |docs: usize| LEFT + ((docs as f64).log10() - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);
    let y = |ms: f64| HEIGHT - BOTTOM - ms / max_ms * (HEIGHT - BOTTOM - TOP);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"18\">Suggest p99 (ms) against documents filed</text>\n\
         <line x1=\"{LEFT}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"black\"/>\n\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{0}\" stroke=\"black\"/>\n",
        HEIGHT - BOTTOM,
        WIDTH - RIGHT
    );
    for tick in 0..=4 {
        let ms = max_ms * tick as f64 / 4.0;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{ms:.0}</text>\n",
            LEFT - 6.0,
            y(ms) + 4.0
        ));
    }
    for point in points {
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            x(point.documents),
            HEIGHT - BOTTOM + 18.0,
            point.documents
        ));
    }
    for (label, colour, value) in [
        (
            "1 client",
            "#1f5fa8",
            (|p: &Point| p.suggest_p99_ms_1) as fn(&Point) -> f64,
        ),
        ("8 clients", "#c0392b", |p: &Point| p.suggest_p99_ms_8),
    ] {
        let path: Vec<String> = points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.documents), y(value(p))))
            .collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n",
            path.join(" ")
        ));
        for p in points {
            svg.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>\n",
                x(p.documents),
                y(value(p))
            ));
        }
        let legend_y = if label == "1 client" { 40.0 } else { 56.0 };
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{legend_y}\" fill=\"{colour}\">{label}</text>\n",
            WIDTH - RIGHT - 80.0
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 50.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn the_plot_has_a_point_per_size() {
        let points = [10_000, 100_000].map(|documents| Point {
            documents,
            suggest_p99_ms_1: 5.0,
            suggest_p99_ms_8: 12.0,
        });
        let svg = plot(&points);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains(">100000<"));
    }
}
