//! The Wasm header's names, decided once before anything is laid out by `model::names` with
//! the names the header's surroundings reserve. The header includes `<stdint.h>` and
//! `<stddef.h>`, so kernel typedefs that redefine names from there (`size_t`, `uint64_t`,
//! `bool`, ...) are made transparent: uses print the type they stand for, which has the BPF
//! layout.

use std::borrow::Cow;

use crate::btf::{Btf, Kind};
use crate::model::names::{self, Reserved};

/// Typedef names that `<stdint.h>`, `<stddef.h>` (wasi-libc's too: `time_t`, `suseconds_t`),
/// the compiler (`__builtin_va_list`) or C++ (`bool`) already define. A BTF typedef with one
/// of these names is not emitted; its uses print its target instead. Sorted.
const PROVIDED_TYPEDEFS: &[&str] = &[
    "__builtin_va_list",
    "__gnuc_va_list",
    "bool",
    "char16_t",
    "char32_t",
    "char8_t",
    "int16_t",
    "int32_t",
    "int64_t",
    "int8_t",
    "int_fast16_t",
    "int_fast32_t",
    "int_fast64_t",
    "int_fast8_t",
    "int_least16_t",
    "int_least32_t",
    "int_least64_t",
    "int_least8_t",
    "intmax_t",
    "intptr_t",
    "max_align_t",
    "nullptr_t",
    "ptrdiff_t",
    "rsize_t",
    "size_t",
    "suseconds_t",
    "time_t",
    "uint16_t",
    "uint32_t",
    "uint64_t",
    "uint8_t",
    "uint_fast16_t",
    "uint_fast32_t",
    "uint_fast64_t",
    "uint_fast8_t",
    "uint_least16_t",
    "uint_least32_t",
    "uint_least64_t",
    "uint_least8_t",
    "uintmax_t",
    "uintptr_t",
    "va_list",
    "wchar_t",
    "wint_t",
];

/// Struct tags the compiler or a hosted `<stdint.h>` (wasi-libc's) already defines: a BTF
/// type with one of these names gets a `___N` suffix.
const PROVIDED_TAGS: &[&str] = &["__va_list_tag", "iovec", "timeval", "timespec"];

/// Object-like macros of the included headers (and predefined by clang on common targets),
/// which an enumerator must not be named after. Sorted.
const PROVIDED_MACROS: &[&str] = &[
    "INT16_MAX",
    "INT16_MIN",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "INT8_MAX",
    "INT8_MIN",
    "INTMAX_MAX",
    "INTMAX_MIN",
    "INTPTR_MAX",
    "INTPTR_MIN",
    "NULL",
    "PTRDIFF_MAX",
    "PTRDIFF_MIN",
    "SIG_ATOMIC_MAX",
    "SIG_ATOMIC_MIN",
    "SIZE_MAX",
    "UINT16_MAX",
    "UINT32_MAX",
    "UINT64_MAX",
    "UINT8_MAX",
    "UINTMAX_MAX",
    "UINTPTR_MAX",
    "WCHAR_MAX",
    "WCHAR_MIN",
    "WINT_MAX",
    "WINT_MIN",
    "false",
    "i386",
    "linux",
    "offsetof",
    "static_assert",
    "true",
    "unix",
];

/// C++ keywords that are ordinary identifiers in C. The emitter prints such a name as
/// `__ECC_ID(name, name_)` so that the header also compiles as C++. Sorted.
const CXX_KEYWORDS: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "bitand",
    "bitor",
    "bool",
    "catch",
    "char16_t",
    "char32_t",
    "char8_t",
    "class",
    "co_await",
    "co_return",
    "co_yield",
    "compl",
    "concept",
    "const_cast",
    "consteval",
    "constexpr",
    "constinit",
    "decltype",
    "delete",
    "dynamic_cast",
    "explicit",
    "export",
    "false",
    "friend",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "reinterpret_cast",
    "requires",
    "static_assert",
    "static_cast",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typeid",
    "typename",
    "using",
    "virtual",
    "wchar_t",
    "xor",
    "xor_eq",
];

/// A 1024-bit filter over (first two bytes, last byte, length) of the C++ keywords: it is
/// called for every identifier printed, and almost all of them fail it without a compare.
const fn keyword_hash(b: &[u8]) -> usize {
    let second = if b.len() > 1 { b[1] } else { 0 };
    (b[0] as usize * 131 + second as usize * 17 + b[b.len() - 1] as usize * 31 + b.len() * 7) % 1024
}

const KEYWORD_FILTER: [u64; 16] = {
    let mut mask = [0u64; 16];
    let mut i = 0;
    while i < CXX_KEYWORDS.len() {
        let h = keyword_hash(CXX_KEYWORDS[i].as_bytes());
        mask[h / 64] |= 1 << (h % 64);
        i += 1;
    }
    mask
};

pub fn is_cxx_keyword(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && KEYWORD_FILTER[keyword_hash(b) / 64] & (1 << (keyword_hash(b) % 64)) != 0
        && CXX_KEYWORDS.binary_search(&name).is_ok()
}

/// Names the header's includes, the compiler and C++ already define.
const RESERVED: Reserved<'static> = Reserved {
    typedefs: PROVIDED_TYPEDEFS,
    idents: &[PROVIDED_TYPEDEFS, PROVIDED_MACROS],
    tags: PROVIDED_TAGS,
};

/// The decided names of every type and enumerator of one BTF (`model::names` with the
/// header's reserved names), spelled out.
pub(crate) struct Names<'a> {
    /// Per type id: the BTF name of a struct, union, enum, forward declaration or typedef.
    btf_names: Vec<&'a str>,
    names: names::Names,
}

impl<'a> Names<'a> {
    pub(crate) fn decide(btf: &'a Btf<'_>) -> Names<'a> {
        let mut btf_names = vec![""; btf.type_count() as usize];
        for id in btf.ids() {
            if let Some(
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Typedef | Kind::Fwd,
            ) = btf.kind_of(id)
            {
                if let (Some(slot), Some(t)) = (btf_names.get_mut(id as usize), btf.ty(id)) {
                    *slot = t.name();
                }
            }
        }
        Names {
            btf_names,
            names: names::Names::decide(btf, RESERVED),
        }
    }

    /// The C name of a named struct, union, enum, forward declaration or typedef.
    pub(crate) fn type_name(&self, id: u32) -> Cow<'a, str> {
        let name = self.btf_names.get(id as usize).copied().unwrap_or("");
        suffixed(name, self.names.suffix(id).unwrap_or(0))
    }

    /// Whether typedef `id` is one the header's includes provide (and so is not emitted).
    pub(crate) fn is_provided(&self, id: u32) -> bool {
        self.names.is_transparent(id)
    }

    pub(crate) fn enumerator(&self, enum_id: u32, idx: usize, name: &'a str) -> Cow<'a, str> {
        suffixed(name, self.names.enum_suffix(enum_id, idx).unwrap_or(0))
    }
}

fn suffixed(name: &str, n: u32) -> Cow<'_, str> {
    if n > 1 {
        Cow::Owned(format!("{name}___{n}"))
    } else {
        Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_tables_are_sorted_for_binary_search() {
        for table in [PROVIDED_TYPEDEFS, PROVIDED_MACROS, CXX_KEYWORDS] {
            assert!(table.windows(2).all(|w| w[0] < w[1]), "{table:?}");
        }
        assert!(is_cxx_keyword("class") && is_cxx_keyword("xor") && !is_cxx_keyword("pid"));
    }
}
