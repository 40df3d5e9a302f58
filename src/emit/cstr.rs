//! Bytes as the body of a C string literal, for the ELF object embedded in skeletons.
//!
//! Every byte is escaped (`\0` for zero, `\xNN` otherwise), so no escape can run into the
//! character after it and no quote, backslash or trigraph appears unescaped. Lines are
//! continued with backslash-newline at 78 characters, the way bpftool prints them.

/// The widest line of escapes, excluding the continuation backslash.
const LINE: usize = 78;

/// Appends `bytes` escaped, each line ended by a continuation backslash so that the first
/// line starts right after an opening `"\` line and the last one is followed by the closing
/// quote.
pub fn push_escaped(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // All 256 escapes back to back, 4 chars each ("\0" padded to 4 is never sliced past 2).
    let mut table = [0u8; 1024];
    for (b, e) in table.chunks_exact_mut(4).enumerate() {
        e.copy_from_slice(&[b'\\', b'x', HEX[b >> 4], HEX[b & 15]]);
    }
    table[1] = b'0';
    let Ok(table) = std::str::from_utf8(&table) else {
        return;
    };
    // 4 chars a byte at most, plus a 2-char line break per 19 bytes or more.
    out.reserve(bytes.len() * 4 + bytes.len() / 8 + 2);
    let mut len = 0;
    for &b in bytes {
        let w = if b == 0 { 2 } else { 4 };
        len += w;
        if len > LINE {
            out.push_str("\\\n");
            len = w;
        }
        let at = usize::from(b) * 4;
        out.push_str(&table[at..at + w]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_byte_and_wraps() {
        let mut s = String::new();
        push_escaped(&mut s, b"\0A\"\\?\xff");
        assert_eq!(s, r#"\0\x41\x22\x5c\x3f\xff"#);
        let mut s = String::new();
        push_escaped(&mut s, &[1u8; 40]);
        let lines: Vec<&str> = s.split("\\\n").collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.len() <= LINE));
        assert_eq!(lines.concat().len(), 160);
    }
}
