//! MAPI properties, the vocabulary of Outlook's `.msg` files and of TNEF: the ids read, and
//! values decoded (8-bit strings in the message's code page, FILETIME dates).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

pub(super) mod id {
    pub const SUBJECT: u16 = 0x0037;
    pub const CLIENT_SUBMIT_TIME: u16 = 0x0039;
    pub const SENT_REPRESENTING_NAME: u16 = 0x0042;
    pub const SENT_REPRESENTING_EMAIL: u16 = 0x0065;
    pub const CONVERSATION_TOPIC: u16 = 0x0070;
    pub const CONVERSATION_INDEX: u16 = 0x0071;
    pub const TRANSPORT_HEADERS: u16 = 0x007D;
    pub const RECIPIENT_TYPE: u16 = 0x0C15;
    pub const SENDER_NAME: u16 = 0x0C1A;
    pub const SENDER_ADDRESS_TYPE: u16 = 0x0C1E;
    pub const SENDER_EMAIL: u16 = 0x0C1F;
    pub const DELIVERY_TIME: u16 = 0x0E06;
    pub const BODY: u16 = 0x1000;
    pub const RTF_COMPRESSED: u16 = 0x1009;
    pub const HTML: u16 = 0x1013;
    pub const INTERNET_MESSAGE_ID: u16 = 0x1035;
    pub const INTERNET_REFERENCES: u16 = 0x1039;
    pub const IN_REPLY_TO: u16 = 0x1042;
    pub const DISPLAY_NAME: u16 = 0x3001;
    pub const ADDRESS_TYPE: u16 = 0x3002;
    pub const EMAIL_ADDRESS: u16 = 0x3003;
    pub const ATTACH_DATA: u16 = 0x3701;
    pub const ATTACH_FILENAME: u16 = 0x3704;
    pub const ATTACH_METHOD: u16 = 0x3705;
    pub const ATTACH_LONG_FILENAME: u16 = 0x3707;
    pub const ATTACH_MIME_TAG: u16 = 0x370E;
    pub const ATTACH_CONTENT_ID: u16 = 0x3712;
    pub const SMTP_ADDRESS: u16 = 0x39FE;
    pub const INTERNET_CODEPAGE: u16 = 0x3FDE;
    pub const MESSAGE_LOCALE_ID: u16 = 0x3FF1;
    pub const MESSAGE_CODEPAGE: u16 = 0x3FFD;
    pub const SENDER_SMTP_ADDRESS: u16 = 0x5D01;
    pub const SENT_REPRESENTING_SMTP_ADDRESS: u16 = 0x5D02;
    pub const ATTACHMENT_HIDDEN: u16 = 0x7FFE;
}

pub(super) mod kind {
    pub const INT16: u16 = 0x0002;
    pub const INT32: u16 = 0x0003;
    pub const BOOLEAN: u16 = 0x000B;
    pub const OBJECT: u16 = 0x000D;
    pub const INT64: u16 = 0x0014;
    pub const STRING8: u16 = 0x001E;
    pub const UNICODE: u16 = 0x001F;
    pub const TIME: u16 = 0x0040;
    pub const BINARY: u16 = 0x0102;
}

/// `PidTagAttachMethod` of an attachment that is itself a message.
pub(super) const ATTACH_EMBEDDED_MESSAGE: i64 = 5;

#[derive(Debug, Clone)]
pub(super) enum Value {
    Unicode(String),
    /// An 8-bit string, decoded once the code page is known.
    String8(Vec<u8>),
    Binary(Vec<u8>),
    Int(i64),
    Time(DateTime<Utc>),
}

/// One object's properties (a message, a recipient, an attachment), by property id.
#[derive(Debug, Default)]
pub(super) struct Properties {
    values: HashMap<u16, Value>,
}

impl Properties {
    /// Keeps the first value seen for an id: the form a writer put first is the one it meant.
    pub(super) fn insert(&mut self, id: u16, value: Value) {
        self.values.entry(id).or_insert(value);
    }

