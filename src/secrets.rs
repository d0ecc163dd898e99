//! Credentials sealed at rest with `secrets.key`.
//!
//! AES-256-GCM with a random 96-bit nonce. The associated data binds a sealed value to the
//! connection it belongs to and to its purpose, so a value copied to another row or column
//! does not open. The stored form is
//!
//! ```text
//! version (1 byte) | key id (8 bytes) | nonce (12 bytes) | ciphertext and tag
//! ```
//!
//! The key id names the key that sealed a value without revealing it, so that a value sealed
//! with one of `secrets.previous_keys` still opens during a rotation and can be found and
//! resealed with the current key ([`Sealer::needs_reseal`]).

use std::fmt;

use aes_gcm::{
    AeadCore, Aes256Gcm, KeyInit,
    aead::{Aead, OsRng, Payload},
    aes::{
        Aes256,
        cipher::{BlockEncrypt, generic_array::GenericArray},
    },
};
use secrecy::{ExposeSecret, SecretString, zeroize::Zeroize};
use uuid::Uuid;

use crate::config::{ConfigError, SecretSettings};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// The block encrypted to derive a key id. Not the zero block: AES of the zero block is
/// GCM's hashing subkey, which must stay secret.
const KEY_ID_BLOCK: [u8; 16] = *b"connectord keyid";

/// What a sealed value is for; part of the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    AdminRefreshToken,
    ConsumerSecret,
}

impl Purpose {
    pub fn label(self) -> &'static str {
        match self {
            Self::AdminRefreshToken => "admin_refresh_token",
            Self::ConsumerSecret => "consumer_secret",
        }
    }
}

/// Why a sealed value could not be opened. Never carries any part of the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the sealed value is malformed (too short or an unknown format version)")]
    Malformed,
    #[error(
        "the sealed value was sealed with key {0}, which is neither secrets.key nor one of \
         secrets.previous_keys"
    )]
    UnknownKey(String),
    #[error(
        "the sealed value does not open: it was altered, or it belongs to another connection \
         or purpose"
    )]
    Unauthentic,
    #[error("the value is too large to seal")]
    TooLarge,
}

struct SealingKey {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
}

impl SealingKey {
    fn new(mut bytes: [u8; 32]) -> Self {
        let key = GenericArray::from_slice(&bytes);
        let mut block = GenericArray::clone_from_slice(&KEY_ID_BLOCK);
        Aes256::new(key).encrypt_block(&mut block);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&block[..KEY_ID_LEN]);
        let cipher = Aes256Gcm::new(key);
        bytes.zeroize();
        Self { id, cipher }
    }
}

/// Seals and opens credentials with the current key; opens with previous keys too.
pub struct Sealer {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("key_id", &hex(&self.current.id))
            .field(
                "previous_key_ids",
                &self.previous.iter().map(|k| hex(&k.id)).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Sealer {
    /// A sealer from raw keys; `previous` may still open what they sealed.
    pub fn new(key: [u8; 32], previous: impl IntoIterator<Item = [u8; 32]>) -> Self {
        Self {
            current: SealingKey::new(key),
            previous: previous.into_iter().map(SealingKey::new).collect(),
        }
    }

    /// The sealer configured by `secrets.key` and `secrets.previous_keys`.
    pub fn from_settings(settings: &SecretSettings) -> Result<Self, ConfigError> {
        Ok(Self::new(settings.key()?, settings.previous_keys()?))
    }

    /// The hex id of the current key (what `connection_secrets.key_id` holds).
    pub fn key_id(&self) -> String {
        hex(&self.current.id)
    }

    /// Seals `secret` for connection `id` and `purpose` with the current key.
    pub fn seal(
        &self,
        id: Uuid,
        purpose: Purpose,
        secret: &SecretString,
    ) -> Result<Vec<u8>, SealError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.push(VERSION);
        header.extend_from_slice(&self.current.id);
        header.extend_from_slice(&nonce);
        let aad = associated_data(&header[..1 + KEY_ID_LEN], id, purpose);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::TooLarge)?;
        header.extend_from_slice(&ciphertext);
        Ok(header)
    }

