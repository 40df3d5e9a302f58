/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types that exercise C layout rules as seen through BTF and DWARF.
 * Every type here reaches BTF through a global or a map in types.bpf.c. */
#ifndef ECC_TESTDATA_TYPES_H
#define ECC_TESTDATA_TYPES_H

/* ---------- typedefs ---------- */
typedef unsigned int u32_t;
typedef u32_t handle_t;			/* typedef of a typedef */
typedef struct {			/* typedef of an anonymous struct */
	int x;
	int y;
} point_t;
typedef union {				/* typedef of an anonymous union */
	unsigned int raw;
	unsigned char bytes[4];
} word_t;
typedef int (*visit_fn)(void *ctx, unsigned long arg);

/* ---------- enums of size 1, 2, 4 and 8 ---------- */
enum __attribute__((packed)) color8 {	/* size 1, unsigned */
	COLOR_RED = 0,
	COLOR_GREEN = 1,
	COLOR_BLUE = 200,
};

enum __attribute__((packed)) level16 {	/* size 2, signed */
	LEVEL_LOW = -300,
	LEVEL_MID = 0,
	LEVEL_HIGH = 0x7000,
};

enum state32 {				/* size 4, signed */
	STATE_NEG = -1,
	STATE_IDLE = 0,
	STATE_RUN = 10,
	STATE_MAX = 0x7fffffff,
};

enum ustate32 {				/* size 4, unsigned */
	USTATE_A = 1,
	USTATE_TOP = 0xffffffffu,
};

enum big64 {				/* size 8: values need more than 32 bits */
	BIG_ONE = 1,
	BIG_4G = 0x100000000ULL,
	BIG_HIGH = 0x8000000000000000ULL,
	BIG_ALL = 0xffffffffffffffffULL,
};

enum neg64 {				/* size 8, signed */
	NEG_MIN = -0x7fffffffffffffffLL - 1,
	NEG_ZERO = 0,
	NEG_BIG = 0x123456789LL,
};

/* ---------- bitfields ---------- */
struct bits {
	unsigned int a : 3;		/* bits 0..2 */
	unsigned int b : 7;		/* bits 3..9: spans a byte boundary */
	unsigned int flag : 1;		/* 1-bit flag */
	int sgn : 5;			/* signed */
	signed char sc : 3;		/* signed, char-based */
	unsigned short us : 12;		/* spans bytes */
	unsigned long long wide : 40;	/* 64-bit storage unit */
	unsigned long long rest : 24;
	_Bool on : 1;			/* bool-ish */
	unsigned int : 0;		/* zero-width: force next unit */
	unsigned int after_zero : 4;
	long long neg : 33;		/* signed, wider than 32 */
	enum state32 st : 8;		/* enum-typed bitfield */
};

/* ---------- nested structs, unions, anonymous members ---------- */
struct inner {
	int id;
	char tag;			/* followed by tail padding */
};

union number {
	unsigned long long u64;
	int i32[2];
	struct inner in;
	unsigned char bytes[8];
	double d;
};

struct nested {
	struct inner first;
	union number num;
	struct {			/* anonymous struct member */
		int anon_a;
		short anon_b;
	};
	union {				/* anonymous union member */
		long anon_l;
		void *anon_p;
		struct {		/* anonymous struct inside anonymous union */
			unsigned int lo;
			unsigned int hi;
		};
	};
	struct {			/* named member of an anonymous struct type */
		char c;
		long long ll;
	} named;
	struct inner items[3];		/* array of structs */
	int grid[2][3][4];		/* multi-dimensional array */
	char names[4][8];
	point_t pos;
	word_t word;
};

/* ---------- pointers, long, function pointers, qualifiers ---------- */
struct ptrs {
	long l;
	unsigned long ul;
	long long ll;
	void *vp;
	const char *name;
	char *const fixed;		/* const pointer */
	char *restrict rp;		/* restrict pointer */
	void **pp;
	struct ptrs *next;		/* self reference */
	struct opaque *hidden;		/* pointer to an incomplete type */
	int (*cmp)(const void *, const void *);	/* function pointer member */
	visit_fn visit;			/* via typedef */
	void (*callbacks[2])(int);	/* array of function pointers */
	const volatile int cv;		/* const volatile field */
	volatile unsigned long long counter;
	float f;
	double d;
};

/* ---------- 128-bit integers ---------- */
struct wide {
	char c;				/* then padding up to 16 */
	__int128 s128;
	unsigned __int128 u128;
	unsigned long long after;
};

/* ---------- alignment ---------- */
struct aligned_members {
	char c;
	int x __attribute__((aligned(16)));
	short s;
	long long ll __attribute__((aligned(32)));
};

struct over_aligned {
	int v;
} __attribute__((aligned(64)));

struct has_over_aligned {
	char c;
	struct over_aligned oa;		/* at offset 64 */
	char tail;
};

/* ---------- packed ---------- */
struct packed {
	char c;
	int i;				/* offset 1 */
	long long ll;			/* offset 5 */
	short s;			/* offset 13 */
} __attribute__((packed));

struct packed_aligned {
	char c;
	int i;
} __attribute__((packed, aligned(4)));	/* size 8, members packed */

struct packed_bits {
	unsigned char a : 4;
	unsigned int b : 20;		/* crosses into the next bytes */
	unsigned char c;
} __attribute__((packed));

/* ---------- flexible array member and zero-size struct ---------- */
struct flex {
	unsigned int len;
	unsigned short kind;
	unsigned char data[];		/* flexible array member */
};

struct empty {
};

struct with_empty {
	int a;
	struct empty e;			/* size 0 */
	int b;
	char zero_len[0];		/* GNU zero-length array */
};

/* ---------- everything together: used as a map value ---------- */
struct everything {
	enum color8 color;
	enum level16 level;
	enum state32 state;
	enum ustate32 ustate;
	enum big64 big;
	enum neg64 neg;
	handle_t handle;
	struct bits bits;
	struct nested nested;
	struct wide wide;
	struct packed packed;
	struct packed_bits pbits;
	struct aligned_members am;
	struct with_empty we;
	struct flex flex;		/* flexible array struct as last member */
};

#endif /* ECC_TESTDATA_TYPES_H */
