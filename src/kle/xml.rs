//! Reading KL's KLE-XML 2.0 files (`KLE-Emneplan`, `KLE-Handlingsfacetter`) into a plan.
//!
//! No maintained Rust crate validates XML against an XSD and builds here, so the files are
//! checked by hand against what KL's schemas (`KLE-Emneplan-version-2-0.xsd`,
//! `KLE-Handlingsfacetter-version-2-0.xsd`) require: the root element, the publication date,
//! every level's number (its pattern, and that it lies under its parent's number), title,
//! guidance, administrative information with its dates, the retention code, and the seven
//! facet categories. Element order and unknown extra elements are not checked. A missing
//! number, title or date is always refused; the other required elements may be missing in an
//! excerpt of a plan only when the caller says it is one.

use chrono::NaiveDate;

use super::{Entry, History, Level, Plan, PlanKind};
use crate::web::xml::Element;

/// Whether the elements that KL's schema requires but the plan's meaning does not need
/// (guidance, administrative information, retention code, all seven facet categories) must
/// be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// A plan as KL publishes it: every required element.
    Schema,
    /// An excerpt: numbers, titles and dates only.
    Excerpt,
}

/// Why a file is not a KLE plan; one line, naming the element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(String);

/// Reads a KLE-Emneplan or KLE-Handlingsfacetter document.
pub fn read_plan(xml: &str, strictness: Strictness) -> Result<Plan, Invalid> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let root = Element::parse(xml).map_err(|e| Invalid(format!("not well-formed XML: {e}")))?;
    let reader = Reader {
        strictness,
        entries: Vec::new(),
    };
    match root.name.as_str() {
        "KLE-Emneplan" => reader.subjects(&root),
        "KLE-Handlingsfacetter" => reader.facets(&root),
        other => Err(Invalid(format!(
            "the root element is <{other}>, not <KLE-Emneplan> or <KLE-Handlingsfacetter>"
        ))),
    }
}

struct Reader {
    strictness: Strictness,
    entries: Vec<Entry>,
}

/// The names of one level's elements: `Hovedgruppe` has `HovedgruppeNr`, `HovedgruppeTitel`, …
struct Names {
    prefix: &'static str,
    number: &'static str,
    level: Level,
    /// The number pattern as the schema writes it, for the message.
    pattern: &'static str,
    guidance_required: bool,
}

const MAIN_GROUP: Names = Names {
    prefix: "Hovedgruppe",
    number: "HovedgruppeNr",
    level: Level::MainGroup,
    pattern: "[0-9][0-9]",
    guidance_required: true,
};
const GROUP: Names = Names {
    prefix: "Gruppe",
    number: "GruppeNr",
    level: Level::Group,
    pattern: "[0-9][0-9].[0-9][0-9]",
    guidance_required: false,
};
const SUBJECT: Names = Names {
    prefix: "Emne",
    number: "EmneNr",
    level: Level::Subject,
    pattern: "[0-9][0-9].[0-9][0-9].[0-9][0-9]",
    guidance_required: false,
};
const CATEGORY: Names = Names {
    prefix: "HandlingsfacetKategori",
    number: "HandlingsfacetKategoriNr",
    level: Level::FacetCategory,
    pattern: "A|P|S|Ø|G|K|I",
    guidance_required: true,
};
const FACET: Names = Names {
    prefix: "Handlingsfacet",
    number: "HandlingsfacetNr",
    level: Level::Facet,
    pattern: "A|P|S|Ø|G|K|I followed by two digits",
    guidance_required: true,
};

/// The facet categories of KLE, in the schema's order.
const CATEGORIES: [&str; 7] = ["A", "P", "S", "Ø", "G", "K", "I"];

impl Reader {
    fn subjects(mut self, root: &Element) -> Result<Plan, Invalid> {
        let published = self.published(root)?;
        let main_groups = self.children_at_least_one(root, "Hovedgruppe", "KLE-Emneplan")?;
        for main_group in main_groups {
            let main_number = self.entry(main_group, &MAIN_GROUP, None)?;
            let context = format!("Hovedgruppe {main_number}");
            for group in self.children_at_least_one(main_group, "Gruppe", &context)? {
                let group_number = self.entry(group, &GROUP, Some(&main_number))?;
                let context = format!("Gruppe {group_number}");
                for subject in self.children_at_least_one(group, "Emne", &context)? {
                    let number = self.entry(subject, &SUBJECT, Some(&group_number))?;
                    self.retention(subject, &format!("Emne {number}"))?;
                }
            }
        }
        Ok(Plan {
            kind: PlanKind::Subjects,
            published,
            entries: self.entries,
        })
    }

