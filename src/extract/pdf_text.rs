//! A PDF page's text laid out from where its glyphs land: the content stream's text state,
//! the fonts' widths and encodings (ToUnicode first, then named encodings and `Differences`),
//! and form XObjects. Word and line breaks come from the glyphs' positions, not from the order
//! of the operators alone.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};

/// Forms inside forms are followed this deep; real documents nest two or three.
const MAX_FORM_DEPTH: usize = 8;
/// Operators read per page, forms included: a form drawn a thousand times by a form drawn a
/// thousand times must not multiply without end.
const MAX_OPERATIONS: usize = 5_000_000;
/// A gap wider than this share of the font size between two pieces of text on a line is a
/// space between words (pdftotext's threshold is of the same order).
const WORD_GAP: f64 = 0.12;
/// A baseline that moves more than this share of the font size starts a new line.
const LINE_SHIFT: f64 = 0.5;

/// Reads the pages of one document, keeping each font it has read for the pages after.
pub(super) struct PageReader<'d> {
    reader: Reader<'d>,
}

impl<'d> PageReader<'d> {
    pub(super) fn new(document: &'d Document) -> Self {
        PageReader {
            reader: Reader {
                document,
                layout: Layout::default(),
                budget: MAX_OPERATIONS,
                fonts: HashMap::new(),
            },
        }
    }

    /// The text of `page`, whose content stream (decoded) is `content`.
    pub(super) fn page_text(&mut self, page: ObjectId, content: &[u8]) -> lopdf::Result<String> {
        let document = self.reader.document;
        let fonts: HashMap<Vec<u8>, &Dictionary> =
            document.get_page_fonts(page)?.into_iter().collect();
        let (own, inherited) = document.get_page_resources(page)?;
        let resources: Vec<&Dictionary> = own
            .into_iter()
            .chain(
                inherited
                    .iter()
                    .filter_map(|id| document.get_dictionary(*id).ok()),
            )
            .collect();
        let reader = &mut self.reader;
        reader.layout = Layout::default();
        reader.budget = MAX_OPERATIONS;
        let scope = Scope::new(fonts, xobjects(document, &resources));
        reader.run(content, &scope, IDENTITY, 0)?;
        for (appearance, at) in annotation_appearances(document, page) {
            reader.form(appearance, &translate(at.0, at.1), 0);
        }
        Ok(std::mem::take(&mut reader.layout.text))
    }
}

/// The normal appearance of each visible annotation (form fields' values, text boxes, link
/// labels drawn as forms) and where its rectangle starts.
fn annotation_appearances(document: &Document, page: ObjectId) -> Vec<(ObjectId, (f64, f64))> {
    const HIDDEN: i64 = 0x2;
    fn deref<'d>(document: &'d Document, object: &'d Object) -> Option<&'d Object> {
        document.dereference(object).ok().map(|(_, o)| o)
    }
    let deref = |object| deref(document, object);
    let Some(annotations) = document
        .get_dictionary(page)
        .ok()
        .and_then(|page| page.get(b"Annots").ok())
        .and_then(deref)
        .and_then(|a| a.as_array().ok())
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for annotation in annotations.iter().take(10_000) {
        let Some(Ok(annotation)) = deref(annotation).map(Object::as_dict) else {
            continue;
        };
        let flags = annotation.get(b"F").and_then(Object::as_i64).unwrap_or(0);
        if flags & HIDDEN != 0 {
            continue;
        }
        let Some(normal) = annotation
            .get(b"AP")
            .ok()
            .and_then(deref)
            .and_then(|ap| ap.as_dict().ok())
            .and_then(|ap| ap.get(b"N").ok())
        else {
            continue;
        };
        // Either the appearance itself, or one per state (a check box's on and off).
        let id = match normal {
            Object::Reference(id)
                if !matches!(document.get_object(*id), Ok(Object::Dictionary(_))) =>
            {
                Some(*id)
            }
            other => {
                let state = annotation.get(b"AS").and_then(Object::as_name).ok();
                deref(other)
                    .and_then(|states| states.as_dict().ok())
                    .and_then(|states| states.get(state?).ok())
                    .and_then(|s| s.as_reference().ok())
            }
        };
        let rect = annotation
            .get(b"Rect")
            .ok()
            .and_then(deref)
            .and_then(|r| r.as_array().ok())
            .map(|r| r.iter().filter_map(number).collect::<Vec<_>>())
            .filter(|r| r.len() == 4);
        if let (Some(id), Some(rect)) = (id, rect) {
            found.push((id, (rect[0].min(rect[2]), rect[1].min(rect[3]))));
        }
    }
    found
}

