//! The Danish text analysis of the index, configured by the files in `index/`.

use serde::Deserialize;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};

const SETTINGS: &str = include_str!("../../index/analyzer.toml");
const STOPWORDS: &str = include_str!("../../index/danish-stopwords.txt");

/// Name under which the analyzer is registered with the index.
pub const DANISH: &str = "journaliser_danish";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzerSettings {
    pub stemmer: String,
    pub max_token_bytes: usize,
    pub query_terms: usize,
    pub boost: Boosts,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boosts {
    pub title: f32,
    pub parties: f32,
    pub body: f32,
    pub kle: f32,
    pub people: f32,
}

impl AnalyzerSettings {
    /// The settings embedded from `index/analyzer.toml`; a broken file fails the unit tests,
    /// so it cannot reach a release.
    pub fn embedded() -> AnalyzerSettings {
        toml::from_str(SETTINGS).expect("index/analyzer.toml is valid (checked by tests)")
    }

    pub fn analyzer(&self) -> TextAnalyzer {
        let stopwords: Vec<String> = STOPWORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect();
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(self.max_token_bytes))
            .filter(LowerCaser)
            .filter(StopWordFilter::remove(stopwords))
            .filter(Stemmer::new(language(&self.stemmer)))
            .build()
    }
}

fn language(name: &str) -> Language {
    match name {
        "english" => Language::English,
        "norwegian" => Language::Norwegian,
        "swedish" => Language::Swedish,
        "german" => Language::German,
        _ => Language::Danish,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut analyzer = AnalyzerSettings::embedded().analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        stream.process(&mut |t| out.push(t.text.clone()));
        out
    }

    #[test]
    fn embedded_settings_parse() {
        let settings = AnalyzerSettings::embedded();
        assert!(settings.query_terms > 0);
        assert!(settings.boost.title > 0.0);
    }

    #[test]
    fn danish_words_are_stemmed_and_stop_words_dropped() {
        assert_eq!(tokens("byggetilladelsen"), tokens("byggetilladelse"));
        assert_eq!(tokens("Klagerne over vejene"), tokens("klage vej"));
        assert!(tokens("og i at det").is_empty());
        assert_eq!(tokens("Ærø Østergade"), ["ærø", "østergad"]);
    }
}