    fn facets(mut self, root: &Element) -> Result<Plan, Invalid> {
        let published = self.published(root)?;
        let categories =
            self.children_at_least_one(root, "HandlingsfacetKategori", "KLE-Handlingsfacetter")?;
        if self.strictness == Strictness::Schema && categories.len() != CATEGORIES.len() {
            return Err(self.excerpt_only(format!(
                "KLE-Handlingsfacetter has {} HandlingsfacetKategori, the schema requires all 7 ({})",
                categories.len(),
                CATEGORIES.join(", ")
            )));
        }
        for category in categories {
            let category_number = self.entry(category, &CATEGORY, None)?;
            let context = format!("HandlingsfacetKategori {category_number}");
            for facet in self.children_at_least_one(category, "Handlingsfacet", &context)? {
                let number = self.entry(facet, &FACET, Some(&category_number))?;
                self.retention(facet, &format!("Handlingsfacet {number}"))?;
            }
        }
        Ok(Plan {
            kind: PlanKind::Facets,
            published,
            entries: self.entries,
        })
    }

    fn published(&self, root: &Element) -> Result<NaiveDate, Invalid> {
        let text = root
            .child("UdgivelsesDato")
            .map(|e| e.text.as_str())
            .ok_or_else(|| Invalid(format!("<{}> lacks UdgivelsesDato", root.name)))?;
        date(text).ok_or_else(|| {
            Invalid(format!(
                "<{}> UdgivelsesDato {text:?} is not a date (yyyy-mm-dd)",
                root.name
            ))
        })
    }

    fn children_at_least_one<'e>(
        &self,
        parent: &'e Element,
        name: &str,
        context: &str,
    ) -> Result<Vec<&'e Element>, Invalid> {
        let found: Vec<&Element> = parent.children.iter().filter(|c| c.name == name).collect();
        if found.is_empty() {
            return Err(Invalid(format!("{context} has no {name}")));
        }
        Ok(found)
    }

    /// Reads one level's number, title, guidance and administrative information, records the
    /// entry and returns its number.
    fn entry(
        &mut self,
        element: &Element,
        names: &Names,
        parent: Option<&str>,
    ) -> Result<String, Invalid> {
        let prefix = names.prefix;
        let inside = parent.map_or(String::new(), |p| format!(" under {p}"));
        let number = element
            .child(names.number)
            .map(|e| e.text.clone())
            .ok_or_else(|| Invalid(format!("a {prefix}{inside} lacks {}", names.number)))?;
        if !number_fits(&number, names.level, parent) {
            return Err(Invalid(format!(
                "{} {number:?}{inside} does not match {}{}",
                names.number,
                names.pattern,
                parent.map_or(String::new(), |p| format!(" and start with {p}")),
            )));
        }
        let context = format!("{prefix} {number}");
        let title_name = format!("{prefix}Titel");
        let title = element
            .child(&title_name)
            .map(|e| collapse(&e.text))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Invalid(format!("{context} lacks {title_name}")))?;
        let guidance_name = format!("{prefix}Vejledning");
        let guidance = match element.child(&guidance_name) {
            Some(guidance) => {
                if guidance.child("VejledningTekst").is_none() {
                    return Err(Invalid(format!(
                        "{context} {guidance_name} lacks VejledningTekst"
                    )));
                }
                all_text(guidance)
            }
            None if names.guidance_required => {
                self.missing(&context, &guidance_name)?;
                String::new()
            }
            None => String::new(),
        };
        let info_name = format!("{prefix}AdministrativInfo");
        let (created, changed, history) = match element.child(&info_name) {
            Some(info) => administrative(info, &context)?,
            None => {
                self.missing(&context, &info_name)?;
                (None, None, None)
            }
        };
        self.entries.push(Entry {
            number: number.clone(),
            level: names.level,
            parent: parent.map(str::to_owned),
            title,
            guidance,
            created,
            changed,
            history,
        });
        Ok(number)
    }

    fn retention(&self, element: &Element, context: &str) -> Result<(), Invalid> {
        match element.child("BevaringJaevnfoerArkivloven") {
            Some(code) if ["K", "K5", "K10", "B", "tom"].contains(&code.text.as_str()) => Ok(()),
            Some(code) => Err(Invalid(format!(
                "{context} BevaringJaevnfoerArkivloven {:?} is not K, K5, K10, B or tom",
                code.text
            ))),
            None => self.missing(context, "BevaringJaevnfoerArkivloven"),
        }
    }

    /// A required element that the plan's meaning does not need is missing.
    fn missing(&self, context: &str, name: &str) -> Result<(), Invalid> {
        match self.strictness {
            Strictness::Excerpt => Ok(()),
            Strictness::Schema => Err(self.excerpt_only(format!(
                "{context} lacks {name}, which the KLE-XML 2.0 schema requires"
            ))),
        }
    }

    fn excerpt_only(&self, message: String) -> Invalid {
        Invalid(format!(
            "{message} (an excerpt of a plan is read with --excerpt)"
        ))
    }
}