/// Content operations. Some writers put `%` comments in content streams, which lopdf's
/// content parser reads as one comment to the end of the stream; they are removed first.
fn operations(content: &[u8]) -> lopdf::Result<Content> {
    let cleaned;
    let content = if content.contains(&b'%') {
        cleaned = without_comments(content);
        &cleaned
    } else {
        content
    };
    Content::decode(content).or_else(|error| by_text_object(content).ok_or(error))
}

/// A stream lopdf cannot parse whole, parsed a text object at a time: one unparseable
/// operator (an inline image, a writer's own extension) then costs its own text object only.
fn by_text_object(content: &[u8]) -> Option<Content> {
    let mut starts: Vec<usize> = content
        .windows(4)
        .enumerate()
        .filter(|(_, w)| {
            w[0].is_ascii_whitespace() && &w[1..3] == b"BT" && w[3].is_ascii_whitespace()
        })
        .map(|(at, _)| at + 1)
        .collect();
    starts.insert(0, 0);
    starts.push(content.len());
    let mut operations = Vec::new();
    let mut parsed = false;
    for window in starts.windows(2) {
        if let Ok(piece) = Content::decode(&content[window[0]..window[1]]) {
            operations.extend(piece.operations);
            parsed = true;
        }
    }
    parsed.then_some(Content { operations })
}

/// The content with `%` comments removed, leaving string literals alone.
fn without_comments(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    let (mut depth, mut escaped, mut comment) = (0usize, false, false);
    for &byte in content {
        if comment {
            if byte == b'\n' || byte == b'\r' {
                comment = false;
                out.push(byte);
            }
            continue;
        }
        if depth > 0 {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
        } else if byte == b'(' {
            depth = 1;
        } else if byte == b'%' {
            comment = true;
            continue;
        }
        out.push(byte);
    }
    out
}

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `a` then `b`: a point transformed by `a` and then by `b`.
fn multiply(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn translate(x: f64, y: f64) -> Matrix {
    [1.0, 0.0, 0.0, 1.0, x, y]
}

fn number(object: &Object) -> Option<f64> {
    object
        .as_float()
        .ok()
        .map(f64::from)
        .filter(|n| n.is_finite())
}

fn matrix(operands: &[Object]) -> Option<Matrix> {
    let values: Vec<f64> = operands.iter().filter_map(number).collect();
    values.as_slice().try_into().ok()
}

/// The fonts and form XObjects a content stream may name.
struct Scope<'a> {
    fonts: HashMap<Vec<u8>, &'a Dictionary>,
    xobjects: HashMap<Vec<u8>, ObjectId>,
}

impl<'a> Scope<'a> {
    fn new(fonts: HashMap<Vec<u8>, &'a Dictionary>, xobjects: HashMap<Vec<u8>, ObjectId>) -> Self {
        Scope { fonts, xobjects }
    }
}

fn xobjects(document: &Document, resources: &[&Dictionary]) -> HashMap<Vec<u8>, ObjectId> {
    let mut found = HashMap::new();
    for resource in resources {
        let Ok(Object::Dictionary(dict)) = resource
            .get(b"XObject")
            .and_then(|o| document.dereference(o).map(|(_, o)| o))
        else {
            continue;
        };
        for (name, value) in dict.iter() {
            if let Ok(id) = value.as_reference() {
                found.entry(name.clone()).or_insert(id);
            }
        }
    }
    found
}

fn fonts_of<'a>(
    document: &'a Document,
    resources: &'a Dictionary,
) -> HashMap<Vec<u8>, &'a Dictionary> {
    let mut found = HashMap::new();
    if let Ok(Object::Dictionary(dict)) = resources
        .get(b"Font")
        .and_then(|o| document.dereference(o).map(|(_, o)| o))
    {
        for (name, value) in dict.iter() {
            if let Ok((_, Object::Dictionary(font))) = document.dereference(value) {
                found.insert(name.clone(), font);
            }
        }
    }
    found
}

#[derive(Clone)]
struct TextState {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    horizontal_scale: f64,
    leading: f64,
    rise: f64,
}

struct Reader<'d> {
    document: &'d Document,
    layout: Layout,
    /// Operators still to be read on this page.
    budget: usize,
    /// Fonts read so far, by the address of their dictionary in the document.
    fonts: HashMap<*const Dictionary, Rc<Font>>,
}

