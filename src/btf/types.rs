//! Borrowed views of validated BTF records. Offsets and ids were checked in `Btf::parse`,
//! so the accessors here index the record slices directly.
// Entry offsets are an index below vlen (at most 0xffff) times a stride of at most 12 bytes.
#![allow(clippy::arithmetic_side_effects)]

use super::wire::{u32_at, Kind, TYPE_HEADER_LEN};
use super::Btf;

/// One BTF type record, borrowed from its blob.
#[derive(Clone, Copy)]
pub struct Ty<'a> {
    pub id: u32,
    btf: &'a Btf<'a>,
    rec: &'a [u8],
}

const VOID_REC: [u8; TYPE_HEADER_LEN] = [0; TYPE_HEADER_LEN];

impl std::fmt::Debug for Ty<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {} '{}'",
            self.id,
            self.kind().raw_name(),
            self.name()
        )
    }
}

impl<'a> Ty<'a> {
    pub(super) fn new(id: u32, btf: &'a Btf<'a>, rec: &'a [u8]) -> Ty<'a> {
        Ty { id, btf, rec }
    }

    pub(super) fn void(btf: &'a Btf<'a>) -> Ty<'a> {
        Ty {
            id: 0,
            btf,
            rec: &VOID_REC,
        }
    }

    fn word(&self, i: usize) -> u32 {
        u32_at(self.rec, i * 4)
    }

    fn info(&self) -> u32 {
        self.word(1)
    }

    pub fn kind(&self) -> Kind {
        Kind::from_raw((self.info() >> 24) & 0x1f).unwrap_or(Kind::Void)
    }

    pub fn name_off(&self) -> u32 {
        self.word(0)
    }

