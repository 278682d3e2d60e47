//! The XML WebDAV speaks (RFC 4918): the property updates and queries we send, and the
//! multistatus answers we read, with namespaces resolved whatever prefixes a server uses.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use quick_xml::NsReader;
use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};

/// The namespace of our dead properties.
pub const NS: &str = "urn:journaliser";
const DAV: &[u8] = b"DAV:";

/// A PROPPATCH body setting our properties.
pub fn propertyupdate(props: &[(&str, String)]) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:j="{NS}"><D:set><D:prop>"#
    );
    for (name, value) in props {
        // Control characters (other than tab and line breaks) cannot appear in XML 1.0 at all.
        let value: String = value
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
            .collect();
        xml.push_str(&format!("<j:{name}>{}</j:{name}>", escape(value.as_str())));
    }
    xml.push_str("</D:prop></D:set></D:propertyupdate>");
    xml
}

/// A PROPFIND body asking for the resource type, length, content type and last change, and
/// our named properties.
pub fn propfind(props: &[&str]) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:j="{NS}"><D:prop><D:resourcetype/><D:getcontentlength/><D:getcontenttype/><D:getlastmodified/>"#
    );
    for name in props {
        xml.push_str(&format!("<j:{name}/>"));
    }
    xml.push_str("</D:prop></D:propfind>");
    xml
}

/// One `response` of a multistatus answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resource {
    /// As the server wrote it: a path or an absolute URL, percent-encoded.
    pub href: String,
    pub collection: bool,
    /// Properties the server answered with 2xx, by (namespace, local name).
    pub props: BTreeMap<(String, String), String>,
    /// Properties the server answered with another status: absent or refused.
    pub failed: Vec<String>,
}

impl Resource {
    /// One of our properties, if set.
    pub fn ours(&self, name: &str) -> Option<&str> {
        self.props
            .get(&(NS.to_string(), name.to_string()))
            .map(String::as_str)
    }

    pub fn content_length(&self) -> Option<u64> {
        self.dav("getcontentlength").and_then(|v| v.parse().ok())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.dav("getcontenttype").filter(|v| !v.is_empty())
    }

    /// `getlastmodified`, an HTTP date.
    pub fn last_modified(&self) -> Option<DateTime<Utc>> {
        self.dav("getlastmodified")
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .map(|date| date.to_utc())
    }

    fn dav(&self, name: &str) -> Option<&str> {
        self.props
            .get(&("DAV:".to_string(), name.to_string()))
            .map(|v| v.trim())
    }
}

/// Reads a multistatus answer.
pub fn multistatus(xml: &[u8]) -> Result<Vec<Resource>, quick_xml::Error> {
    let mut reader = NsReader::from_reader(xml);
    let mut buf = Vec::new();
    let mut parser = Parser::default();
    loop {
        let (namespace, event) = reader.read_resolved_event_into(&mut buf)?;
        let namespace = match namespace {
            ResolveResult::Bound(Namespace(ns)) => ns.to_vec(),
            _ => Vec::new(),
        };
        match event {
            Event::Start(start) => parser.open(namespace, start.local_name().into_inner()),
            Event::Empty(start) => {
                parser.open(namespace, start.local_name().into_inner());
                parser.close();
            }
            Event::End(_) => parser.close(),
            Event::Text(text) => parser.text.push_str(&text.decode()?),
            Event::CData(data) => parser.text.push_str(&data.decode()?),
            Event::GeneralRef(reference) => {
                if let Ok(Some(c)) = reference.resolve_char_ref() {
                    parser.text.push(c);
                } else if let Some(resolved) =
                    quick_xml::escape::resolve_predefined_entity(&reference.decode()?)
                {
                    parser.text.push_str(resolved);
                }
            }
            Event::Eof => return Ok(parser.resources),
            _ => {}
        }
        buf.clear();
    }
}

/// The state of reading a multistatus: where we are, and what the current `response` and
/// `propstat` hold so far.
#[derive(Default)]
struct Parser {
    path: Vec<(Vec<u8>, Vec<u8>)>,
    text: String,
    resources: Vec<Resource>,
    response: Resource,
    props: Vec<((String, String), String)>,
    collection: bool,
    status: String,
}

impl Parser {
    fn parent_is(&self, local: &[u8]) -> bool {
        self.path
            .last()
            .is_some_and(|(ns, name)| ns == DAV && name == local)
    }