impl Reader<'_> {
    fn run(
        &mut self,
        content: &[u8],
        scope: &Scope<'_>,
        ctm: Matrix,
        depth: usize,
    ) -> lopdf::Result<()> {
        let content = operations(content)?;
        let mut state = TextState {
            ctm,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            horizontal_scale: 1.0,
            leading: 0.0,
            rise: 0.0,
        };
        let mut saved: Vec<TextState> = Vec::new();
        let (mut tm, mut tlm) = (IDENTITY, IDENTITY);
        for operation in &content.operations {
            if self.budget == 0 {
                break;
            }
            self.budget -= 1;
            let operands = &operation.operands;
            let first = || operands.first().and_then(number).unwrap_or(0.0);
            match operation.operator.as_str() {
                "q" => saved.push(state.clone()),
                "Q" => {
                    if let Some(previous) = saved.pop() {
                        state = previous;
                    }
                }
                "cm" => {
                    if let Some(m) = matrix(operands) {
                        state.ctm = multiply(&m, &state.ctm);
                    }
                }
                "BT" => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                "Td" | "TD" => {
                    let y = operands.get(1).and_then(number).unwrap_or(0.0);
                    if operation.operator == "TD" {
                        state.leading = -y;
                    }
                    tlm = multiply(&translate(first(), y), &tlm);
                    tm = tlm;
                }
                "Tm" => {
                    if let Some(m) = matrix(operands) {
                        tlm = m;
                        tm = m;
                    }
                }
                "T*" => {
                    tlm = multiply(&translate(0.0, -state.leading), &tlm);
                    tm = tlm;
                }
                "Tc" => state.char_spacing = first(),
                "Tw" => state.word_spacing = first(),
                "Tz" => state.horizontal_scale = first() / 100.0,
                "TL" => state.leading = first(),
                "Ts" => state.rise = first(),
                "Tf" => {
                    state.size = operands.get(1).and_then(number).unwrap_or(0.0);
                    let dict = operands
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .and_then(|name| scope.fonts.get(name).copied());
                    state.font = dict.map(|dict| {
                        let document = self.document;
                        self.fonts
                            .entry(dict as *const Dictionary)
                            .or_insert_with(|| Rc::new(Font::read(document, dict)))
                            .clone()
                    });
                }
                "Tj" => {
                    if let Some(Ok(bytes)) = operands.first().map(Object::as_str) {
                        self.show(&state, &mut tm, bytes);
                    }
                }
                "'" | "\"" => {
                    if operation.operator == "\"" {
                        state.word_spacing = first();
                        state.char_spacing = operands.get(1).and_then(number).unwrap_or(0.0);
                    }
                    tlm = multiply(&translate(0.0, -state.leading), &tlm);
                    tm = tlm;
                    if let Some(Ok(bytes)) = operands.last().map(Object::as_str) {
                        self.show(&state, &mut tm, bytes);
                    }
                }
                "TJ" => {
                    let Some(Ok(items)) = operands.first().map(Object::as_array) else {
                        continue;
                    };
                    for item in items {
                        match item {
                            Object::String(bytes, _) => self.show(&state, &mut tm, bytes),
                            other => {
                                if let Some(adjust) = number(other) {
                                    let shift =
                                        -adjust / 1000.0 * state.size * state.horizontal_scale;
                                    tm = multiply(&translate(shift, 0.0), &tm);
                                }
                            }
                        }
                    }
                }
                "Do" if depth < MAX_FORM_DEPTH => {
                    if let Some(id) = operands
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .and_then(|name| scope.xobjects.get(name))
                    {
                        self.form(*id, &state.ctm, depth);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A form XObject's text, drawn with its own resources and matrix.
    fn form(&mut self, id: ObjectId, ctm: &Matrix, depth: usize) {
        let Ok(Object::Stream(stream)) = self.document.get_object(id) else {
            return;
        };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
            return;
        }
        let Ok(content) = stream
            .decompressed_content()
            .or_else(|_| Ok::<_, lopdf::Error>(stream.content.clone()))
        else {
            return;
        };
        if super::pdf_guard::depth(&content) > super::pdf_guard::MAX {
            return;
        }
        let form_matrix = stream
            .dict
            .get(b"Matrix")
            .and_then(Object::as_array)
            .ok()
            .and_then(|m| matrix(m))
            .unwrap_or(IDENTITY);
        let resources = stream
            .dict
            .get(b"Resources")
            .ok()
            .and_then(|o| self.document.dereference(o).ok())
            .and_then(|(_, o)| o.as_dict().ok());
        let scope = match resources {
            Some(resources) => Scope::new(
                fonts_of(self.document, resources),
                xobjects(self.document, &[resources]),
            ),
            None => Scope::new(HashMap::new(), HashMap::new()),
        };
        let ctm = multiply(&form_matrix, ctm);
        let _ = self.run(&content, &scope, ctm, depth + 1);
    }

    /// Places one string: where it starts and ends on the page decides whether a space or a
    /// line break separates it from the text before.
    fn show(&mut self, state: &TextState, tm: &mut Matrix, bytes: &[u8]) {
        let Some(font) = state.font.as_ref() else {
            return;
        };
        let start_matrix = multiply(&multiply(&translate(0.0, state.rise), tm), &state.ctm);
        let scale = (start_matrix[2].powi(2) + start_matrix[3].powi(2)).sqrt() * state.size;
        let mut advance = 0.0;
        for (code, width) in font.codes(bytes) {
            let spacing = if code == 32 && !font.two_byte {
                state.word_spacing
            } else {
                0.0
            };
            advance += (width * state.size + state.char_spacing + spacing) * state.horizontal_scale;
        }
        *tm = multiply(&translate(advance, 0.0), tm);
        let end_matrix = multiply(&multiply(&translate(0.0, state.rise), tm), &state.ctm);
        let text = font.decode(bytes);
        self.layout.add(
            &text,
            (start_matrix[4], start_matrix[5]),
            (end_matrix[4], end_matrix[5]),
            scale,
        );
    }
}

/// The text so far and where its last piece ended.
#[derive(Default)]
struct Layout {
    text: String,
    last_end: Option<(f64, f64)>,
    last_size: f64,
}

impl Layout {
    /// Whether the text so far ends in a lower-case word broken by a hyphen that `next`
    /// goes on with.
    fn hyphenated_before(&self, next: &str) -> bool {
        let mut end = self.text.chars().rev();
        end.next() == Some('-')
            && end.next().is_some_and(char::is_lowercase)
            && next.chars().next().is_some_and(char::is_lowercase)
    }

    fn add(&mut self, piece: &str, start: (f64, f64), end: (f64, f64), size: f64) {
        let piece: String = piece
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        if piece.is_empty() {
            return;
        }
        if let Some((x, y)) = self.last_end {
            let size = size.max(self.last_size).max(1e-6);
            let separated =
                self.text.ends_with(char::is_whitespace) || piece.starts_with(char::is_whitespace);
            if (start.1 - y).abs() > LINE_SHIFT * size {
                if self.hyphenated_before(&piece) {
                    // A word broken over two lines is one word to search for, as in pdftotext.
                    self.text.pop();
                } else {
                    self.text.push('\n');
                }
            } else if !separated && ((start.0 - x) > WORD_GAP * size || (x - start.0) > size) {
                self.text.push(' ');
            }
        }
        self.text.push_str(&piece);
        self.last_end = Some(end);
        self.last_size = size;
    }
}

/// What a content stream needs of a font: how its codes read and how wide they are.
struct Font {
    two_byte: bool,
    encoding: Option<Decoder>,
    /// `Differences` of a simple font, by code.
    differences: HashMap<u8, String>,
    widths: Widths,
}

enum Decoder {
    Unicode(ToUnicode),
    /// A one-byte encoding, by code.
    Table(Vec<String>),
}

impl Decoder {
    fn decode(&self, bytes: &[u8]) -> Option<String> {
        match self {
            Decoder::Unicode(map) => Some(map.decode(bytes)),
            Decoder::Table(table) => Some(
                bytes
                    .iter()
                    .filter_map(|&b| table.get(usize::from(b)))
                    .map(String::as_str)
                    .collect(),
            ),
        }
    }
}

/// A font's ToUnicode CMap: codes of one to four bytes and the text each stands for.
///
/// Read here rather than by lopdf, whose parser refuses CMaps with the PostScript comments
/// and resource headers many producers (TeX among them) write.
struct ToUnicode {
    codes: HashMap<(usize, u32), String>,
    /// The code lengths in use, shortest first.
    lengths: Vec<usize>,
}

/// Ranges wider than this are not expanded (no real font maps more codes).
const MAX_CMAP_CODES: usize = 1 << 17;

impl ToUnicode {
    fn parse(cmap: &[u8]) -> ToUnicode {
        let mut map = ToUnicode {
            codes: HashMap::new(),
            lengths: Vec::new(),
        };
        let tokens = cmap_tokens(cmap);
        let mut i = 0;
        while i < tokens.len() {
            match tokens[i] {
                CmapToken::Word(b"beginbfchar") => {
                    i += 1;
                    while let (Some(CmapToken::Hex(code)), Some(CmapToken::Hex(text))) =
                        (tokens.get(i), tokens.get(i + 1))
                    {
                        map.insert(code, utf16be(text));
                        i += 2;
                    }
                }
                CmapToken::Word(b"beginbfrange") => {
                    i += 1;
                    while let (Some(CmapToken::Hex(low)), Some(CmapToken::Hex(high))) =
                        (tokens.get(i), tokens.get(i + 1))
                    {
                        let (start, end) = (code_value(low), code_value(high));
                        match tokens.get(i + 2) {
                            Some(CmapToken::Hex(first)) => {
                                let mut units = utf16_units(first);
                                for code in
                                    start..=end.min(start.saturating_add(MAX_CMAP_CODES as u32))
                                {
                                    map.insert_code(
                                        low.len(),
                                        code,
                                        String::from_utf16_lossy(&units),
                                    );
                                    if let Some(last) = units.last_mut() {
                                        *last = last.wrapping_add(1);
                                    }
                                }
                                i += 3;
                            }
                            Some(CmapToken::Open) => {
                                let mut code = start;
                                i += 3;
                                while let Some(CmapToken::Hex(text)) = tokens.get(i) {
                                    map.insert_code(low.len(), code, utf16be(text));
                                    code = code.saturating_add(1);
                                    i += 1;
                                }
                                i += 1; // the closing bracket
                            }
                            _ => break,
                        }
                        if map.codes.len() > MAX_CMAP_CODES {
                            break;
                        }
                    }
                }
                _ => i += 1,
            }
        }
        map.lengths.sort_unstable();
        map.lengths.dedup();
        map
    }

    fn insert(&mut self, code: &[u8], text: String) {
        self.insert_code(code.len(), code_value(code), text);
    }

    fn insert_code(&mut self, length: usize, code: u32, text: String) {
        if (1..=4).contains(&length) && self.codes.len() <= MAX_CMAP_CODES {
            self.codes.insert((length, code), text);
            self.lengths.push(length);
        }
    }

    /// Each code read at the shortest length the map knows it by; an unknown code is
    /// skipped at the shortest length in use.
    fn decode(&self, bytes: &[u8]) -> String {
        let mut text = String::new();
        let shortest = self.lengths.first().copied().unwrap_or(1);
        let mut at = 0;
        while at < bytes.len() {
            let found = self.lengths.iter().find_map(|&length| {
                let code = bytes.get(at..at + length)?;
                self.codes
                    .get(&(length, code_value(code)))
                    .map(|t| (length, t))
            });
            match found {
                Some((length, mapped)) => {
                    text.push_str(mapped);
                    at += length;
                }
                None => at += shortest,
            }
        }
        text
    }
}

enum CmapToken<'a> {
    Hex(Vec<u8>),
    Word(&'a [u8]),
    Open,
    Close,
}

fn cmap_tokens(cmap: &[u8]) -> Vec<CmapToken<'_>> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < cmap.len() {
        match cmap[at] {
            b'<' if cmap.get(at + 1) != Some(&b'<') => {
                let end = cmap[at..]
                    .iter()
                    .position(|&b| b == b'>')
                    .map_or(cmap.len(), |e| at + e);
                let digits: Vec<u8> = cmap[at + 1..end]
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_hexdigit)
                    .collect();
                let bytes = digits
                    .chunks(2)
                    .map(|pair| {
                        let text = std::str::from_utf8(pair).unwrap_or("0");
                        let padded = if text.len() == 1 {
                            format!("{text}0")
                        } else {
                            text.to_owned()
                        };
                        u8::from_str_radix(&padded, 16).unwrap_or(0)
                    })
                    .collect();
                tokens.push(CmapToken::Hex(bytes));
                at = end + 1;
            }
            b'[' => {
                tokens.push(CmapToken::Open);
                at += 1;
            }
            b']' => {
                tokens.push(CmapToken::Close);
                at += 1;
            }
            b if b.is_ascii_alphabetic() => {
                let end = cmap[at..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric())
                    .map_or(cmap.len(), |e| at + e);
                tokens.push(CmapToken::Word(&cmap[at..end]));
                at = end;
            }
            _ => at += 1,
        }
    }
    tokens
}