    /// Opens a value sealed for connection `id` and `purpose`, with whichever configured key
    /// sealed it.
    pub fn open(
        &self,
        id: Uuid,
        purpose: Purpose,
        sealed: &[u8],
    ) -> Result<SecretString, SealError> {
        let parts = parse(sealed)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == parts.key_id)
            .ok_or_else(|| SealError::UnknownKey(hex(&parts.key_id)))?;
        let aad = associated_data(&sealed[..1 + KEY_ID_LEN], id, purpose);
        let mut plaintext = key
            .cipher
            .decrypt(
                GenericArray::from_slice(parts.nonce),
                Payload {
                    msg: parts.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Unauthentic)?;
        match String::from_utf8(std::mem::take(&mut plaintext)) {
            Ok(text) => Ok(SecretString::from(text)),
            Err(error) => {
                error.into_bytes().zeroize();
                Err(SealError::Unauthentic)
            }
        }
    }

    /// Whether a sealed value should be sealed again with the current key (it was sealed with
    /// an older key or format, or cannot be read at all).
    pub fn needs_reseal(&self, sealed: &[u8]) -> bool {
        match parse(sealed) {
            Ok(parts) => parts.key_id != self.current.id,
            Err(_) => true,
        }
    }
}

/// The parts of a sealed value.
struct Parts<'a> {
    key_id: [u8; KEY_ID_LEN],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

fn parse(sealed: &[u8]) -> Result<Parts<'_>, SealError> {
    if sealed.len() < HEADER_LEN || sealed[0] != VERSION {
        return Err(SealError::Malformed);
    }
    let mut key_id = [0u8; KEY_ID_LEN];
    key_id.copy_from_slice(&sealed[1..1 + KEY_ID_LEN]);
    Ok(Parts {
        key_id,
        nonce: &sealed[1 + KEY_ID_LEN..HEADER_LEN],
        ciphertext: &sealed[HEADER_LEN..],
    })
}

