//! Danish identifiers: CPR (hashed, masked), CVR (modulus-11), KLE numbers, journal numbers.

mod scan;

pub use scan::{IdentifierPatterns, redact_cpr};

use std::fmt;
use std::hash::Hash;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A CPR number as it may be kept: a keyed hash for matching and the masked form for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CprRef {
    /// Hex HMAC-SHA256 of the ten digits under the installation's key.
    pub hash: String,
    /// `DDMMYY-XXXX`.
    pub masked: String,
}

/// Why a string is not a valid identifier. Messages never repeat the input: it may be a CPR number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("a CPR number is written DDMMYY-SSSS, DDMMYYSSSS or DDMMYY SSSS")]
    CprFormat,
    #[error("a CPR number starts with a valid day (01-31) and month (01-12)")]
    CprDate,
    #[error("a CVR number is eight digits, the first not 0")]
    CvrFormat,
    #[error("the CVR number fails the modulus-11 check")]
    CvrChecksum,
    #[error("a KLE number is written HH.GG.EE")]
    KleFormat,
}

/// A syntactically valid CPR number. It never prints its serial digits, not even in `Debug`.
///
/// The modulus-11 check is not applied: numbers issued since 2007 need not satisfy it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CprNumber([u8; 10]);

impl CprNumber {
    /// Accepts `DDMMYY-SSSS`, `DDMMYYSSSS` and `DDMMYY SSSS`, surrounding whitespace ignored.
    pub fn parse(input: &str) -> Result<CprNumber, IdentifierError> {
        let bytes = input.trim().as_bytes();
        let digits: Vec<u8> = match bytes {
            [date @ .., b'-' | b' ', _, _, _, _] if date.len() == 6 => {
                date.iter().chain(&bytes[7..]).copied().collect()
            }
            _ => bytes.to_vec(),
        };
        let digits: [u8; 10] = digits.try_into().map_err(|_| IdentifierError::CprFormat)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(IdentifierError::CprFormat);
        }
        let day = two_digits(digits[0], digits[1]);
        let month = two_digits(digits[2], digits[3]);
        if !(1..=31).contains(&day) || !(1..=12).contains(&month) {
            return Err(IdentifierError::CprDate);
        }
        Ok(CprNumber(digits))
    }

    /// `DDMMYY-XXXX`: the birth date stays readable, the serial number does not.
    pub fn masked(&self) -> String {
        let date: String = self.0[..6].iter().map(|&d| char::from(d)).collect();
        format!("{date}-XXXX")
    }
}

impl fmt::Debug for CprNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CprNumber").field(&self.masked()).finish()
    }
}

fn two_digits(tens: u8, ones: u8) -> u8 {
    (tens - b'0') * 10 + (ones - b'0')
}

/// Turns CPR numbers into keyed hashes, so equal numbers match without being stored.
#[derive(Clone)]
pub struct CprHasher {
    mac: Hmac<Sha256>,
}

impl CprHasher {
    pub fn new(key: &[u8]) -> CprHasher {
        // HMAC pads or hashes the key, so no key length is invalid.
        let mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
        CprHasher { mac }
    }

    /// Hex HMAC-SHA256 of the ten digits, without separator.
    pub fn hash(&self, cpr: &CprNumber) -> String {
        let mut mac = self.mac.clone();
        mac.update(&cpr.0);
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn reference(&self, cpr: &CprNumber) -> CprRef {
        CprRef {
            hash: self.hash(cpr),
            masked: cpr.masked(),
        }
    }
}

impl fmt::Debug for CprHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CprHasher { key: <redacted> }")
    }
}

/// A company registration number that passed the modulus-11 check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CvrNumber(String);