    /// The type's name; "" when anonymous.
    pub fn name(&self) -> &'a str {
        self.btf.str_at(self.name_off()).unwrap_or("")
    }

    /// Whether the type has a name, without reading it.
    pub fn is_named(&self) -> bool {
        self.btf.is_nonempty_str(self.name_off())
    }

    pub fn vlen(&self) -> usize {
        (self.info() & 0xffff) as usize
    }

    pub fn kind_flag(&self) -> bool {
        self.info() >> 31 != 0
    }

    /// The size word (INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC).
    pub fn size(&self) -> u32 {
        self.word(2)
    }

    /// The referenced type (PTR, TYPEDEF, modifiers, FUNC, FUNC_PROTO's return, VAR, tags).
    pub fn type_id(&self) -> u32 {
        self.word(2)
    }

    /// The blob that owns this record (the base, for base ids of split BTF).
    pub fn btf(&self) -> &'a Btf<'a> {
        self.btf
    }

    fn tail(&self) -> &'a [u8] {
        &self.rec[TYPE_HEADER_LEN..]
    }

    fn tail_word(&self, i: usize) -> u32 {
        u32_at(self.tail(), i * 4)
    }

    pub fn int(&self) -> Option<IntInfo> {
        (self.kind() == Kind::Int).then(|| {
            let v = self.tail_word(0);
            IntInfo {
                encoding: ((v >> 24) & 0xf) as u8,
                offset: ((v >> 16) & 0xff) as u8,
                bits: (v & 0xff) as u8,
            }
        })
    }

    pub fn array(&self) -> Option<ArrayInfo> {
        (self.kind() == Kind::Array).then(|| ArrayInfo {
            elem: self.tail_word(0),
            index: self.tail_word(1),
            nelems: self.tail_word(2),
        })
    }

    /// Members of a STRUCT or UNION (empty for other kinds).
    pub fn members(&self) -> impl ExactSizeIterator<Item = Member<'a>> + 'a {
        let (btf, tail) = (self.btf, self.tail());
        self.member_layout().enumerate().map(move |(i, m)| Member {
            name: btf.str_at(u32_at(tail, i * 12)).unwrap_or(""),
            type_id: m.type_id,
            bit_offset: m.bit_offset,
            bitfield_size: m.bitfield_size,
        })
    }

    /// Member type ids and offsets without resolving names, for hot loops.
    pub fn member_layout(&self) -> impl ExactSizeIterator<Item = MemberLayout> + 'a {
        let n = if matches!(self.kind(), Kind::Struct | Kind::Union) {
            self.vlen()
        } else {
            0
        };
        let (tail, bitfields) = (self.tail(), self.kind_flag());
        (0..n).map(move |i| {
            let off = u32_at(tail, i * 12 + 8);
            let (bit_offset, bitfield_size) = if bitfields {
                (off & 0x00ff_ffff, (off >> 24) as u8)
            } else {
                (off, 0)
            };
            MemberLayout {
                type_id: u32_at(tail, i * 12 + 4),
                bit_offset,
                bitfield_size,
            }
        })
    }

    /// FUNC_PROTO parameter type ids without names.
    pub fn param_types(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        let n = if self.kind() == Kind::FuncProto {
            self.vlen()
        } else {
            0
        };
        let tail = self.tail();
        (0..n).map(move |i| u32_at(tail, i * 8 + 4))
    }

    /// Enumerators of an ENUM or ENUM64, widened to 64 bits.
    pub fn enum_values(&self) -> impl ExactSizeIterator<Item = EnumValue<'a>> + 'a {
        let t = *self;
        (0..t.enum_count()).map(move |i| t.enum_at(i))
    }

    /// Enumerator `i` of an ENUM or ENUM64; `None` past the last.
    pub fn enum_value(&self, i: usize) -> Option<EnumValue<'a>> {
        (i < self.enum_count()).then(|| self.enum_at(i))
    }

    fn enum_count(&self) -> usize {
        match self.kind() {
            Kind::Enum | Kind::Enum64 => self.vlen(),
            _ => 0,
        }
    }

    /// Enumerator `i`, which must be below `enum_count`.
    fn enum_at(&self, i: usize) -> EnumValue<'a> {
        let (tail, signed) = (self.tail(), self.kind_flag());
        let (name_off, bits) = if self.kind() == Kind::Enum64 {
            let lo = u64::from(u32_at(tail, i * 12 + 4));
            let hi = u64::from(u32_at(tail, i * 12 + 8));
            (u32_at(tail, i * 12), hi << 32 | lo)
        } else {
            let v = u32_at(tail, i * 8 + 4);
            let wide = if signed {
                i64::from(v as i32) as u64
            } else {
                u64::from(v)
            };
            (u32_at(tail, i * 8), wide)
        };
        EnumValue {
            name: self.btf.str_at(name_off).unwrap_or(""),
            bits,
            signed,
        }
    }

    /// Parameters of a FUNC_PROTO. A trailing unnamed void parameter means varargs.
    pub fn params(&self) -> impl ExactSizeIterator<Item = Param<'a>> + 'a {
        let n = if self.kind() == Kind::FuncProto {
            self.vlen()
        } else {
            0
        };
        let (btf, tail) = (self.btf, self.tail());
        (0..n).map(move |i| Param {
            name: btf.str_at(u32_at(tail, i * 8)).unwrap_or(""),
            type_id: u32_at(tail, i * 8 + 4),
        })
    }

    /// Variables of a DATASEC, as written in the blob (clang leaves offsets 0 in `.o` files).
    pub fn datasec_vars(&self) -> impl ExactSizeIterator<Item = DatasecVar> + 'a {
        let n = if self.kind() == Kind::Datasec {
            self.vlen()
        } else {
            0
        };
        let tail = self.tail();
        (0..n).map(move |i| DatasecVar {
            type_id: u32_at(tail, i * 12),
            offset: u32_at(tail, i * 12 + 4),
            size: u32_at(tail, i * 12 + 8),
        })
    }

    /// The string offset naming the `i`th member, enumerator or parameter (0 when anonymous
    /// or out of range). Tools that tell "(anon)" from an empty name need the raw offset.
    pub fn entry_name_off(&self, i: usize) -> u32 {
        let stride = match self.kind() {
            Kind::Struct | Kind::Union | Kind::Enum64 => 12,
            Kind::Enum | Kind::FuncProto => 8,
            _ => return 0,
        };
        if i >= self.vlen() {
            return 0;
        }
        self.tail_word(i * stride / 4)
    }

    /// VAR linkage (0 static, 1 global, 2 extern) or FUNC linkage (the vlen field).
    pub fn linkage(&self) -> u32 {
        match self.kind() {
            Kind::Var => self.tail_word(0),
            Kind::Func => super::to_u32(self.vlen()),
            _ => 0,
        }
    }

    /// DECL_TAG component index: -1 for the declaration itself, else a member/param index.
    pub fn component_idx(&self) -> i32 {
        if self.kind() == Kind::DeclTag {
            self.tail_word(0) as i32
        } else {
            -1
        }
    }

    /// A typed view of the record, one variant per kind.
    pub fn view(&self) -> TypeView<'a> {
        let (name, t) = (self.name(), *self);
        match self.kind() {
            Kind::Void => TypeView::Void,
            Kind::Int => TypeView::Int {
                name,
                size: self.size(),
                info: self.int().unwrap_or_default(),
            },
            Kind::Ptr => TypeView::Ptr {
                target: self.type_id(),
            },
            Kind::Array => TypeView::Array(self.array().unwrap_or_default()),
            Kind::Struct => TypeView::Struct(Composite(t)),
            Kind::Union => TypeView::Union(Composite(t)),
            Kind::Enum | Kind::Enum64 => TypeView::Enum(Enumeration(t)),
            Kind::Fwd => TypeView::Fwd {
                name,
                is_union: self.kind_flag(),
            },
            Kind::Typedef => TypeView::Typedef {
                name,
                target: self.type_id(),
            },
            Kind::Volatile => TypeView::Volatile {
                target: self.type_id(),
            },
            Kind::Const => TypeView::Const {
                target: self.type_id(),
            },
            Kind::Restrict => TypeView::Restrict {
                target: self.type_id(),
            },
            Kind::Func => TypeView::Func {
                name,
                proto: self.type_id(),
                linkage: self.linkage(),
            },
            Kind::FuncProto => TypeView::FuncProto(Proto(t)),
            Kind::Var => TypeView::Var {
                name,
                type_id: self.type_id(),
                linkage: self.linkage(),
            },
            Kind::Datasec => TypeView::Datasec {
                name,
                size: self.size(),
            },
            Kind::Float => TypeView::Float {
                name,
                size: self.size(),
            },
            Kind::DeclTag => TypeView::DeclTag {
                name,
                target: self.type_id(),
                component_idx: self.component_idx(),
            },
            Kind::TypeTag => TypeView::TypeTag {
                name,
                target: self.type_id(),
            },
        }
    }
}

