//! The compact binary encoding of protocol messages, and its strict reader.
//!
//! Messages are a type byte, a version byte, then fixed-width little-endian fields and
//! counted arrays of fixed-size elements. There is no self-description and no optional field,
//! so there is exactly one encoding of each message; the reader refuses short input, counts
//! that disagree with the length, and trailing bytes, with a typed error naming the message.
//! Lengths are checked before anything is allocated, so a forged count cannot make a party
//! reserve memory the message does not actually carry.

use crate::error::PsiError;

/// The protocol version written in every message.
pub const VERSION: u8 = 1;

/// Builds a message.
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// Starts a message with its type byte and the version.
    pub(crate) fn new(message_type: u8, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity + 2);
        buf.push(message_type);
        buf.push(VERSION);
        Writer { buf }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// Appends `len` zero bytes and returns them, so large arrays can be filled in parallel.
    pub(crate) fn tail_mut(&mut self, len: usize) -> &mut [u8] {
        let start = self.buf.len();
        self.buf.resize(start + len, 0);
        &mut self.buf[start..]
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads a message strictly.
pub(crate) struct Reader<'a> {
    message: &'static str,
    input: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// Checks the type byte and version, and positions after them.
    pub(crate) fn new(
        message: &'static str,
        message_type: u8,
        input: &'a [u8],
    ) -> Result<Self, PsiError> {
        let mut r = Reader {
            message,
            input,
            offset: 0,
        };
        let found = r.u8()?;
        if found != message_type {
            return Err(PsiError::UnexpectedMessage {
                expected: message,
                found,
            });
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(PsiError::UnsupportedVersion(version));
        }
        Ok(r)
    }

    pub(crate) fn message(&self) -> &'static str {
        self.message
    }

    /// Takes exactly `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], PsiError> {
        let rest = self.input.get(self.offset..).unwrap_or_default();
        let out = rest.get(..n).ok_or_else(|| PsiError::Truncated {
            message: self.message,
            offset: self.offset,
            needed: n.saturating_sub(rest.len()),
        })?;
        self.offset += n;
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, PsiError> {
        Ok(self.take(1)?.first().copied().unwrap_or_default())
    }

    pub(crate) fn u32(&mut self) -> Result<u32, PsiError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], PsiError> {
        let mut b = [0u8; N];
        b.copy_from_slice(self.take(N)?);
        Ok(b)
    }

    /// Takes `count` elements of `size` bytes, after checking the message holds them.
    pub(crate) fn elements(&mut self, count: usize, size: usize) -> Result<&'a [u8], PsiError> {
        let total = count.checked_mul(size).ok_or_else(|| PsiError::BadCount {
            message: self.message,
            reason: format!("count `{count}` overflows"),
        })?;
        self.take(total)
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(self) -> Result<(), PsiError> {
        let extra = self.input.len().saturating_sub(self.offset);
        if extra == 0 {
            Ok(())
        } else {
            Err(PsiError::TrailingBytes {
                message: self.message,
                extra,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_is_strict() {
        let mut w = Writer::new(7, 8);
        w.u32(3);
        w.bytes(&[1, 2, 3]);
        let msg = w.finish();

        let mut r = Reader::new("test", 7, &msg).unwrap();
        assert_eq!(r.u32().unwrap(), 3);
        assert_eq!(r.elements(3, 1).unwrap(), &[1, 2, 3]);
        r.finish().unwrap();

        assert!(matches!(
            Reader::new("test", 8, &msg),
            Err(PsiError::UnexpectedMessage { found: 7, .. })
        ));
        let mut bad_version = msg.clone();
        bad_version[1] = 9;
        assert_eq!(
            Reader::new("test", 7, &bad_version).err(),
            Some(PsiError::UnsupportedVersion(9))
        );
        assert!(matches!(
            Reader::new("test", 7, &[]),
            Err(PsiError::Truncated { .. })
        ));

        let mut r = Reader::new("test", 7, &msg).unwrap();
        r.u32().unwrap();
        assert!(matches!(
            r.elements(4, 1),
            Err(PsiError::Truncated { needed: 1, .. })
        ));
        let mut r = Reader::new("test", 7, &msg).unwrap();
        assert!(matches!(
            r.elements(usize::MAX, 2),
            Err(PsiError::BadCount { .. })
        ));
        let mut r = Reader::new("test", 7, &msg).unwrap();
        r.u32().unwrap();
        assert_eq!(
            r.finish(),
            Err(PsiError::TrailingBytes {
                message: "test",
                extra: 3
            })
        );
    }
}