fn code_value(code: &[u8]) -> u32 {
    code.iter()
        .take(4)
        .fold(0, |value, &b| value << 8 | u32::from(b))
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))
        .collect()
}

fn utf16be(bytes: &[u8]) -> String {
    String::from_utf16_lossy(&utf16_units(bytes))
}

enum Widths {
    /// Simple fonts: `FirstChar` and `Widths`, in text space units per font size unit.
    Simple {
        first: u32,
        widths: Vec<f64>,
        missing: f64,
    },
    /// CID fonts: `W` ranges (first code → last code and width) and `DW`.
    Cid {
        ranges: BTreeMap<u32, (u32, f64)>,
        default: f64,
    },
}

impl Font {
    fn read(document: &Document, dict: &Dictionary) -> Font {
        let name = |key: &[u8]| dict.get(key).and_then(Object::as_name).ok();
        let two_byte = name(b"Subtype") == Some(b"Type0");
        let glyph_scale = if name(b"Subtype") == Some(b"Type3") {
            dict.get(b"FontMatrix")
                .and_then(Object::as_array)
                .ok()
                .and_then(|m| m.first())
                .and_then(number)
                .unwrap_or(0.001)
        } else {
            0.001
        };
        let encoding = encoding(document, dict);
        let differences = if dict.get(b"ToUnicode").is_ok() {
            HashMap::new()
        } else {
            differences(document, dict)
        };
        let widths = if two_byte {
            cid_widths(document, dict)
        } else {
            let first = dict
                .get(b"FirstChar")
                .and_then(Object::as_i64)
                .ok()
                .and_then(|f| u32::try_from(f).ok())
                .unwrap_or(0);
            let widths = dict
                .get(b"Widths")
                .ok()
                .and_then(|w| document.dereference(w).ok())
                .and_then(|(_, w)| w.as_array().ok())
                .map(|w| {
                    w.iter()
                        .map(|x| number(x).unwrap_or(0.0) * glyph_scale)
                        .collect()
                })
                .unwrap_or_default();
            let base = name(b"BaseFont").unwrap_or_default();
            let fixed = base.windows(7).any(|w| w.eq_ignore_ascii_case(b"courier"));
            Widths::Simple {
                first,
                widths,
                // Without widths (the standard fonts need none) an average under the usual
                // 0.5 em keeps a string from seeming to run into the next one.
                missing: if fixed { 0.6 } else { 0.45 },
            }
        };
        Font {
            two_byte,
            encoding,
            differences,
            widths,
        }
    }