/// Per-kind views of a record. Composite kinds wrap the record to iterate lazily.
#[derive(Clone, Copy, Debug)]
pub enum TypeView<'a> {
    Void,
    Int {
        name: &'a str,
        size: u32,
        info: IntInfo,
    },
    Ptr {
        target: u32,
    },
    Array(ArrayInfo),
    Struct(Composite<'a>),
    Union(Composite<'a>),
    /// ENUM and ENUM64 alike; `Enumeration::size` tells the width.
    Enum(Enumeration<'a>),
    Fwd {
        name: &'a str,
        is_union: bool,
    },
    Typedef {
        name: &'a str,
        target: u32,
    },
    Volatile {
        target: u32,
    },
    Const {
        target: u32,
    },
    Restrict {
        target: u32,
    },
    Func {
        name: &'a str,
        proto: u32,
        linkage: u32,
    },
    FuncProto(Proto<'a>),
    Var {
        name: &'a str,
        type_id: u32,
        linkage: u32,
    },
    Datasec {
        name: &'a str,
        size: u32,
    },
    Float {
        name: &'a str,
        size: u32,
    },
    DeclTag {
        name: &'a str,
        target: u32,
        component_idx: i32,
    },
    TypeTag {
        name: &'a str,
        target: u32,
    },
}

/// A newtype view of a named record with a size (a composite or an enum).
macro_rules! sized_view {
    ($(#[$doc:meta])* $view:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $view<'a>(pub Ty<'a>);

        impl<'a> $view<'a> {
            pub fn name(&self) -> &'a str {
                self.0.name()
            }
            pub fn size(&self) -> u32 {
                self.0.size()
            }
        }
    };
}

sized_view!(
    /// A STRUCT or UNION.
    Composite
);
sized_view!(
    /// An ENUM or ENUM64.
    Enumeration
);

impl<'a> Composite<'a> {
    pub fn members(&self) -> impl ExactSizeIterator<Item = Member<'a>> + 'a {
        self.0.members()
    }
}

impl<'a> Enumeration<'a> {
    pub fn is_signed(&self) -> bool {
        self.0.kind_flag()
    }
    pub fn values(&self) -> impl ExactSizeIterator<Item = EnumValue<'a>> + 'a {
        self.0.enum_values()
    }
}

/// A FUNC_PROTO.
#[derive(Clone, Copy, Debug)]
pub struct Proto<'a>(pub Ty<'a>);

impl<'a> Proto<'a> {
    pub fn ret(&self) -> u32 {
        self.0.type_id()
    }
    pub fn params(&self) -> impl ExactSizeIterator<Item = Param<'a>> + 'a {
        self.0.params()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntInfo {
    /// Bit set of BTF_INT_SIGNED (1), BTF_INT_CHAR (2), BTF_INT_BOOL (4).
    pub encoding: u8,
    pub offset: u8,
    pub bits: u8,
}

impl IntInfo {
    pub fn is_signed(&self) -> bool {
        self.encoding & 1 != 0
    }
    pub fn is_char(&self) -> bool {
        self.encoding & 2 != 0
    }
    pub fn is_bool(&self) -> bool {
        self.encoding & 4 != 0
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArrayInfo {
    pub elem: u32,
    pub index: u32,
    pub nelems: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member<'a> {
    pub name: &'a str,
    pub type_id: u32,
    pub bit_offset: u32,
    /// 0 when the member is not a bitfield.
    pub bitfield_size: u8,
}

/// A member's placement without its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberLayout {
    pub type_id: u32,
    pub bit_offset: u32,
    pub bitfield_size: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnumValue<'a> {
    pub name: &'a str,
    /// The value's bits, sign-extended from 32 bits for a signed ENUM.
    pub bits: u64,
    pub signed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    pub name: &'a str,
    pub type_id: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatasecVar {
    pub type_id: u32,
    pub offset: u32,
    pub size: u32,
}