/// The creation date, the last change and the history of an entry.
type Administrative = (Option<NaiveDate>, Option<NaiveDate>, Option<History>);

fn administrative(info: &Element, context: &str) -> Result<Administrative, Invalid> {
    let dated = |element: &Element| {
        date(&element.text).ok_or_else(|| {
            Invalid(format!(
                "{context} {} {:?} is not a date (yyyy-mm-dd)",
                element.name, element.text
            ))
        })
    };
    let created = info
        .child("OprettetDato")
        .ok_or_else(|| Invalid(format!("{context} AdministrativInfo lacks OprettetDato")))
        .and_then(dated)?;
    let mut changed = None;
    for element in info.children.iter().filter(|c| c.name == "RettetDato") {
        changed = changed.max(Some(dated(element)?));
    }
    let history = match info.child("Historisk") {
        None => None,
        Some(historic) => {
            if let Some(gone) = historic.child("UdgaaetDato") {
                Some(History::Removed {
                    since: dated(gone)?,
                })
            } else if let Some(moved) = historic.child("Flyttet") {
                let since = moved
                    .child("FlyttetDato")
                    .ok_or_else(|| Invalid(format!("{context} Flyttet lacks FlyttetDato")))
                    .and_then(dated)?;
                let replaced_by = moved
                    .children
                    .iter()
                    .filter(|c| c.name == "AfloestAf")
                    .filter_map(|c| c.children.first())
                    .map(|number| number.text.clone())
                    .collect();
                Some(History::Moved { since, replaced_by })
            } else {
                return Err(Invalid(format!(
                    "{context} Historisk holds neither UdgaaetDato nor Flyttet"
                )));
            }
        }
    };
    Ok((Some(created), changed, history))
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Whether `number` has its level's shape and lies under `parent` (`00.01` under `00`,
/// `A00` under `A`).
fn number_fits(number: &str, level: Level, parent: Option<&str>) -> bool {
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let shape = match level {
        Level::MainGroup => digits(number),
        Level::Group | Level::Subject => {
            let parts: Vec<&str> = number.split('.').collect();
            let want = if level == Level::Group { 2 } else { 3 };
            parts.len() == want && parts.iter().all(|p| digits(p))
        }
        Level::FacetCategory => CATEGORIES.contains(&number),
        Level::Facet => {
            let mut chars = number.chars();
            chars
                .next()
                .is_some_and(|c| CATEGORIES.contains(&c.to_string().as_str()))
                && digits(chars.as_str())
        }
    };
    let under = match (level, parent) {
        (Level::Facet, Some(parent)) => number.starts_with(parent),
        (_, Some(parent)) => number.starts_with(&format!("{parent}.")),
        (_, None) => true,
    };
    shape && under
}

/// The text of an element and everything below it, whitespace collapsed: guidance is XHTML
/// (`<p>`, `<ul><li>`), kept here as words for search.
fn all_text(element: &Element) -> String {
    let words: Vec<&str> = element
        .descendants()
        .into_iter()
        .map(|e| e.text.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    collapse(&words.join(" "))
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openesdh(name: &str) -> String {
        let path = format!(
            "{}/../shared/data/kle/openesdh/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_openesdh_excerpt_reads_as_an_excerpt() {
        let plan = read_plan(&openesdh("test-kle-emneplan.xml"), Strictness::Excerpt).unwrap();
        assert_eq!(plan.kind, PlanKind::Subjects);
        assert_eq!(plan.published.to_string(), "2015-05-01");
        let numbers: Vec<(&str, Level, Option<&str>)> = plan
            .entries
            .iter()
            .map(|e| (e.number.as_str(), e.level, e.parent.as_deref()))
            .collect();
        assert_eq!(
            numbers,
            [
                ("00", Level::MainGroup, None),
                ("00.01", Level::Group, Some("00")),
                ("00.01.00", Level::Subject, Some("00.01")),
            ]
        );
        assert_eq!(plan.entries[2].title, "Kommunens styrelse i almindelighed");
    }

    #[test]
    fn the_openesdh_excerpt_is_refused_as_a_whole_plan_with_one_line() {
        let refused = read_plan(&openesdh("test-kle-emneplan.xml"), Strictness::Schema)
            .unwrap_err()
            .to_string();
        assert_eq!(
            refused,
            "Hovedgruppe 00 lacks HovedgruppeVejledning, which the KLE-XML 2.0 schema requires (an excerpt of a plan is read with --excerpt)"
        );
        let refused = read_plan(&openesdh("test-kle-facetter.xml"), Strictness::Schema)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("has 1 HandlingsfacetKategori"),
            "{refused}"
        );
    }

    #[test]
    fn facets_come_with_their_guidance_and_dates() {
        let plan = read_plan(&openesdh("test-kle-facetter.xml"), Strictness::Excerpt).unwrap();
        assert_eq!(plan.kind, PlanKind::Facets);
        let facet = &plan.entries[1];
        assert_eq!(
            (facet.number.as_str(), facet.level, facet.parent.as_deref()),
            ("A00", Level::Facet, Some("A"))
        );
        assert_eq!(facet.title, "Organisering mv. i almindelighed");
        assert_eq!(
            facet.guidance,
            "A00 anvendes når en sag dækker flere A handlingsfacetter."
        );
        let category = &plan.entries[0];
        assert!(category.guidance.contains("kompetence og delegation"));
        assert_eq!(category.changed.unwrap().to_string(), "2005-02-01");
    }

    #[test]
    fn what_a_plan_cannot_do_without_is_refused_even_in_an_excerpt() {
        let cases = [
            ("<Plan/>", "the root element is <Plan>"),
            (
                "<KLE-Emneplan></KLE-Emneplan>",
                "<KLE-Emneplan> lacks UdgivelsesDato",
            ),
            (
                "<KLE-Emneplan><UdgivelsesDato>1. maj</UdgivelsesDato></KLE-Emneplan>",
                "UdgivelsesDato \"1. maj\" is not a date",
            ),
            (
                "<KLE-Emneplan><UdgivelsesDato>2015-05-01</UdgivelsesDato></KLE-Emneplan>",
                "KLE-Emneplan has no Hovedgruppe",
            ),
            (
                "<KLE-Emneplan><UdgivelsesDato>2015-05-01</UdgivelsesDato><Hovedgruppe><HovedgruppeNr>0</HovedgruppeNr></Hovedgruppe></KLE-Emneplan>",
                "HovedgruppeNr \"0\" does not match [0-9][0-9]",
            ),
            (
                "<KLE-Emneplan><UdgivelsesDato>2015-05-01</UdgivelsesDato><Hovedgruppe><HovedgruppeNr>00</HovedgruppeNr><HovedgruppeTitel>T</HovedgruppeTitel><Gruppe><GruppeNr>01.01</GruppeNr></Gruppe></Hovedgruppe></KLE-Emneplan>",
                "GruppeNr \"01.01\" under 00 does not match [0-9][0-9].[0-9][0-9] and start with 00",
            ),
            (
                "<KLE-Emneplan><UdgivelsesDato>2015-05-01</UdgivelsesDato><Hovedgruppe><HovedgruppeNr>00</HovedgruppeNr></Hovedgruppe></KLE-Emneplan>",
                "Hovedgruppe 00 lacks HovedgruppeTitel",
            ),
            ("<KLE-Emneplan>", "not well-formed XML"),
        ];
        for (xml, expected) in cases {
            let refused = read_plan(xml, Strictness::Excerpt).unwrap_err().to_string();
            assert!(refused.contains(expected), "{xml}: {refused}");
            assert!(!refused.contains('\n'), "{refused}");
        }
    }

    #[test]
    fn removed_and_moved_subjects_are_read_from_their_history() {
        let xml = "<KLE-Emneplan><UdgivelsesDato>2016-01-01</UdgivelsesDato>
            <Hovedgruppe><HovedgruppeNr>90</HovedgruppeNr><HovedgruppeTitel>Hoved</HovedgruppeTitel>
            <Gruppe><GruppeNr>90.01</GruppeNr><GruppeTitel>Gruppe</GruppeTitel>
              <Emne><EmneNr>90.01.02</EmneNr><EmneTitel>Udgået emne</EmneTitel>
                <EmneAdministrativInfo><OprettetDato>2001-01-01</OprettetDato>
                  <Historisk><UdgaaetDato>2015-12-01</UdgaaetDato></Historisk></EmneAdministrativInfo></Emne>
              <Emne><EmneNr>90.01.04</EmneNr><EmneTitel>Flyttet emne</EmneTitel>
                <EmneAdministrativInfo><OprettetDato>2001-01-01</OprettetDato>
                  <Historisk><Flyttet><FlyttetDato>2015-12-01</FlyttetDato>
                    <AfloestAf><EmneNr>90.02.01</EmneNr></AfloestAf></Flyttet></Historisk></EmneAdministrativInfo></Emne>
            </Gruppe></Hovedgruppe></KLE-Emneplan>";
        let plan = read_plan(xml, Strictness::Excerpt).unwrap();
        let since = NaiveDate::from_ymd_opt(2015, 12, 1).unwrap();
        assert_eq!(plan.entries[2].history, Some(History::Removed { since }));
        assert_eq!(
            plan.entries[3].history,
            Some(History::Moved {
                since,
                replaced_by: vec!["90.02.01".into()]
            })
        );
    }
}