/// Version and key id, then the connection id, then the purpose.
fn associated_data(version_and_key_id: &[u8], id: Uuid, purpose: Purpose) -> Vec<u8> {
    let mut aad = Vec::with_capacity(version_and_key_id.len() + 16 + 24);
    aad.extend_from_slice(version_and_key_id);
    aad.extend_from_slice(id.as_bytes());
    aad.extend_from_slice(purpose.label().as_bytes());
    aad
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJ.plaintext";

    fn token() -> SecretString {
        SecretString::from(TOKEN)
    }

    fn sealer(byte: u8) -> Sealer {
        Sealer::new([byte; 32], [])
    }

    #[test]
    fn a_sealed_value_opens_to_the_original() {
        let sealer = sealer(1);
        let id = Uuid::new_v4();
        let sealed = sealer
            .seal(id, Purpose::AdminRefreshToken, &token())
            .unwrap();
        let opened = sealer
            .open(id, Purpose::AdminRefreshToken, &sealed)
            .unwrap();
        assert_eq!(opened.expose_secret(), TOKEN);
    }

    #[test]
    fn the_sealed_form_contains_no_plaintext_and_differs_each_time() {
        let sealer = sealer(1);
        let id = Uuid::new_v4();
        let a = sealer
            .seal(id, Purpose::AdminRefreshToken, &token())
            .unwrap();
        let b = sealer
            .seal(id, Purpose::AdminRefreshToken, &token())
            .unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(
            !a.windows(8)
                .any(|w| TOKEN.as_bytes().windows(8).any(|t| t == w))
        );
        assert_eq!(a[0], VERSION);
        assert_eq!(hex(&a[1..9]), sealer.key_id());
    }

    #[test]
    fn a_different_key_does_not_open_it() {
        let id = Uuid::new_v4();
        let sealed = sealer(1)
            .seal(id, Purpose::AdminRefreshToken, &token())
            .unwrap();
        let error = sealer(2)
            .open(id, Purpose::AdminRefreshToken, &sealed)
            .unwrap_err();
        assert!(matches!(error, SealError::UnknownKey(_)), "{error:?}");
    }

    #[test]
    fn a_forged_key_id_does_not_open_it_either() {
        let id = Uuid::new_v4();
        let mut sealed = sealer(1)
            .seal(id, Purpose::AdminRefreshToken, &token())
            .unwrap();
        let other = sealer(2);
        sealed[1..9].copy_from_slice(&other.current.id);
        let error = other
            .open(id, Purpose::AdminRefreshToken, &sealed)
            .unwrap_err();
        assert_eq!(error, SealError::Unauthentic);
    }

    #[test]
    fn a_value_moved_to_another_connection_does_not_open() {
        let sealer = sealer(1);
        let sealed = sealer
            .seal(Uuid::new_v4(), Purpose::AdminRefreshToken, &token())
            .unwrap();
        let error = sealer
            .open(Uuid::new_v4(), Purpose::AdminRefreshToken, &sealed)
            .unwrap_err();
        assert_eq!(error, SealError::Unauthentic);
    }

    #[test]
    fn a_value_moved_to_another_purpose_does_not_open() {
        let sealer = sealer(1);
        let id = Uuid::new_v4();
        let sealed = sealer
            .seal(id, Purpose::AdminRefreshToken, &token())
            .unwrap();
        let error = sealer
            .open(id, Purpose::ConsumerSecret, &sealed)
            .unwrap_err();
        assert_eq!(error, SealError::Unauthentic);
    }

    #[test]
    fn any_altered_byte_is_detected() {
        let sealer = sealer(1);
        let id = Uuid::new_v4();
        let sealed = sealer.seal(id, Purpose::ConsumerSecret, &token()).unwrap();
        for index in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[index] ^= 0x01;
            assert!(
                sealer.open(id, Purpose::ConsumerSecret, &tampered).is_err(),
                "flipping byte {index} went unnoticed"
            );
        }
    }

    #[test]
    fn truncated_or_unknown_formats_are_malformed() {
        let sealer = sealer(1);
        let id = Uuid::new_v4();
        assert_eq!(
            sealer.open(id, Purpose::ConsumerSecret, &[]).unwrap_err(),
            SealError::Malformed
        );
        let mut sealed = sealer.seal(id, Purpose::ConsumerSecret, &token()).unwrap();
        sealed[0] = 9;
        assert_eq!(
            sealer
                .open(id, Purpose::ConsumerSecret, &sealed)
                .unwrap_err(),
            SealError::Malformed
        );
    }

    #[test]
    fn a_previous_key_still_opens_and_asks_for_a_reseal() {
        let id = Uuid::new_v4();
        let old = sealer(1);
        let sealed = old.seal(id, Purpose::AdminRefreshToken, &token()).unwrap();
        let rotated = Sealer::new([2; 32], [[1; 32]]);
        assert!(rotated.needs_reseal(&sealed));
        assert!(!old.needs_reseal(&sealed));
        let opened = rotated
            .open(id, Purpose::AdminRefreshToken, &sealed)
            .unwrap();
        assert_eq!(opened.expose_secret(), TOKEN);
        let resealed = rotated
            .seal(id, Purpose::AdminRefreshToken, &opened)
            .unwrap();
        assert!(!rotated.needs_reseal(&resealed));
    }

    #[test]
    fn debug_shows_key_ids_and_nothing_secret() {
        let sealer = Sealer::new([7; 32], [[8; 32]]);
        let shown = format!("{sealer:?}");
        assert!(shown.contains(&sealer.key_id()), "{shown}");
        assert!(!shown.contains("7, 7"), "{shown}");
        assert!(!shown.contains("0707"), "{shown}");
    }

    #[test]
    fn key_ids_differ_between_keys_and_are_stable() {
        assert_eq!(sealer(1).key_id(), sealer(1).key_id());
        assert_ne!(sealer(1).key_id(), sealer(2).key_id());
        assert_eq!(sealer(1).key_id().len(), 16);
    }
}
