//! The add-in manifests of one deployment: the Outlook and Word XML manifests rendered from the
//! templates in `addin-manifest/`, and the unified JSON manifest made from what they say.

use std::collections::HashMap;
use std::io::Write as _;

use serde_json::{Value, json};
use uuid::Uuid;

use super::PublicUrl;
use super::icons::{self, Style};
use super::xml::{Element, escape};
use crate::config::AddinConfig;

const OUTLOOK_TEMPLATE: &str = include_str!("../../addin-manifest/outlook.xml");
const WORD_TEMPLATE: &str = include_str!("../../addin-manifest/word.xml");

/// Ids derived from a base URL live under this namespace (UUID v5), so one address always
/// gets the same ids and two addresses never share them.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0xd0f34ad9_91d4_4e92_9c4e_cd22d767dae3);

/// The app package, and the icons inside it that the unified manifest names.
pub const PACKAGE: &str = "journaliser-app.zip";
const COLOR_ICON: &str = "color.png";
const OUTLINE_ICON: &str = "outline.png";

const UNIFIED_SCHEMA: &str =
    "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json";
const LOCALIZATION_SCHEMA: &str = "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.Localization.schema.json";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{0}")]
    Settings(String),
    /// A template that does not render to a sound manifest: a fault of this program.
    #[error("the {0} manifest template is broken: {1}")]
    Template(&'static str, String),
}

/// The API registration the panes sign in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRegistration {
    pub client_id: Uuid,
    pub app_id_uri: String,
}

/// Everything that differs between deployments.
#[derive(Debug, Clone)]
pub struct ManifestSettings {
    pub base: PublicUrl,
    /// Appended to the display names, e.g. ` (test)`; empty in production.
    pub suffix: String,
    pub outlook_id: Uuid,
    pub word_id: Uuid,
    pub unified_id: Uuid,
    pub api: Option<ApiRegistration>,
}

impl ManifestSettings {
    pub fn new(base: PublicUrl, addin: &AddinConfig) -> Result<ManifestSettings, ManifestError> {
        let id = |configured: &str, kind: &str| -> Result<Uuid, ManifestError> {
            if configured.is_empty() {
                return Ok(Uuid::new_v5(
                    &ID_NAMESPACE,
                    format!("{kind}\n{}", base.as_str()).as_bytes(),
                ));
            }
            Uuid::parse_str(configured).map_err(|_| {
                ManifestError::Settings(format!("the {kind} id {configured:?} is not a GUID"))
            })
        };
        let api = match addin.client_id.as_str() {
            "" => None,
            client_id => {
                let client_id = Uuid::parse_str(client_id).map_err(|_| {
                    ManifestError::Settings(format!("addin.client_id {client_id:?} is not a GUID"))
                })?;
                let app_id_uri = match addin.app_id_uri.as_str() {
                    "" => format!("api://{}/{client_id}", base.authority()),
                    uri => uri.trim_end_matches('/').to_string(),
                };
                Some(ApiRegistration {
                    client_id,
                    app_id_uri,
                })
            }
        };
        let suffix = match addin.environment.trim() {
            "" => String::new(),
            environment => format!(" ({environment})"),
        };
        Ok(ManifestSettings {
            outlook_id: id(&addin.outlook_id, "outlook")?,
            word_id: id(&addin.word_id, "word")?,
            unified_id: id(&addin.unified_id, "unified")?,
            base,
            suffix,
            api,
        })
    }
}

/// The rendered manifests, ready to serve or write.
#[derive(Debug, Clone)]
pub struct Manifests {
    pub outlook: String,
    pub word: String,
    /// The unified manifest (`manifest.json`) and its English strings (`en-us.json`).
    pub unified: String,
    pub unified_en: String,
}

impl Manifests {
    pub fn render(settings: &ManifestSettings) -> Result<Manifests, ManifestError> {
        let outlook = fill(
            "Outlook",
            OUTLOOK_TEMPLATE,
            settings,
            settings.outlook_id,
            "      ",
        )?;
        let word = fill("Word", WORD_TEMPLATE, settings, settings.word_id, "    ")?;
        let outlook_read = Read::from_xml(
            "Outlook",
            &outlook,
            &["VersionOverrides", "VersionOverrides", "Resources"],
        )?;
        let word_read = Read::from_xml("Word", &word, &["VersionOverrides", "Resources"])?;
        let (unified, unified_en) = unified(settings, &outlook_read, &word_read)?;
        Ok(Manifests {
            outlook,
            word,
            unified: pretty(&unified),
            unified_en: pretty(&unified_en),
        })
    }

