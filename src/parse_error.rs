//! The one error type of the byte-level parsers (`btf`, `elf::object`, `elf::strip`): what is
//! wrong and where, as a byte offset into the file.

use std::fmt;

/// A malformed or unsupported input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the file (parsers of an embedded blob shift it, see `shifted`).
    pub offset: usize,
    pub kind: ParseErrorKind,
}

/// What is wrong. Shown after the offset; a cause from another crate is the error's source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A rule of the format that the bytes break, in words.
    #[error("{0}")]
    Invalid(String),
    /// The `object` crate rejected the file; `what` says what was being read.
    #[error("{what}")]
    Elf {
        what: &'static str,
        #[source]
        cause: object::read::Error,
    },
}

impl ParseError {
    pub(crate) fn at(offset: usize, msg: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            kind: ParseErrorKind::Invalid(msg.into()),
        }
    }

    pub(crate) fn elf(offset: usize, what: &'static str, cause: object::read::Error) -> ParseError {
        ParseError {
            offset,
            kind: ParseErrorKind::Elf { what, cause },
        }
    }

    /// The message with its cause, for callers that keep errors as text.
    pub fn with_cause(&self) -> String {
        match &self.kind {
            ParseErrorKind::Elf { cause, .. } => format!("{self}: {cause}"),
            ParseErrorKind::Invalid(_) => self.to_string(),
        }
    }

    /// The same error, moved by `base` bytes (the blob's position in its file).
    pub fn shifted(mut self, base: usize) -> ParseError {
        self.offset = self.offset.saturating_add(base);
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte offset {}: {}", self.offset, self.kind)
    }
}

// The kind is shown in the message, so the source is the kind's own cause, not the kind.
impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn the_message_names_the_offset_and_the_cause_is_the_source() {
        let e = ParseError::at(12, "bad thing").shifted(100);
        assert_eq!(e.to_string(), "byte offset 112: bad thing");
        assert!(e.source().is_none());
        assert_eq!(e.with_cause(), e.to_string());

        let Err(cause) = object::File::parse(&b"\x7fELF\x02"[..]) else {
            panic!("five bytes parsed as an object file");
        };
        let e = ParseError::elf(0, "malformed ELF", cause);
        assert_eq!(e.to_string(), "byte offset 0: malformed ELF");
        assert_eq!(e.source().map(|s| s.to_string()), Some(cause.to_string()));
        assert_eq!(
            e.with_cause(),
            format!("byte offset 0: malformed ELF: {cause}")
        );
    }
}