    pub(super) fn string(&self, id: u16, codepage: Option<u32>) -> Option<String> {
        let text = match self.values.get(&id)? {
            Value::Unicode(text) => text.clone(),
            Value::String8(bytes) => decode_8bit(bytes, codepage),
            _ => return None,
        };
        let text = text.trim_end_matches('\0').trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// Bytes of a binary property, or of a string property as stored.
    pub(super) fn bytes(&self, id: u16) -> Option<&[u8]> {
        match self.values.get(&id)? {
            Value::Binary(bytes) | Value::String8(bytes) => Some(bytes),
            _ => None,
        }
    }

    pub(super) fn int(&self, id: u16) -> Option<i64> {
        match self.values.get(&id)? {
            Value::Int(value) => Some(*value),
            _ => None,
        }
    }

    pub(super) fn time(&self, id: u16) -> Option<DateTime<Utc>> {
        match self.values.get(&id)? {
            Value::Time(time) => Some(*time),
            _ => None,
        }
    }

    /// The code page 8-bit strings of this message are written in: the one it names, else
    /// the Windows code page of its locale. The Internet code page comes last: it is the
    /// MIME encoding (ISO-2022-JP, say), which Outlook does not store strings in.
    pub(super) fn codepage(&self) -> Option<u32> {
        let named = |id| self.int(id).and_then(|value| u32::try_from(value).ok());
        named(id::MESSAGE_CODEPAGE)
            .or_else(|| named(id::MESSAGE_LOCALE_ID).and_then(locale_codepage))
            .or_else(|| named(id::INTERNET_CODEPAGE))
    }
}

/// A fixed-size value as stored in eight (or fewer) little-endian bytes.
pub(super) fn fixed_value(kind: u16, raw: &[u8]) -> Option<Value> {
    let int = |len: usize| -> Option<i64> {
        let bytes = raw.get(..len)?;
        let mut buffer = [0u8; 8];
        buffer[..len].copy_from_slice(bytes);
        Some(i64::from_le_bytes(buffer))
    };
    match kind {
        kind::INT16 => int(2).map(|v| Value::Int(i64::from(v as i16))),
        kind::INT32 => int(4).map(|v| Value::Int(i64::from(v as i32))),
        kind::BOOLEAN => int(2).map(|v| Value::Int(i64::from(v as u16 != 0))),
        kind::INT64 => int(8).map(Value::Int),
        kind::TIME => int(8).and_then(|v| filetime(v as u64)).map(Value::Time),
        _ => None,
    }
}

/// A variable-size value from its stored bytes.
pub(super) fn variable_value(kind: u16, bytes: &[u8]) -> Option<Value> {
    match kind {
        kind::UNICODE => Some(Value::Unicode(utf16le(bytes))),
        kind::STRING8 => Some(Value::String8(bytes.to_vec())),
        kind::BINARY | kind::OBJECT => Some(Value::Binary(bytes.to_vec())),
        _ => None,
    }
}

pub(super) fn utf16le(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
        .trim_end_matches('\0')
        .to_owned()
}

/// Bytes in a Windows code page; unknown or absent code pages read as Windows-1252, the
/// code page of Danish Outlook.
pub(super) fn decode_8bit(bytes: &[u8], codepage: Option<u32>) -> String {
    let encoding = codepage
        .and_then(|page| u16::try_from(page).ok())
        .and_then(codepage::to_encoding)
        .unwrap_or(encoding_rs::WINDOWS_1252);
    let (text, _, _) = encoding.decode(bytes);
    text.trim_end_matches('\0').to_owned()
}

/// The ANSI code page Windows uses for a locale (LCID), by its primary language.
fn locale_codepage(lcid: u32) -> Option<u32> {
    let codepage = match lcid & 0x3FF {
        0x11 => 932,
        0x04 if lcid == 0x0404 || lcid == 0x0C04 || lcid == 0x1404 => 950,
        0x04 => 936,
        0x12 => 949,
        0x02 | 0x19 | 0x22 | 0x23 | 0x2F => 1251,
        0x05 | 0x0E | 0x15 | 0x18 | 0x1A | 0x1B | 0x24 => 1250,
        0x08 => 1253,
        0x1F => 1254,
        0x0D => 1255,
        0x01 | 0x20 | 0x29 => 1256,
        0x25..=0x27 => 1257,
        0x2A => 1258,
        0x1E => 874,
        0 => return None,
        _ => 1252,
    };
    Some(codepage)
}

/// FILETIME: 100-nanosecond intervals since 1601-01-01; zero and out-of-range mean no date.
fn filetime(value: u64) -> Option<DateTime<Utc>> {
    const SECONDS_1601_TO_1970: i64 = 11_644_473_600;
    if value == 0 {
        return None;
    }
    let seconds = i64::try_from(value / 10_000_000).ok()? - SECONDS_1601_TO_1970;
    let nanos = u32::try_from(value % 10_000_000).ok()? * 100;
    DateTime::from_timestamp(seconds, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decode() {
        let time = fixed_value(kind::TIME, &0x01D5_2A4D_9D2C_0000u64.to_le_bytes()).unwrap();
        let Value::Time(time) = time else {
            panic!("not a time")
        };
        assert_eq!(time.format("%Y").to_string(), "2019");
        assert!(fixed_value(kind::TIME, &[0; 8]).is_none());
        let mut properties = Properties::default();
        properties.insert(id::SUBJECT, Value::String8(b"Bl\xe5 sag\0".to_vec()));
        properties.insert(id::SUBJECT, Value::Unicode("ignored".into()));
        properties.insert(id::MESSAGE_CODEPAGE, Value::Int(1252));
        assert_eq!(
            properties
                .string(id::SUBJECT, properties.codepage())
                .as_deref(),
            Some("Blå sag")
        );
        assert_eq!(utf16le(b"h\0e\0j\0\0\0"), "hej");
        assert_eq!(decode_8bit(b"\x82\xa0", Some(932)), "あ");
        let mut japanese = Properties::default();
        japanese.insert(id::INTERNET_CODEPAGE, Value::Int(50220));
        japanese.insert(id::MESSAGE_LOCALE_ID, Value::Int(1041));
        assert_eq!(japanese.codepage(), Some(932));
        let mut danish = Properties::default();
        danish.insert(id::MESSAGE_LOCALE_ID, Value::Int(1030));
        assert_eq!(danish.codepage(), Some(1252));
    }
}
