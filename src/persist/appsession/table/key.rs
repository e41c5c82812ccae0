//! The cache key: a session id stored inline up to [`INLINE`] bytes, on the heap beyond.
//!
//! Session ids are short: ASP.NET's are 24 characters, PHP's 26 or 32, Tomcat's JSESSIONID
//! 32 hex characters plus an optional `.jvmRoute`. Kept inline, such an id costs no
//! allocation (no 48-byte malloc chunk for a 32-byte id) and no pointer to chase when a
//! lookup compares it. Measured at 10^6 entries of 32-byte ids (RSS delta per entry):
//! `Box<[u8]>` 107 B, inline up to 54 bytes 101 B (every slab slot grows to 88 B, ghosts'
//! too), inline up to 38 bytes 84 B (72-byte slots). Longer ids (up to `len`, 52 by
//! default) go to the heap and cost about 146 B per entry.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// Longest id stored inline: with the tag and length byte the key is 40 bytes.
pub(super) const INLINE: usize = 38;

/// A session id owned by the table.
#[derive(Clone)]
pub(super) enum SessionKey {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl SessionKey {
    pub(super) fn new(id: &[u8]) -> Self {
        let mut bytes = [0u8; INLINE];
        match (bytes.get_mut(..id.len()), u8::try_from(id.len())) {
            (Some(prefix), Ok(len)) => {
                prefix.copy_from_slice(id);
                SessionKey::Inline { len, bytes }
            }
            _ => SessionKey::Heap(Box::from(id)),
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            SessionKey::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or(bytes),
            SessionKey::Heap(bytes) => bytes,
        }
    }
}

// Hash and equality are those of the bytes, so that `&[u8]` finds a key (the `Borrow`
// contract that quick_cache's lookups by `&[u8]` rely on).
impl Hash for SessionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SessionKey {}

impl Borrow<[u8]> for SessionKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::{SessionKey, INLINE};

    #[test]
    fn inline_up_to_the_limit_then_heap_with_the_same_bytes_and_hash() {
        let hasher = std::collections::hash_map::RandomState::new();
        for len in [0, 1, 32, INLINE, INLINE + 1, 300] {
            let id: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let key = SessionKey::new(&id);
            assert_eq!(
                matches!(key, SessionKey::Inline { .. }),
                len <= INLINE,
                "{len}"
            );
            assert_eq!(key.as_bytes(), &id[..]);
            assert_eq!(hasher.hash_one(&key), hasher.hash_one(&id[..]));
        }
        assert_eq!(std::mem::size_of::<SessionKey>(), 40);
        assert!(SessionKey::new(b"ab") != SessionKey::new(b"ab\0"));
    }
}