    /// Each character code of `bytes` with its width per unit of font size.
    fn codes<'b>(&'b self, bytes: &'b [u8]) -> impl Iterator<Item = (u32, f64)> + 'b {
        let step = if self.two_byte { 2 } else { 1 };
        bytes.chunks(step).map(move |chunk| {
            let code = chunk.iter().fold(0u32, |code, &b| code << 8 | u32::from(b));
            let width = match &self.widths {
                Widths::Simple {
                    first,
                    widths,
                    missing,
                } => code
                    .checked_sub(*first)
                    .and_then(|i| widths.get(i as usize))
                    .copied()
                    .filter(|w| *w > 0.0)
                    .unwrap_or(*missing),
                Widths::Cid { ranges, default } => ranges
                    .range(..=code)
                    .next_back()
                    .filter(|(_, (last, _))| code <= *last)
                    .map(|(_, (_, width))| *width)
                    .unwrap_or(*default),
            };
            (code, width)
        })
    }

    fn decode(&self, bytes: &[u8]) -> String {
        if self.differences.is_empty() {
            return self
                .encoding
                .as_ref()
                .and_then(|e| e.decode(bytes))
                .unwrap_or_default();
        }
        let mut text = String::new();
        for &byte in bytes {
            match self.differences.get(&byte) {
                Some(mapped) => text.push_str(mapped),
                None => {
                    if let Some(decoded) = self.encoding.as_ref().and_then(|e| e.decode(&[byte])) {
                        text.push_str(&decoded);
                    }
                }
            }
        }
        text
    }
}