    /// The files `journaliser manifest` writes, by path: the manifests, the icons they name
    /// (the XML manifests' below `assets/`, as the service serves them), and the app package.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut files = vec![
            ("outlook.xml".to_string(), self.outlook.clone().into_bytes()),
            ("word.xml".into(), self.word.clone().into_bytes()),
            ("manifest.json".into(), self.unified.clone().into_bytes()),
            ("en-us.json".into(), self.unified_en.clone().into_bytes()),
            (
                COLOR_ICON.into(),
                icons::png(Style::Color, icons::COLOR_SIZE),
            ),
            (
                OUTLINE_ICON.into(),
                icons::png(Style::Outline, icons::OUTLINE_SIZE),
            ),
        ];
        for size in icons::ASSET_SIZES {
            files.push((icons::asset_path(size), icons::png(Style::Color, size)));
        }
        files.push((PACKAGE.into(), self.package()));
        files
    }

    /// The app package for Integrated apps: the unified manifest, its English strings and its
    /// two icons, at the root of a zip file.
    pub fn package(&self) -> Vec<u8> {
        let entries = [
            ("manifest.json", self.unified.as_bytes().to_vec()),
            ("en-us.json", self.unified_en.as_bytes().to_vec()),
            (COLOR_ICON, icons::png(Style::Color, icons::COLOR_SIZE)),
            (
                OUTLINE_ICON,
                icons::png(Style::Outline, icons::OUTLINE_SIZE),
            ),
        ];
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        // Writing to memory fails only on a fault of this program.
        for (name, bytes) in entries {
            zip.start_file(name, options)
                .expect("a zip entry started in memory");
            zip.write_all(&bytes)
                .expect("a zip entry written to memory");
        }
        zip.finish().expect("a zip written to memory").into_inner()
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value always serialises");
    text.push('\n');
    text
}

/// Fills a template's `{{…}}` fields; every value is escaped for XML.
fn fill(
    kind: &'static str,
    template: &str,
    settings: &ManifestSettings,
    id: Uuid,
    indent: &str,
) -> Result<String, ManifestError> {
    let version = format!("{}.0", env!("CARGO_PKG_VERSION"));
    let web_application_info = match &settings.api {
        None => String::new(),
        Some(api) => [
            "<WebApplicationInfo>".to_string(),
            format!("  <Id>{}</Id>", api.client_id),
            format!("  <Resource>{}</Resource>", escape(&api.app_id_uri)),
            "  <Scopes>".into(),
            "    <Scope>openid</Scope>".into(),
            "    <Scope>profile</Scope>".into(),
            "  </Scopes>".into(),
            "</WebApplicationInfo>".into(),
        ]
        .iter()
        .map(|line| format!("{indent}{line}"))
        .collect::<Vec<_>>()
        .join("\n"),
    };
    let text = template
        .replace("{{ID}}", &id.to_string())
        .replace("{{VERSION}}", &version)
        .replace("{{BASE}}", &escape(settings.base.as_str()))
        .replace("{{SUFFIX}}", &escape(&settings.suffix))
        .replace("{{WEB_APPLICATION_INFO}}", &web_application_info);
    if let Some(at) = text.find("{{") {
        let field: String = text[at..].chars().take(40).collect();
        return Err(ManifestError::Template(
            kind,
            format!("unknown field {field}"),
        ));
    }
    Element::parse(&text).map_err(|e| ManifestError::Template(kind, e))?;
    Ok(text)
}

/// A localised string: the Danish default and the English override.
#[derive(Debug, Clone)]
struct Text {
    da: String,
    en: String,
}

/// What the unified manifest takes from an XML manifest.
struct Read {
    kind: &'static str,
    id: String,
    provider: String,
    name: Text,
    description: Text,
    resources: HashMap<String, Text>,
}

impl Read {
    fn from_xml(kind: &'static str, xml: &str, resources: &[&str]) -> Result<Read, ManifestError> {
        let broken = |what: &str| ManifestError::Template(kind, format!("no {what}"));
        let root = Element::parse(xml).map_err(|e| ManifestError::Template(kind, e))?;
        let text = |name: &str| {
            root.child(name)
                .map(|e| e.text.clone())
                .ok_or_else(|| broken(name))
        };
        let localised = |element: &Element| {
            let da = element
                .attribute("DefaultValue")
                .unwrap_or_default()
                .to_string();
            let en = element
                .children
                .iter()
                .find(|o| o.attribute("Locale") == Some("en-US"))
                .and_then(|o| o.attribute("Value"))
                .map_or_else(|| da.clone(), str::to_string);
            Text { da, en }
        };
        let table = root.at(resources).ok_or_else(|| broken("Resources"))?;
        let mut found = HashMap::new();
        for group in &table.children {
            for entry in &group.children {
                if let Some(id) = entry.attribute("id") {
                    found.insert(id.to_string(), localised(entry));
                }
            }
        }
        Ok(Read {
            kind,
            id: text("Id")?,
            provider: text("ProviderName")?,
            name: root
                .child("DisplayName")
                .map(localised)
                .ok_or_else(|| broken("DisplayName"))?,
            description: root
                .child("Description")
                .map(localised)
                .ok_or_else(|| broken("Description"))?,
            resources: found,
        })
    }