    fn open(&mut self, namespace: Vec<u8>, local: &[u8]) {
        let dav = namespace == DAV;
        if dav && local == b"response" {
            self.response = Resource::default();
        } else if dav && local == b"propstat" {
            self.props.clear();
            self.collection = false;
            self.status.clear();
        } else if dav && local == b"collection" && self.parent_is(b"resourcetype") {
            self.collection = true;
        }
        self.path.push((namespace, local.to_vec()));
        self.text.clear();
    }

    fn close(&mut self) {
        let Some((namespace, local)) = self.path.pop() else {
            return;
        };
        let text = std::mem::take(&mut self.text);
        let dav = namespace == DAV;
        if self.parent_is(b"prop") {
            let key = (
                String::from_utf8_lossy(&namespace).into_owned(),
                String::from_utf8_lossy(&local).into_owned(),
            );
            self.props.push((key, text.trim().to_string()));
        } else if dav && local == b"href" && self.parent_is(b"response") {
            self.response.href = text.trim().to_string();
        } else if dav && local == b"status" && self.parent_is(b"propstat") {
            self.status = text;
        } else if dav && local == b"propstat" {
            // "HTTP/1.1 200 OK"
            let ok = self
                .status
                .split_whitespace()
                .nth(1)
                .is_some_and(|code| code.starts_with('2'));
            for (key, value) in self.props.drain(..) {
                if ok {
                    self.response.props.insert(key, value);
                } else {
                    self.response.failed.push(key.1);
                }
            }
            self.response.collection |= ok && self.collection;
        } else if dav && local == b"response" {
            self.resources.push(std::mem::take(&mut self.response));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multistatus_is_read_whatever_the_prefixes() {
        let xml = br#"<?xml version="1.0" encoding="utf-8" ?>
<ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="urn:journaliser">
 <ns0:response><ns0:href>/sager/</ns0:href><ns0:propstat><ns0:prop><ns0:resourcetype><ns0:collection /></ns0:resourcetype></ns0:prop>
  <ns0:status>HTTP/1.1 200 OK</ns0:status></ns0:propstat>
  <ns0:propstat><ns0:prop><ns1:case-id /></ns0:prop><ns0:status>HTTP/1.1 404 Not Found</ns0:status></ns0:propstat></ns0:response>
 <ns0:response><ns0:href>/sager/%C3%86r%C3%B8/doc.eml</ns0:href><ns0:propstat><ns0:prop><ns0:resourcetype/>
  <ns0:getcontentlength>5</ns0:getcontentlength><ns0:getcontenttype>message/rfc822</ns0:getcontenttype>
  <ns0:getlastmodified>Mon, 23 Nov 2026 10:00:00 GMT</ns0:getlastmodified><ns1:title>Ans&#248;gning &amp; tegning</ns1:title></ns0:prop>
  <ns0:status>HTTP/1.1 200 OK</ns0:status></ns0:propstat></ns0:response>
</ns0:multistatus>"#;
        let resources = multistatus(xml).unwrap();
        assert_eq!(resources.len(), 2);
        assert!(resources[0].collection);
        assert_eq!(resources[0].failed, ["case-id"]);
        assert_eq!(resources[0].ours("case-id"), None);
        assert!(!resources[1].collection);
        assert_eq!(resources[1].href, "/sager/%C3%86r%C3%B8/doc.eml");
        assert_eq!(resources[1].ours("title"), Some("Ansøgning & tegning"));
        assert_eq!(resources[1].content_length(), Some(5));
        assert_eq!(resources[1].content_type(), Some("message/rfc822"));
        assert_eq!(
            resources[1].last_modified().map(|d| d.to_rfc3339()),
            Some("2026-11-23T10:00:00+00:00".into())
        );
        assert_eq!(resources[0].last_modified(), None);
    }

    #[test]
    fn control_characters_never_reach_the_xml() {
        let xml = propertyupdate(&[("title", "Bilag\u{1}\u{7} 1\tA".into())]);
        assert!(xml.contains("<j:title>Bilag 1\tA</j:title>"), "{xml}");
    }

    #[test]
    fn property_values_are_escaped() {
        let xml = propertyupdate(&[("title", "<Ansøgning> & \"tegning\"".into())]);
        assert!(xml.contains("<j:title>&lt;Ansøgning&gt; &amp; &quot;tegning&quot;</j:title>"));
    }
}
