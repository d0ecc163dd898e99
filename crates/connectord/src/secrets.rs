//! Credentials sealed at rest with `secrets.key`.
//!
//! AES-256-GCM with a random 96-bit nonce. The associated data binds a sealed value to the
//! connection it belongs to, to its purpose and (format 2) to the connection's tenant, so a
//! value copied to another row or column, or left behind on a row moved to another tenant,
//! does not open. The stored form is
//!
//! ```text
//! version (1 byte) | key id (8 bytes) | nonce (12 bytes) | ciphertext and tag
//! ```
//!
//! The key id names the key that sealed a value without revealing it, so that a value sealed
//! with one of `secrets.previous_keys` still opens during a rotation and can be found and
//! resealed with the current key ([`Sealer::needs_reseal`]).
//!
//! Format 1 bound the connection id and the purpose only. Format 2 adds the tenant; it is
//! what [`Sealer::seal`] writes when it is given an [`Owner`] with a tenant. A format 1 value
//! still opens (without a tenant to check), and asks to be sealed again once its tenant is
//! known.

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

/// The format without the tenant in the associated data.
const VERSION_1: u8 = 1;
/// The format with the tenant in the associated data.
const VERSION_2: u8 = 2;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// The block encrypted to derive a key id. Not the zero block: AES of the zero block is
/// GCM's hashing subkey, which must stay secret.
const KEY_ID_BLOCK: [u8; 16] = *b"connectord keyid";

/// Whose a sealed value is; part of the associated data. From a bare connection id it names no
/// tenant, and seals in format 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    pub id: Uuid,
    pub tenant: Option<&'a str>,
}

impl<'a> Owner<'a> {
    /// The connection `id` of tenant `tenant`: seals in format 2.
    pub fn new(id: Uuid, tenant: &'a str) -> Self {
        Self {
            id,
            tenant: Some(tenant),
        }
    }
}

impl From<Uuid> for Owner<'_> {
    fn from(id: Uuid) -> Self {
        Self { id, tenant: None }
    }
}

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
        "the sealed value does not open: it was altered, or it belongs to another connection, \
         purpose or tenant"
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

    /// Seals `secret` for its owner and `purpose` with the current key: in format 2 when the
    /// owner names a tenant, else in format 1.
    pub fn seal<'a>(
        &self,
        owner: impl Into<Owner<'a>>,
        purpose: Purpose,
        secret: &SecretString,
    ) -> Result<Vec<u8>, SealError> {
        let owner = owner.into();
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.push(match owner.tenant {
            Some(_) => VERSION_2,
            None => VERSION_1,
        });
        header.extend_from_slice(&self.current.id);
        header.extend_from_slice(&nonce);
        let aad = associated_data(&header[..1 + KEY_ID_LEN], owner, purpose)?;
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

    /// Opens a value sealed for its owner and `purpose`, with whichever configured key sealed
    /// it. A format 2 value opens only for the tenant it was sealed for (and never for an
    /// owner without one); a format 1 value names no tenant, so any owner's tenant is accepted.
    pub fn open<'a>(
        &self,
        owner: impl Into<Owner<'a>>,
        purpose: Purpose,
        sealed: &[u8],
    ) -> Result<SecretString, SealError> {
        let owner = owner.into();
        let parts = parse(sealed)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == parts.key_id)
            .ok_or_else(|| SealError::UnknownKey(hex(&parts.key_id)))?;
        let aad = associated_data(&sealed[..1 + KEY_ID_LEN], owner, purpose)?;
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
    /// an older key, or cannot be read at all).
    pub fn needs_reseal(&self, sealed: &[u8]) -> bool {
        match parse(sealed) {
            Ok(parts) => parts.key_id != self.current.id,
            Err(_) => true,
        }
    }

    /// Whether a value that belongs to a tenant should be sealed again: with an older key, or
    /// in format 1 (its tenant not bound yet).
    pub fn needs_reseal_for_tenant(&self, sealed: &[u8]) -> bool {
        self.needs_reseal(sealed) || sealed.first() != Some(&VERSION_2)
    }
}

/// The parts of a sealed value.
struct Parts<'a> {
    key_id: [u8; KEY_ID_LEN],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

fn parse(sealed: &[u8]) -> Result<Parts<'_>, SealError> {
    if sealed.len() < HEADER_LEN || !matches!(sealed[0], VERSION_1 | VERSION_2) {
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

/// Version and key id, then the connection id, then the purpose; in format 2 then a zero byte
/// (no purpose label holds one) and the tenant. The version byte comes first, so a value of
/// one format cannot be passed off as the other. A format 2 value and an owner without a
/// tenant do not go together.
fn associated_data(
    version_and_key_id: &[u8],
    owner: Owner<'_>,
    purpose: Purpose,
) -> Result<Vec<u8>, SealError> {
    let tenant = match (version_and_key_id.first(), owner.tenant) {
        (Some(&VERSION_2), Some(tenant)) => Some(tenant),
        (Some(&VERSION_2), None) => return Err(SealError::Unauthentic),
        _ => None,
    };
    let mut aad = Vec::with_capacity(version_and_key_id.len() + 16 + 24 + 129);
    aad.extend_from_slice(version_and_key_id);
    aad.extend_from_slice(owner.id.as_bytes());
    aad.extend_from_slice(purpose.label().as_bytes());
    if let Some(tenant) = tenant {
        aad.push(0);
        aad.extend_from_slice(tenant.as_bytes());
    }
    Ok(aad)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