impl CvrNumber {
    /// Eight digits; whitespace between them (`12 34 56 78`) is allowed.
    pub fn parse(input: &str) -> Result<CvrNumber, IdentifierError> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = digits.as_bytes();
        if bytes.len() != 8 || !bytes.iter().all(u8::is_ascii_digit) || bytes[0] == b'0' {
            return Err(IdentifierError::CvrFormat);
        }
        const WEIGHTS: [u32; 8] = [2, 7, 6, 5, 4, 3, 2, 1];
        let sum: u32 = bytes
            .iter()
            .zip(WEIGHTS)
            .map(|(&d, w)| u32::from(d - b'0') * w)
            .sum();
        if !sum.is_multiple_of(11) {
            return Err(IdentifierError::CvrChecksum);
        }
        Ok(CvrNumber(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CvrNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A KLE subject number, `HH.GG.EE` (main group, group, subject).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KleNumber(String);

impl KleNumber {
    pub fn parse(input: &str) -> Result<KleNumber, IdentifierError> {
        let input = input.trim();
        match input.as_bytes() {
            [a, b, b'.', c, d, b'.', e, f]
                if [a, b, c, d, e, f].iter().all(|x| x.is_ascii_digit()) =>
            {
                Ok(KleNumber(input.to_owned()))
            }
            _ => Err(IdentifierError::KleFormat),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KleNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> CprHasher {
        CprHasher::new(b"test key")
    }

    #[test]
    fn cpr_accepts_the_three_spellings() {
        for input in ["111111-1118", "1111111118", "111111 1118", " 010190-1234 "] {
            assert!(CprNumber::parse(input).is_ok(), "{input}");
        }
        let a = CprNumber::parse("111111-1118");
        assert_eq!(a, CprNumber::parse("1111111118"));
        assert_eq!(a, CprNumber::parse("111111 1118"));
    }

    #[test]
    fn cpr_rejects_bad_shapes_and_dates() {
        for input in [
            "",
            "11111-11118",
            "111111--1118",
            "11111111189",
            "11111a1118",
            "111111/1118",
        ] {
            assert_eq!(
                CprNumber::parse(input),
                Err(IdentifierError::CprFormat),
                "{input}"
            );
        }
        for input in ["001190-1234", "321190-1234", "011390-1234", "010090-1234"] {
            assert_eq!(
                CprNumber::parse(input),
                Err(IdentifierError::CprDate),
                "{input}"
            );
        }
    }

    #[test]
    fn cpr_does_not_require_modulus_11() {
        // 0101901235 fails modulus-11 but is a valid post-2007 number.
        assert!(CprNumber::parse("010190-1235").is_ok());
    }

    #[test]
    fn cpr_debug_and_errors_never_show_serial_digits() {
        let cpr = CprNumber::parse("111111-1118").unwrap();
        assert_eq!(cpr.masked(), "111111-XXXX");
        let debug = format!("{cpr:?}");
        assert!(
            debug.contains("111111-XXXX") && !debug.contains("1118"),
            "{debug}"
        );
        let error = CprNumber::parse("321190-1234").unwrap_err().to_string();
        assert!(!error.contains("1234"), "{error}");
    }

    #[test]
    fn hashing_is_stable_keyed_and_hides_the_key() {
        let cpr = CprNumber::parse("1111111118").unwrap();
        let first = hasher().hash(&cpr);
        assert_eq!(
            first,
            hasher().hash(&CprNumber::parse("111111-1118").unwrap())
        );
        assert_eq!(first.len(), 64);
        assert_ne!(first, CprHasher::new(b"other key").hash(&cpr));
        assert_ne!(
            first,
            hasher().hash(&CprNumber::parse("1111111119").unwrap())
        );
        let reference = hasher().reference(&cpr);
        assert_eq!(
            reference,
            CprRef {
                hash: first,
                masked: "111111-XXXX".into()
            }
        );
        assert!(!format!("{:?}", hasher()).contains("test key"));
    }

    #[test]
    fn cvr_modulus_11() {
        for valid in [
            "29189838",
            "10150817",
            "25313763",
            "55133018",
            "20 75 64 38",
        ] {
            assert!(CvrNumber::parse(valid).is_ok(), "{valid}");
        }
        assert_eq!(
            CvrNumber::parse("29 18 98 38").unwrap().as_str(),
            "29189838"
        );
        assert_eq!(
            CvrNumber::parse("29189839"),
            Err(IdentifierError::CvrChecksum)
        );
        assert_eq!(
            CvrNumber::parse("02918983"),
            Err(IdentifierError::CvrFormat)
        );
        assert_eq!(CvrNumber::parse("2918983"), Err(IdentifierError::CvrFormat));
        assert_eq!(
            CvrNumber::parse("2918983x"),
            Err(IdentifierError::CvrFormat)
        );
    }

    #[test]
    fn kle_numbers() {
        assert_eq!(KleNumber::parse("27.24.00").unwrap().as_str(), "27.24.00");
        for bad in ["27.24.0", "27-24-00", "27.24.000", "a7.24.00", ""] {
            assert_eq!(
                KleNumber::parse(bad),
                Err(IdentifierError::KleFormat),
                "{bad}"
            );
        }
    }
}
