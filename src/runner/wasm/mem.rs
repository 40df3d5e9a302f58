//! Guest memory checks: every pointer and length a guest passes is a range in its linear
//! memory, checked here before any byte is read or written. A bad range is an errno for the
//! guest, never a host fault.

use std::ops::Range;

/// The longest NUL-terminated string (map, program, interface, cgroup path) read from a guest.
pub const MAX_STR: usize = 4096;

/// `[ptr, ptr + len)` within a memory of `mem_len` bytes. Guest pointers are unsigned 32-bit
/// addresses; a negative length is `-EINVAL`, a range past the end `-EFAULT`.
pub fn range(mem_len: usize, ptr: i32, len: i32) -> Result<Range<usize>, i32> {
    let len = usize::try_from(len).map_err(|_| -libc::EINVAL)?;
    let start = ptr as u32 as usize;
    let end = start.checked_add(len).ok_or(-libc::EFAULT)?;
    if end > mem_len {
        return Err(-libc::EFAULT);
    }
    Ok(start..end)
}

/// Like `range` for a size the host knows (a map's key or value size).
pub fn sized(mem_len: usize, ptr: i32, len: usize) -> Result<Range<usize>, i32> {
    let len = i32::try_from(len).map_err(|_| -libc::EINVAL)?;
    range(mem_len, ptr, len)
}

/// The NUL-terminated UTF-8 string at `ptr`: `-EFAULT` for a null or out-of-range pointer,
/// `-EINVAL` when no NUL comes within `MAX_STR` bytes or the bytes are not UTF-8.
pub fn cstr(mem: &[u8], ptr: i32) -> Result<String, i32> {
    let start = ptr as u32 as usize;
    if ptr == 0 || start >= mem.len() {
        return Err(-libc::EFAULT);
    }
    let window = &mem[start..mem.len().min(start + MAX_STR)];
    let n = window.iter().position(|&b| b == 0).ok_or(-libc::EINVAL)?;
    String::from_utf8(window[..n].to_vec()).map_err(|_| -libc::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_inside_memory_only() {
        assert_eq!(range(100, 10, 20), Ok(10..30));
        assert_eq!(range(100, 90, 10), Ok(90..100));
        assert_eq!(range(100, 0, 0), Ok(0..0));
        assert_eq!(range(100, 91, 10), Err(-libc::EFAULT));
        assert_eq!(range(100, -1, 1), Err(-libc::EFAULT));
        assert_eq!(range(100, 0, -1), Err(-libc::EINVAL));
        assert_eq!(sized(8, 4, 4), Ok(4..8));
        assert_eq!(sized(8, 4, 5), Err(-libc::EFAULT));
        assert_eq!(sized(8, 0, usize::MAX), Err(-libc::EINVAL));
    }

    #[test]
    fn strings_end_inside_memory() {
        let mut mem = b"\0abc\0xyz".to_vec();
        assert_eq!(cstr(&mem, 1), Ok("abc".into()));
        assert_eq!(cstr(&mem, 4), Ok(String::new()));
        assert_eq!(cstr(&mem, 0), Err(-libc::EFAULT));
        assert_eq!(cstr(&mem, 5), Err(-libc::EINVAL));
        assert_eq!(cstr(&mem, 8), Err(-libc::EFAULT));
        assert_eq!(cstr(&mem, -4), Err(-libc::EFAULT));
        mem[2] = 0xff;
        assert_eq!(cstr(&mem, 1), Err(-libc::EINVAL));
        let long = vec![b'a'; MAX_STR + 10];
        assert_eq!(cstr(&long, 1), Err(-libc::EINVAL));
    }
}