    fn resource(&self, id: &str) -> Result<&Text, ManifestError> {
        self.resources
            .get(id)
            .ok_or_else(|| ManifestError::Template(self.kind, format!("no resource {id}")))
    }

    fn url(&self, id: &str) -> Result<String, ManifestError> {
        Ok(self.resource(id)?.da.clone())
    }

    fn icons(&self) -> Result<Value, ManifestError> {
        let icon = |size: u32| -> Result<Value, ManifestError> {
            Ok(json!({"size": size, "url": self.url(&format!("Icon.{size}x{size}"))?}))
        };
        Ok(json!([icon(16)?, icon(32)?, icon(80)?]))
    }

    fn button(
        &self,
        id: &str,
        label: &str,
        tooltip: &str,
        action: &str,
    ) -> Result<Value, ManifestError> {
        Ok(json!({
            "id": id,
            "type": "button",
            "label": self.resource(label)?.da,
            "icons": self.icons()?,
            "supertip": {"title": self.resource(label)?.da, "description": self.resource(tooltip)?.da},
            "actionId": action,
        }))
    }
}

/// The unified manifest for tenants that deploy through Integrated apps: both add-ins in its one
/// extension, each host hiding its XML twin so that users never see both.
fn unified(
    settings: &ManifestSettings,
    outlook: &Read,
    word: &Read,
) -> Result<(Value, Value), ManifestError> {
    // The schema allows one extension per app: Outlook and Word share it, each runtime, ribbon
    // and event gated by its own host (scope) and requirement set.
    let needs = |scope: &str, set: &str, version: &str| json!({"scopes": [scope], "capabilities": [{"name": set, "minVersion": version}]});
    let extension = json!({
        "requirements": {"scopes": ["mail", "document"]},
        "runtimes": [
            {
                "requirements": needs("mail", "Mailbox", "1.5"),
                "id": "TaskPaneRuntime",
                "type": "general",
                "code": {"page": outlook.url("Taskpane.Url")?},
                "lifetime": "short",
                "actions": [{"id": "OpenPane", "type": "openPage", "pinnable": true}],
            },
            {
                "requirements": needs("mail", "Mailbox", "1.12"),
                "id": "SendEventRuntime",
                "type": "general",
                "code": {"page": outlook.url("WebViewRuntime.Url")?, "script": outlook.url("JSRuntime.Url")?},
                "lifetime": "short",
                "actions": [{"id": "onMessageSendHandler", "type": "executeFunction", "displayName": "onMessageSendHandler"}],
            },
            {
                "requirements": needs("document", "WordApi", "1.1"),
                "id": "WordPaneRuntime",
                "type": "general",
                "code": {"page": word.url("Taskpane.Url")?},
                "lifetime": "short",
                "actions": [{"id": "OpenWordPane", "type": "openPage"}],
            },
        ],
        "ribbons": [
            {
                "requirements": needs("mail", "Mailbox", "1.5"),
                "contexts": ["mailRead"],
                "tabs": [{"builtInTabId": "TabDefault", "groups": [{
                    "id": "Journaliser.ReadGroup",
                    "label": outlook.resource("GroupLabel")?.da,
                    "controls": [outlook.button("Journaliser.ReadButton", "ReadButton.Label", "ReadButton.Tooltip", "OpenPane")?],
                }]}],
            },
            {
                "requirements": needs("mail", "Mailbox", "1.5"),
                "contexts": ["mailCompose"],
                "tabs": [{"builtInTabId": "TabDefault", "groups": [{
                    "id": "Journaliser.ComposeGroup",
                    "label": outlook.resource("GroupLabel")?.da,
                    "controls": [outlook.button("Journaliser.ComposeButton", "ComposeButton.Label", "ComposeButton.Tooltip", "OpenPane")?],
                }]}],
            },
            {
                "requirements": needs("document", "WordApi", "1.1"),
                "contexts": ["default"],
                "tabs": [{"builtInTabId": "TabHome", "groups": [{
                    "id": "Journaliser.Group",
                    "label": word.resource("GroupLabel")?.da,
                    "icons": word.icons()?,
                    "controls": [word.button("Journaliser.SaveButton", "SaveButton.Label", "SaveButton.Tooltip", "OpenWordPane")?],
                }]}],
            },
        ],
        "autoRunEvents": [{
            "requirements": needs("mail", "Mailbox", "1.12"),
            "events": [{"type": "messageSending", "actionId": "onMessageSendHandler", "options": {"sendMode": "promptUser"}}],
        }],
        "alternates": [
            {"requirements": {"scopes": ["mail"]}, "hide": {"customOfficeAddin": {"officeAddinId": outlook.id}}},
            {"requirements": {"scopes": ["document"]}, "hide": {"customOfficeAddin": {"officeAddinId": word.id}}},
        ],
    });
    let short = |text: &str| -> String { text.chars().take(80).collect() };
    let start_page = format!("{}/addin/", settings.base.as_str());
    let mut manifest = json!({
        "$schema": UNIFIED_SCHEMA,
        "manifestVersion": "1.17",
        "id": settings.unified_id.to_string(),
        "version": env!("CARGO_PKG_VERSION"),
        "name": {"short": outlook.name.da, "full": outlook.name.da},
        "description": {"short": short(&outlook.description.da), "full": format!("{} {}", outlook.description.da, word.description.da)},
        "developer": {
            "name": outlook.provider,
            "websiteUrl": start_page,
            "privacyUrl": start_page,
            "termsOfUseUrl": start_page,
        },
        // Files beside the manifest in the app package (see addin-manifest/README.md).
        "icons": {"outline": OUTLINE_ICON, "color": COLOR_ICON},
        "accentColor": "#FFFFFF",
        "localizationInfo": {"defaultLanguageTag": "da-dk", "additionalLanguages": [{"languageTag": "en-us", "file": "en-us.json"}]},
        "validDomains": [settings.base.authority()],
        "authorization": {"permissions": {"resourceSpecific": [
            {"name": "MailboxItem.ReadWrite.User", "type": "Delegated"},
            {"name": "Document.ReadWrite.User", "type": "Delegated"},
        ]}},
        "extensions": [extension],
    });
    if let Some(api) = &settings.api {
        manifest["webApplicationInfo"] =
            json!({"id": api.client_id.to_string(), "resource": api.app_id_uri});
    }
    let english = json!({
        "$schema": LOCALIZATION_SCHEMA,
        "name.short": outlook.name.en,
        "name.full": outlook.name.en,
        "description.short": short(&outlook.description.en),
        "description.full": format!("{} {}", outlook.description.en, word.description.en),
        "extensions[0].ribbons[0].tabs[0].groups[0].controls[0].label": outlook.resource("ReadButton.Label")?.en,
        "extensions[0].ribbons[1].tabs[0].groups[0].controls[0].label": outlook.resource("ComposeButton.Label")?.en,
        "extensions[0].ribbons[2].tabs[0].groups[0].controls[0].label": word.resource("SaveButton.Label")?.en,
    });
    Ok((manifest, english))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://journaliser.vejstrand.example";

    fn settings(base: &str, addin: &AddinConfig) -> ManifestSettings {
        ManifestSettings::new(PublicUrl::parse(base).unwrap(), addin).unwrap()
    }

    fn rendered(addin: &AddinConfig) -> Manifests {
        Manifests::render(&settings(BASE, addin)).unwrap()
    }

    /// Children of `element`, each named in `order`, in that order; `required` all there.
    fn in_order(element: &Element, order: &[&str], required: &[&str]) {
        let mut last = 0;
        for child in &element.children {
            let position = order
                .iter()
                .position(|name| *name == child.name)
                .unwrap_or_else(|| panic!("<{}> may not hold <{}>", element.name, child.name));
            assert!(
                position >= last,
                "<{}> comes too late in <{}>",
                child.name,
                element.name
            );
            last = position;
        }
        for name in required {
            assert!(
                element.child(name).is_some(),
                "<{}> lacks <{name}>",
                element.name
            );
        }
    }

    fn xsi_type(element: &Element) -> Option<&str> {
        element.attribute("xsi:type")
    }

    /// Calls `visit` with every element and the elements above it.
    fn walk<'a>(
        element: &'a Element,
        above: &mut Vec<&'a Element>,
        visit: &mut impl FnMut(&'a Element, &[&'a Element]),
    ) {
        visit(element, above);
        above.push(element);
        for child in &element.children {
            walk(child, above, visit);
        }
        above.pop();
    }

    /// Every `resid` names a resource of the right kind in its own VersionOverrides (a nested
    /// one inherits nothing), and resource ids, short and long strings keep Office's limits.
    fn resids_resolve(overrides: &Element) {
        let resources = overrides.child("Resources").expect("Resources");
        let group = |name: &str| -> Vec<&Element> {
            resources
                .child(name)
                .map(|g| g.children.iter().collect())
                .unwrap_or_default()
        };
        for (name, limit) in [("bt:ShortStrings", 125), ("bt:LongStrings", 250)] {
            for string in group(name) {
                for value in std::iter::once(string.attribute("DefaultValue").unwrap())
                    .chain(string.children.iter().filter_map(|o| o.attribute("Value")))
                {
                    assert!(
                        value.chars().count() <= limit,
                        "{value:?} is too long for {name}"
                    );
                }
                let locales: Vec<_> = string
                    .children
                    .iter()
                    .filter_map(|o| o.attribute("Locale"))
                    .collect();
                assert_eq!(
                    locales,
                    ["en-US"],
                    "{:?} needs its English override",
                    string.attribute("id")
                );
            }
        }
        let mut check = |element: &Element, above: &[&Element]| {
            // Below a nested VersionOverrides is that one's business.
            if above.iter().skip(1).any(|e| e.name == "VersionOverrides") {
                return;
            }
            if let Some(id) = element
                .attribute("id")
                .filter(|_| element.name.starts_with("bt:"))
            {
                assert!(
                    id.len() <= 32,
                    "resource id {id} is longer than 32 characters"
                );
            }
            let Some(resid) = element.attribute("resid") else {
                return;
            };
            let kind = match element.name.as_str() {
                "bt:Image" => "bt:Images",
                "Label" | "Title" => "bt:ShortStrings",
                "Description" => "bt:LongStrings",
                _ => "bt:Urls",
            };
            assert!(
                group(kind).iter().any(|r| r.attribute("id") == Some(resid)),
                "resid {resid} of <{}> is not among the {kind}",
                element.name
            );
        };
        for child in &overrides.children {
            if child.name != "Resources" && child.name != "VersionOverrides" {
                walk(child, &mut vec![overrides], &mut check);
            }
        }
    }

    /// Every URL the manifest gives Office is HTTPS below the deployment's address.
    fn urls_under_base(root: &Element, base: &str) -> usize {
        let mut count = 0;
        let url_elements = [
            "IconUrl",
            "HighResolutionIconUrl",
            "SupportUrl",
            "SourceLocation",
            "bt:Image",
            "bt:Url",
        ];
        for element in root.descendants() {
            if let Some(url) = element
                .attribute("DefaultValue")
                .filter(|_| url_elements.contains(&element.name.as_str()))
            {
                assert!(
                    url.starts_with(&format!("{base}/")),
                    "{url} is not below {base}"
                );
                count += 1;
            }
        }
        count
    }

    fn root_and_overrides(xml: &str) -> (Element, Element) {
        let root = Element::parse(xml).expect("well-formed");
        let overrides = root
            .child("VersionOverrides")
            .expect("VersionOverrides")
            .clone();
        (root, overrides)
    }

    #[test]
    fn the_outlook_manifest_has_its_parts_in_order() {
        let manifests = rendered(&AddinConfig::default());
        let (root, v1_0) = root_and_overrides(&manifests.outlook);
        assert_eq!(root.name, "OfficeApp");
        assert_eq!(xsi_type(&root), Some("MailApp"));
        in_order(
            &root,
            &[
                "Id",
                "Version",
                "ProviderName",
                "DefaultLocale",
                "DisplayName",
                "Description",
                "IconUrl",
                "HighResolutionIconUrl",
                "SupportUrl",
                "AppDomains",
                "Hosts",
                "Requirements",
                "FormSettings",
                "Permissions",
                "Rule",
                "DisableEntityHighlighting",
                "VersionOverrides",
            ],
            &[
                "Id",
                "Version",
                "ProviderName",
                "DefaultLocale",
                "DisplayName",
                "Description",
                "IconUrl",
                "HighResolutionIconUrl",
                "SupportUrl",
                "Hosts",
                "Requirements",
                "FormSettings",
                "Permissions",
                "Rule",
                "VersionOverrides",
            ],
        );
        assert_eq!(root.child("DefaultLocale").unwrap().text, "da-DK");
        assert_eq!(root.child("Permissions").unwrap().text, "ReadWriteItem");
        let gate = root.at(&["Requirements", "Sets", "Set"]).unwrap();
        assert_eq!(
            (gate.attribute("Name"), gate.attribute("MinVersion")),
            (Some("Mailbox"), Some("1.1"))
        );
        for localised in ["DisplayName", "Description"] {
            let override_ = root.at(&[localised, "Override"]).unwrap();
            assert_eq!(override_.attribute("Locale"), Some("en-US"), "{localised}");
        }

        assert_eq!(xsi_type(&v1_0), Some("VersionOverridesV1_0"));
        in_order(
            &v1_0,
            &[
                "Description",
                "Requirements",
                "Hosts",
                "Resources",
                "VersionOverrides",
            ],
            &["Requirements", "Hosts", "Resources", "VersionOverrides"],
        );
        let v1_1 = v1_0.child("VersionOverrides").unwrap();
        assert_eq!(xsi_type(v1_1), Some("VersionOverridesV1_1"));
        in_order(
            v1_1,
            &[
                "Description",
                "Requirements",
                "Hosts",
                "Resources",
                "WebApplicationInfo",
            ],
            &["Requirements", "Hosts", "Resources"],
        );
        let min = |overrides: &Element| {
            overrides
                .at(&["Requirements", "bt:Sets"])
                .unwrap()
                .attribute("DefaultMinVersion")
                .map(str::to_string)
        };
        assert_eq!(min(&v1_0).as_deref(), Some("1.3"));
        assert_eq!(
            min(v1_1).as_deref(),
            Some("1.5"),
            "kept low: it gates the whole block"
        );

        for overrides in [&v1_0, v1_1] {
            let host = overrides.at(&["Hosts", "Host"]).unwrap();
            in_order(
                host,
                &["Runtimes", "DesktopFormFactor"],
                &["DesktopFormFactor"],
            );
            let form = host.child("DesktopFormFactor").unwrap();
            in_order(
                form,
                &["FunctionFile", "ExtensionPoint"],
                &["FunctionFile", "ExtensionPoint"],
            );
            let surfaces: Vec<_> = form.children.iter().filter_map(xsi_type).collect();
            assert!(
                surfaces
                    .starts_with(&["MessageReadCommandSurface", "MessageComposeCommandSurface"]),
                "{surfaces:?}"
            );
            for element in form.descendants() {
                match element.name.as_str() {
                    "Group" => in_order(element, &["Label", "Control"], &["Label", "Control"]),
                    "Control" => in_order(
                        element,
                        &["Label", "Supertip", "Icon", "Action"],
                        &["Label", "Supertip", "Icon", "Action"],
                    ),
                    "Action" => in_order(
                        element,
                        &["SourceLocation", "SupportsPinning"],
                        &["SourceLocation"],
                    ),
                    _ => {}
                }
            }
            in_order(
                overrides.child("Resources").unwrap(),
                &["bt:Images", "bt:Urls", "bt:ShortStrings", "bt:LongStrings"],
                &["bt:Images", "bt:Urls", "bt:ShortStrings", "bt:LongStrings"],
            );
            resids_resolve(overrides);
        }
        assert!(urls_under_base(&root, BASE) > 10);

        // Pinning and the send event exist only in the 1.1 block.
        let mut seen = Vec::new();
        walk(&root, &mut Vec::new(), &mut |element, above| {
            if matches!(
                element.name.as_str(),
                "SupportsPinning" | "LaunchEvent" | "Runtimes"
            ) {
                let inside_1_1 = above
                    .iter()
                    .any(|e| xsi_type(e) == Some("VersionOverridesV1_1"));
                assert!(
                    inside_1_1,
                    "<{}> outside VersionOverrides 1.1",
                    element.name
                );
                seen.push(element.name.clone());
            }
        });
        assert_eq!(seen, ["Runtimes", "SupportsPinning", "LaunchEvent"]);
        let launch = v1_1
            .descendants()
            .into_iter()
            .find(|e| e.name == "LaunchEvent")
            .unwrap();
        assert_eq!(
            (
                launch.attribute("Type"),
                launch.attribute("SendMode"),
                launch.attribute("FunctionName")
            ),
            (
                Some("OnMessageSend"),
                Some("PromptUser"),
                Some("onMessageSendHandler")
            )
        );
        let pinning = v1_1
            .descendants()
            .into_iter()
            .find(|e| e.name == "SupportsPinning")
            .unwrap();
        assert_eq!(pinning.text, "true");
        assert!(
            !manifests.outlook.contains("WebApplicationInfo"),
            "no API registration configured"
        );
    }

    #[test]
    fn the_word_manifest_has_its_parts_in_order() {
        let manifests = rendered(&AddinConfig::default());
        let (root, overrides) = root_and_overrides(&manifests.word);
        assert_eq!(xsi_type(&root), Some("TaskPaneApp"));
        in_order(
            &root,
            &[
                "Id",
                "Version",
                "ProviderName",
                "DefaultLocale",
                "DisplayName",
                "Description",
                "IconUrl",
                "HighResolutionIconUrl",
                "SupportUrl",
                "AppDomains",
                "Hosts",
                "Requirements",
                "DefaultSettings",
                "Permissions",
                "VersionOverrides",
            ],
            &[
                "Id",
                "Version",
                "ProviderName",
                "DefaultLocale",
                "DisplayName",
                "Description",
                "IconUrl",
                "Hosts",
                "Requirements",
                "DefaultSettings",
                "Permissions",
                "VersionOverrides",
            ],
        );
        assert_eq!(
            root.at(&["Hosts", "Host"]).unwrap().attribute("Name"),
            Some("Document")
        );
        assert_eq!(root.child("Permissions").unwrap().text, "ReadWriteDocument");
        let sets = root.at(&["Requirements", "Sets"]).unwrap();
        assert_eq!(sets.attribute("DefaultMinVersion"), Some("1.1"));
        let word_api = sets.child("Set").unwrap();
        assert_eq!(
            (word_api.attribute("Name"), word_api.attribute("MinVersion")),
            (Some("WordApi"), Some("1.1"))
        );

        assert_eq!(xsi_type(&overrides), Some("VersionOverridesV1_0"));
        in_order(
            &overrides,
            &[
                "Description",
                "Requirements",
                "Hosts",
                "Resources",
                "WebApplicationInfo",
            ],
            &["Hosts", "Resources"],
        );
        let form = overrides
            .at(&["Hosts", "Host", "DesktopFormFactor"])
            .unwrap();
        in_order(
            form,
            &["GetStarted", "FunctionFile", "ExtensionPoint"],
            &["ExtensionPoint"],
        );
        for element in form.descendants() {
            match element.name.as_str() {
                "Group" => in_order(
                    element,
                    &["Label", "Icon", "Control"],
                    &["Label", "Icon", "Control"],
                ),
                "Control" => in_order(
                    element,
                    &["Label", "Supertip", "Icon", "Action"],
                    &["Label", "Supertip", "Icon", "Action"],
                ),
                "Action" => in_order(
                    element,
                    &["TaskpaneId", "SourceLocation", "Title"],
                    &["SourceLocation"],
                ),
                _ => {}
            }
        }
        resids_resolve(&overrides);
        assert!(urls_under_base(&root, BASE) > 5);
        assert!(
            !manifests.word.contains("SupportsPinning"),
            "Word panes cannot be pinned"
        );
    }

    #[test]
    fn ids_are_stable_per_address_and_differ_between_addresses() {
        let addin = AddinConfig::default();
        let first = settings(BASE, &addin);
        let again = settings(&format!("{BASE}/"), &addin);
        assert_eq!(
            (first.outlook_id, first.word_id, first.unified_id),
            (again.outlook_id, again.word_id, again.unified_id)
        );
        assert_eq!(
            rendered(&addin).outlook,
            Manifests::render(&again).unwrap().outlook
        );
        let other = settings("https://journaliser-test.vejstrand.example", &addin);
        let ids = [
            first.outlook_id,
            first.word_id,
            first.unified_id,
            other.outlook_id,
            other.word_id,
            other.unified_id,
        ];
        let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), 6, "{ids:?}");

        let fixed = AddinConfig {
            outlook_id: "0b5f0e84-0a33-4d8e-9f0b-6a3d2c1e0f11".into(),
            ..AddinConfig::default()
        };
        let manifests = rendered(&fixed);
        let root = Element::parse(&manifests.outlook).unwrap();
        assert_eq!(
            root.child("Id").unwrap().text,
            "0b5f0e84-0a33-4d8e-9f0b-6a3d2c1e0f11"
        );
    }

    #[test]
    fn the_unified_manifest_names_the_same_add_ins_and_addresses() {
        let addin = AddinConfig {
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            environment: "test".into(),
            ..AddinConfig::default()
        };
        let settings = settings(BASE, &addin);
        let manifests = Manifests::render(&settings).unwrap();
        let unified: Value = serde_json::from_str(&manifests.unified).unwrap();
        let outlook = Element::parse(&manifests.outlook).unwrap();
        let word = Element::parse(&manifests.word).unwrap();
        let xml_id = |root: &Element| root.child("Id").unwrap().text.clone();

        assert_eq!(unified["id"], settings.unified_id.to_string());
        assert_ne!(
            unified["id"],
            json!(xml_id(&outlook)),
            "the unified manifest needs an id of its own"
        );
        assert_eq!(
            unified["extensions"][0]["alternates"][0]["hide"]["customOfficeAddin"]["officeAddinId"],
            json!(xml_id(&outlook))
        );
        assert_eq!(
            unified["extensions"][0]["alternates"][1]["hide"]["customOfficeAddin"]["officeAddinId"],
            json!(xml_id(&word))
        );
        assert_eq!(
            outlook
                .child("DisplayName")
                .unwrap()
                .attribute("DefaultValue"),
            Some("Journaliser (test)")
        );

        // Every address in the JSON is one the XML manifests give too.
        let xml_urls: Vec<String> = [&outlook, &word]
            .iter()
            .flat_map(|root| root.descendants())
            .filter_map(|e| e.attribute("DefaultValue"))
            .filter(|v| v.starts_with("https://"))
            .map(str::to_string)
            .collect();
        let mut json_urls = Vec::new();
        fn strings(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::String(s) if s.starts_with("https://") && !s.contains("json-schemas") => {
                    out.push(s.clone())
                }
                Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
                Value::Object(fields) => fields.values().for_each(|v| strings(v, out)),
                _ => {}
            }
        }
        strings(&unified, &mut json_urls);
        assert!(json_urls.len() > 10);
        for url in &json_urls {
            assert!(xml_urls.contains(url), "{url} is in the JSON manifest only");
        }
        let event_runtime = &unified["extensions"][0]["runtimes"][1];
        assert_eq!(
            event_runtime["code"]["script"],
            format!("{BASE}/addin/launchevent.js")
        );
        assert_eq!(
            unified["extensions"][0]["autoRunEvents"][0]["events"][0]["options"]["sendMode"],
            "promptUser"
        );
        assert_eq!(
            unified["extensions"][0]["runtimes"][0]["actions"][0]["pinnable"],
            true
        );

        // The API registration, in both forms.
        assert_eq!(
            unified["webApplicationInfo"]["id"],
            "11111111-2222-3333-4444-555555555555"
        );
        let resource = "api://journaliser.vejstrand.example/11111111-2222-3333-4444-555555555555";
        assert_eq!(unified["webApplicationInfo"]["resource"], resource);
        for root in [&outlook, &word] {
            let info = root
                .descendants()
                .into_iter()
                .find(|e| e.name == "WebApplicationInfo")
                .expect("WebApplicationInfo");
            in_order(
                info,
                &["Id", "Resource", "Scopes"],
                &["Id", "Resource", "Scopes"],
            );
            assert_eq!(info.child("Resource").unwrap().text, resource);
        }
        let english: Value = serde_json::from_str(&manifests.unified_en).unwrap();
        assert_eq!(
            english["extensions[0].ribbons[2].tabs[0].groups[0].controls[0].label"],
            "Save to case"
        );
    }

    /// Failures of `instance` against one of Microsoft's vendored schemas, one line each.
    fn schema_errors(schema: &str, instance: &str) -> Vec<String> {
        let schema: Value = serde_json::from_str(schema).unwrap();
        let instance: Value = serde_json::from_str(instance).unwrap();
        let validator = jsonschema::draft4::new(&schema).expect("Microsoft's schema compiles");
        validator
            .iter_errors(&instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    const MANIFEST_SCHEMA: &str =
        include_str!("../../addin-manifest/schemas/MicrosoftTeams.schema.json");
    const LOCALIZATION_SCHEMA: &str =
        include_str!("../../addin-manifest/schemas/MicrosoftTeams.Localization.schema.json");

    #[test]
    fn the_unified_manifest_passes_microsofts_schema() {
        let with_api = AddinConfig {
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            environment: "test".into(),
            ..AddinConfig::default()
        };
        for addin in [AddinConfig::default(), with_api] {
            let manifests = rendered(&addin);
            let unified: Value = serde_json::from_str(&manifests.unified).unwrap();
            assert_eq!(unified["$schema"], UNIFIED_SCHEMA);
            assert!(UNIFIED_SCHEMA.contains(&format!(
                "/v{}/",
                unified["manifestVersion"].as_str().unwrap()
            )));
            let errors = schema_errors(MANIFEST_SCHEMA, &manifests.unified);
            assert!(errors.is_empty(), "manifest.json: {errors:#?}");
            let errors = schema_errors(LOCALIZATION_SCHEMA, &manifests.unified_en);
            assert!(errors.is_empty(), "en-us.json: {errors:#?}");
        }
    }

    /// The schema check is a real one: a manifest that breaks it is refused.
    #[test]
    fn the_schema_refuses_a_broken_manifest() {
        let manifests = rendered(&AddinConfig::default());
        let mut unified: Value = serde_json::from_str(&manifests.unified).unwrap();
        unified["id"] = json!("not a guid");
        unified.as_object_mut().unwrap().remove("icons");
        let errors = schema_errors(MANIFEST_SCHEMA, &unified.to_string());
        assert!(errors.iter().any(|e| e.contains("/id")), "{errors:#?}");
        assert!(errors.iter().any(|e| e.contains("icons")), "{errors:#?}");
    }

    #[test]
    fn the_app_package_holds_the_manifest_and_the_icons_it_names() {
        let manifests = rendered(&AddinConfig::default());
        let mut package = zip::ZipArchive::new(std::io::Cursor::new(manifests.package())).unwrap();
        let mut names: Vec<String> = package.file_names().map(str::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            ["color.png", "en-us.json", "manifest.json", "outline.png"]
        );
        let read = |package: &mut zip::ZipArchive<_>, name: &str| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut package.by_name(name).unwrap(), &mut bytes).unwrap();
            bytes
        };
        let unified: Value = serde_json::from_slice(&read(&mut package, "manifest.json")).unwrap();
        assert_eq!(
            unified.to_string(),
            serde_json::from_str::<Value>(&manifests.unified)
                .unwrap()
                .to_string()
        );
        let language = &unified["localizationInfo"]["additionalLanguages"][0]["file"];
        assert_eq!(
            read(&mut package, language.as_str().unwrap()),
            manifests.unified_en.as_bytes()
        );
        // The sizes the schema asks for: color 192 × 192, outline 32 × 32.
        for (key, size) in [("color", 192), ("outline", 32)] {
            let file = read(&mut package, unified["icons"][key].as_str().unwrap());
            let info = png::Decoder::new(std::io::Cursor::new(file))
                .read_info()
                .unwrap();
            assert_eq!(
                (info.info().width, info.info().height),
                (size, size),
                "{key}"
            );
        }
        let written: Vec<String> = manifests
            .files()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        for size in icons::ASSET_SIZES {
            let path = icons::asset_path(size);
            assert!(written.contains(&path), "{path}");
            assert!(
                manifests
                    .outlook
                    .contains(&format!("{BASE}/addin/{path}\"")),
                "{path}"
            );
        }
        assert!(written.contains(&PACKAGE.to_string()));
    }

    #[test]
    fn values_are_escaped_into_the_xml() {
        let addin = AddinConfig {
            environment: "test & <prøve>".into(),
            ..AddinConfig::default()
        };
        let manifests = rendered(&addin);
        let root = Element::parse(&manifests.outlook).unwrap();
        assert_eq!(
            root.child("DisplayName").unwrap().attribute("DefaultValue"),
            Some("Journaliser (test & <prøve>)")
        );
    }
}