/// ToUnicode when the font has one, else the named (or base) encoding, lopdf's way.
fn encoding(document: &Document, dict: &Dictionary) -> Option<Decoder> {
    if let Ok(Object::Stream(to_unicode)) = dict.get_deref(b"ToUnicode", document) {
        let cmap = to_unicode
            .decompressed_content()
            .unwrap_or_else(|_| to_unicode.content.clone());
        let map = ToUnicode::parse(&without_comments(&cmap));
        if !map.codes.is_empty() {
            return Some(Decoder::Unicode(map));
        }
    }
    let base = match dict.get(b"Encoding").ok().map(|e| document.dereference(e)) {
        Some(Ok((_, Object::Name(name)))) => Some(name.clone()),
        Some(Ok((_, Object::Dictionary(encoding)))) => encoding
            .get(b"BaseEncoding")
            .and_then(Object::as_name)
            .ok()
            .map(<[u8]>::to_vec),
        _ => None,
    };
    let base = base.unwrap_or_else(|| b"StandardEncoding".to_vec());
    let mut probe = Dictionary::new();
    probe.set("Type", Object::Name(b"Font".to_vec()));
    probe.set("Encoding", Object::Name(base));
    let base = probe.get_font_encoding(document).ok()?;
    if matches!(base, Encoding::SimpleEncoding(_)) {
        return None;
    }
    let table = (0..=255u8)
        .map(|byte| base.bytes_to_string(&[byte]).unwrap_or_default())
        .collect();
    Some(Decoder::Table(table))
}

/// `Differences`: codes given glyph names, read as the characters the names stand for.
fn differences(document: &Document, dict: &Dictionary) -> HashMap<u8, String> {
    let mut found = HashMap::new();
    let Some(Ok((_, Object::Dictionary(encoding)))) =
        dict.get(b"Encoding").ok().map(|e| document.dereference(e))
    else {
        return found;
    };
    let Ok(list) = encoding.get(b"Differences").and_then(Object::as_array) else {
        return found;
    };
    let mut code = 0u32;
    for item in list {
        match item {
            Object::Integer(start) => code = u32::try_from(*start).unwrap_or(256),
            Object::Name(name) => {
                if let (Ok(byte), Some(text)) = (u8::try_from(code), glyph_text(name)) {
                    found.insert(byte, text);
                }
                code += 1;
            }
            _ => {}
        }
    }
    found
}

