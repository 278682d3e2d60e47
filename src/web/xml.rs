//! A small element tree of an XML document, enough to read the add-in manifests back: the
//! unified manifest is made from them, and the tests check their structure.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// One element: its qualified name as written (`bt:Image`), attributes, children and text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// Parses a whole document; an error for anything not well-formed.
    pub fn parse(xml: &str) -> Result<Element, String> {
        let mut reader = Reader::from_str(xml);
        let mut stack: Vec<Element> = Vec::new();
        let mut root = None;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| format!("at byte {}: {e}", reader.error_position()))?;
            match event {
                Event::Start(start) => stack.push(element(&start)?),
                Event::Empty(start) => {
                    let done = element(&start)?;
                    attach(&mut stack, &mut root, done)?;
                }
                Event::End(_) => {
                    let mut done = stack.pop().ok_or("an end tag without a start")?;
                    // Indentation is not content.
                    done.text = done.text.trim().to_string();
                    attach(&mut stack, &mut root, done)?;
                }
                Event::Text(text) => {
                    let text = text.xml_content().map_err(|e| e.to_string())?;
                    if let Some(open) = stack.last_mut() {
                        open.text.push_str(&text);
                    }
                }
                Event::GeneralRef(reference) => {
                    let name = reference.decode().map_err(|e| e.to_string())?;
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    if let Some(open) = stack.last_mut() {
                        open.text.push_str(resolved);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !stack.is_empty() {
            return Err(format!("<{}> is not closed", stack[stack.len() - 1].name));
        }
        root.ok_or_else(|| "no root element".to_string())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The element at the end of a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter()
            .try_fold(self, |element, name| element.child(name))
    }

    /// This element and every element below it, depth first.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.descendants());
        }
        out
    }
}

fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("<{name}>: {e}"))?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute
            .unescape_value()
            .map_err(|e| format!("<{name} {key}>: {e}"))?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        ..Element::default()
    })
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, done: Element) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None if root.is_none() => *root = Some(done),
        None => return Err("more than one root element".into()),
    }
    Ok(())
}

/// `text` with the five XML special characters escaped, for attribute values and text.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_attributes_and_text() {
        let root =
            Element::parse(r#"<?xml version="1.0"?><a x="1 &amp; 2"><b:c>t &lt; u</b:c><d/></a>"#)
                .unwrap();
        assert_eq!(root.attribute("x"), Some("1 & 2"));
        assert_eq!(root.at(&["b:c"]).unwrap().text, "t < u");
        assert_eq!(root.descendants().len(), 3);
    }

    #[test]
    fn refuses_what_is_not_well_formed() {
        for broken in ["<a><b></a>", "<a>", "<a/><b/>", "", "<a x=1/>"] {
            assert!(Element::parse(broken).is_err(), "{broken}");
        }
    }
}
