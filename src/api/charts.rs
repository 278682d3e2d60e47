//! Charts drawn as SVG by the server, so that the admin console needs no chart library: the
//! reliability plot of the first suggestion's confidence.

use std::fmt::Write as _;

use crate::store::Band;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Danish,
    English,
}

const SIZE: f64 = 320.0;
const MARGIN: f64 = 48.0;

/// Confidence (x) against how often the first suggestion was chosen (y), a dot per band with
/// filings (its area grows with their number), and the diagonal a calibrated confidence
/// follows. The SVG carries a title and a description for screen readers.
pub fn reliability(bands: &[Band], language: Language) -> String {
    let (title, x_label, y_label, describe) = match language {
        Language::Danish => (
            "Sikkerhed mod træfsikkerhed",
            "Sikkerhed for første forslag",
            "Andel, hvor første forslag blev valgt",
            "sikkerhed {c} %: {n} journaliseringer, første forslag valgt i {h} %",
        ),
        Language::English => (
            "Confidence against hit rate",
            "Confidence of the first suggestion",
            "Share on which the first suggestion was chosen",
            "confidence {c} %: {n} filings, first suggestion chosen in {h} %",
        ),
    };
    let plot = SIZE - 2.0 * MARGIN;
    let x = |v: f64| MARGIN + v * plot;
    let y = |v: f64| SIZE - MARGIN - v * plot;
    let most = bands.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    let filled: Vec<&Band> = bands.iter().filter(|b| b.count > 0).collect();
    let description = if filled.is_empty() {
        match language {
            Language::Danish => "Ingen journaliseringer med forslag i perioden.".to_string(),
            Language::English => "No filings with suggestions in the period.".to_string(),
        }
    } else {
        filled
            .iter()
            .map(|b| {
                describe
                    .replace("{c}", &format!("{:.0}", b.confidence * 100.0))
                    .replace("{n}", &b.count.to_string())
                    .replace("{h}", &format!("{:.0}", b.top1 * 100.0))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" width="{SIZE}" height="{SIZE}" role="img" aria-labelledby="t d" font-family="Segoe UI, system-ui, sans-serif" font-size="11">"##
    );
    let _ = write!(
        svg,
        r##"<title id="t">{title}</title><desc id="d">{}</desc>"##,
        escape(&description)
    );
    let _ = write!(
        svg,
        r##"<rect x="{m}" y="{m}" width="{plot}" height="{plot}" fill="none" stroke="#d1d1d1"/>"##,
        m = MARGIN
    );
    for tick in 0..=4 {
        let v = f64::from(tick) / 4.0;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#424242">{:.0}</text><text x="{}" y="{}" text-anchor="end" fill="#424242">{:.0}</text>"##,
            x(v),
            SIZE - MARGIN + 16.0,
            v * 100.0,
            MARGIN - 6.0,
            y(v) + 4.0,
            v * 100.0
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#8a8886" stroke-dasharray="4 3"/>"##,
        x(0.0),
        y(0.0),
        x(1.0),
        y(1.0)
    );
    for band in &filled {
        let radius = 3.0 + 7.0 * (band.count as f64 / most).sqrt();
        let _ = write!(
            svg,
            r##"<circle class="band" cx="{:.1}" cy="{:.1}" r="{radius:.1}" fill="#0f6cbd" fill-opacity="0.75" data-count="{}"/>"##,
            x(band.confidence),
            y(band.top1),
            band.count
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#242424">{x_label} (%)</text>"##,
        SIZE / 2.0,
        SIZE - 12.0
    );
    let _ = write!(
        svg,
        r##"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle" fill="#242424">{y_label} (%)</text></svg>"##,
        SIZE / 2.0
    );
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(from: f64, count: u64, confidence: f64, top1: f64) -> Band {
        Band {
            from,
            to: from + 0.1,
            count,
            confidence,
            top1,
        }
    }

    #[test]
    fn a_dot_per_band_with_filings_placed_by_confidence_and_hit_rate() {
        let bands = [
            band(0.0, 0, 0.0, 0.0),
            band(0.5, 4, 0.55, 0.5),
            band(0.9, 16, 0.95, 1.0),
        ];
        let svg = reliability(&bands, Language::Danish);
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        // 0.95 across 224 px from 48 px; a hit rate of 1 at the top edge.
        assert!(svg.contains(r#"cx="260.8" cy="48.0""#), "{svg}");
        assert!(
            svg.contains("16 journaliseringer, første forslag valgt i 100 %"),
            "{svg}"
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        let english = reliability(&bands, Language::English);
        assert!(
            english.contains("Confidence of the first suggestion"),
            "{english}"
        );
    }

    #[test]
    fn an_empty_period_says_so() {
        let svg = reliability(&[band(0.0, 0, 0.0, 0.0)], Language::English);
        assert!(svg.contains("No filings with suggestions"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 0);
    }
}