/// The characters a glyph name stands for: `uniXXXX`, `uXXXX`, single letters and digits'
/// names, and the common Latin names; others are unknown.
fn glyph_text(name: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(name).ok()?;
    let base = name.split('.').next().unwrap_or(name);
    if let Some(hex) = base
        .strip_prefix("uni")
        .filter(|h| h.is_ascii() && h.len() >= 4 && h.len() % 4 == 0)
    {
        let units: Option<Vec<u16>> = (0..hex.len())
            .step_by(4)
            .map(|i| u16::from_str_radix(&hex[i..i + 4], 16).ok())
            .collect();
        return String::from_utf16(&units?).ok();
    }
    if let Some(c) = base
        .strip_prefix('u')
        .filter(|h| (4..=6).contains(&h.len()))
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .and_then(char::from_u32)
    {
        return Some(c.to_string());
    }
    if base.len() == 1 && base.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Some(base.to_owned());
    }
    let known = match base {
        "space" | "nbspace" => " ",
        "exclam" => "!",
        "quotedbl" => "\"",
        "numbersign" => "#",
        "dollar" => "$",
        "percent" => "%",
        "ampersand" => "&",
        "quotesingle" | "quoteright" => "’",
        "quoteleft" => "‘",
        "parenleft" => "(",
        "parenright" => ")",
        "asterisk" => "*",
        "plus" => "+",
        "comma" => ",",
        "hyphen" | "minus" | "sfthyphen" => "-",
        "period" => ".",
        "slash" => "/",
        "zero" => "0",
        "one" => "1",
        "two" => "2",
        "three" => "3",
        "four" => "4",
        "five" => "5",
        "six" => "6",
        "seven" => "7",
        "eight" => "8",
        "nine" => "9",
        "colon" => ":",
        "semicolon" => ";",
        "less" => "<",
        "equal" => "=",
        "greater" => ">",
        "question" => "?",
        "at" => "@",
        "bracketleft" => "[",
        "backslash" => "\\",
        "bracketright" => "]",
        "underscore" => "_",
        "braceleft" => "{",
        "bar" => "|",
        "braceright" => "}",
        "quotedblleft" => "“",
        "quotedblright" => "”",
        "endash" => "–",
        "emdash" => "—",
        "bullet" => "•",
        "ellipsis" => "…",
        "fi" => "fi",
        "fl" => "fl",
        "ff" => "ff",
        "ffi" => "ffi",
        "ffl" => "ffl",
        "ae" => "æ",
        "AE" => "Æ",
        "oslash" => "ø",
        "Oslash" => "Ø",
        "aring" => "å",
        "Aring" => "Å",
        "adieresis" => "ä",
        "odieresis" => "ö",
        "udieresis" => "ü",
        "Adieresis" => "Ä",
        "Odieresis" => "Ö",
        "Udieresis" => "Ü",
        "eacute" => "é",
        "Eacute" => "É",
        "egrave" => "è",
        "aacute" => "á",
        "agrave" => "à",
        "ccedilla" => "ç",
        "germandbls" => "ß",
        "section" => "§",
        "alpha" => "α",
        "beta" => "β",
        "gamma" => "γ",
        "delta" => "δ",
        "epsilon" | "epsilon1" => "ε",
        "zeta" => "ζ",
        "eta" => "η",
        "theta" | "theta1" => "θ",
        "iota" => "ι",
        "kappa" => "κ",
        "lambda" => "λ",
        "mu" => "μ",
        "nu" => "ν",
        "xi" => "ξ",
        "omicron" => "ο",
        "pi" => "π",
        "rho" => "ρ",
        "sigma" => "σ",
        "sigma1" => "ς",
        "tau" => "τ",
        "upsilon" => "υ",
        "phi" => "ϕ",
        "phi1" => "φ",
        "chi" => "χ",
        "psi" => "ψ",
        "omega" => "ω",
        "Gamma" => "Γ",
        "Delta" => "Δ",
        "Theta" => "Θ",
        "Lambda" => "Λ",
        "Xi" => "Ξ",
        "Pi" => "Π",
        "Sigma" => "Σ",
        "Phi" => "Φ",
        "Psi" => "Ψ",
        "Omega" => "Ω",
        "degree" => "°",
        "copyright" => "©",
        "registered" => "®",
        _ => return None,
    };
    Some(known.to_owned())
}

fn cid_widths(document: &Document, dict: &Dictionary) -> Widths {
    let descendant = dict
        .get(b"DescendantFonts")
        .ok()
        .and_then(|d| document.dereference(d).ok())
        .and_then(|(_, d)| d.as_array().ok())
        .and_then(|d| d.first())
        .and_then(|d| document.dereference(d).ok())
        .and_then(|(_, d)| d.as_dict().ok());
    let Some(descendant) = descendant else {
        return Widths::Cid {
            ranges: BTreeMap::new(),
            default: 1.0,
        };
    };
    let default = descendant
        .get(b"DW")
        .ok()
        .and_then(number)
        .unwrap_or(1000.0)
        / 1000.0;
    let mut ranges = BTreeMap::new();
    let list = descendant
        .get(b"W")
        .ok()
        .and_then(|w| document.dereference(w).ok())
        .and_then(|(_, w)| w.as_array().ok());
    if let Some(list) = list {
        let mut i = 0;
        while i < list.len() && ranges.len() < 100_000 {
            let start = list[i].as_i64().ok().and_then(|s| u32::try_from(s).ok());
            let Some(start) = start else { break };
            match list.get(i + 1) {
                Some(Object::Array(widths)) => {
                    for (offset, width) in widths.iter().enumerate() {
                        let code = start.saturating_add(offset as u32);
                        ranges.insert(code, (code, number(width).unwrap_or(0.0) / 1000.0));
                    }
                    i += 2;
                }
                Some(end) => {
                    let end = end
                        .as_i64()
                        .ok()
                        .and_then(|e| u32::try_from(e).ok())
                        .unwrap_or(start);
                    let width = list.get(i + 2).and_then(number).unwrap_or(0.0) / 1000.0;
                    ranges.insert(start, (end, width));
                    i += 3;
                }
                None => break,
            }
        }
    }
    Widths::Cid { ranges, default }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_drawing_forms_stop_at_the_budget() {
        use lopdf::{Stream, dictionary};
        let mut document = Document::with_version("1.5");
        let mut inner = None;
        for _ in 0..MAX_FORM_DEPTH + 2 {
            let mut resources = Dictionary::new();
            let mut content = b"BT ET ".to_vec();
            if let Some(id) = inner {
                resources.set("XObject", dictionary! { "X" => Object::Reference(id) });
                content.extend(b"/X Do ".repeat(1000));
            }
            let form = Stream::new(
                dictionary! { "Subtype" => "Form", "Resources" => resources },
                content,
            );
            inner = Some(document.add_object(form));
        }
        let mut reader = Reader {
            document: &document,
            layout: Layout::default(),
            budget: MAX_OPERATIONS,
            fonts: HashMap::new(),
        };
        reader.form(inner.unwrap(), &IDENTITY, 0);
        assert_eq!(reader.budget, 0);
    }

    #[test]
    fn comments_go_and_strings_stay() {
        assert_eq!(
            without_comments(b"BT % start\n(100% \\) sure) Tj %x\nET"),
            b"BT \n(100% \\) sure) Tj \nET"
        );
    }

    #[test]
    fn gaps_become_spaces_and_shifts_new_lines() {
        let mut layout = Layout::default();
        layout.add("Hej", (0.0, 100.0), (15.0, 100.0), 10.0);
        layout.add("med", (15.2, 100.0), (30.0, 100.0), 10.0);
        layout.add("dig", (33.0, 100.0), (45.0, 100.0), 10.0);
        layout.add("Farvel", (0.0, 88.0), (30.0, 88.0), 10.0);
        layout.add("Journali-", (0.0, 76.0), (30.0, 76.0), 10.0);
        layout.add("sering", (0.0, 64.0), (30.0, 64.0), 10.0);
        layout.add("Aarhus-", (0.0, 52.0), (30.0, 52.0), 10.0);
        layout.add("Kommune", (0.0, 40.0), (30.0, 40.0), 10.0);
        assert_eq!(
            layout.text,
            "Hejmed dig\nFarvel\nJournalisering\nAarhus-\nKommune"
        );
    }

    #[test]
    fn to_unicode_maps_read_with_comments_chars_and_ranges() {
        let cmap = ToUnicode::parse(&without_comments(
            b"%!PS-Adobe-3.0 Resource-CMap\n/CIDInit /ProcSet findresource begin\n\
              1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
              2 beginbfchar <0001> <0031> <0002> <00660069> endbfchar\n\
              2 beginbfrange <0010> <0012> <0061> <0020> <0021> [<00E6> <00F8>] endbfrange\n",
        ));
        assert_eq!(
            cmap.decode(&[0, 1, 0, 2, 0, 0x10, 0, 0x12, 0, 0x21, 0x99, 0x99]),
            "1fiacø"
        );
    }

    #[test]
    fn glyph_names_read_as_text() {
        assert_eq!(glyph_text(b"aring").as_deref(), Some("å"));
        assert_eq!(glyph_text(b"uni00F8").as_deref(), Some("ø"));
        assert_eq!(glyph_text(b"u1F600").as_deref(), Some("😀"));
        assert_eq!(glyph_text(b"A.sc").as_deref(), Some("A"));
        assert_eq!(glyph_text(b"g12"), None);
    }
}
