// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Makes every type from types.h reach BTF (through .bss globals and map
 * value types), and touches some of them from one program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, handle_t);
	__type(value, struct everything);
} things SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ptrs);
} ptr_store SEC(".maps");

/* one .bss global of each type */
struct bits g_bits;
struct inner g_inner;
union number g_number;
struct nested g_nested;
struct ptrs g_ptrs;
struct wide g_wide;
struct aligned_members g_aligned;
struct over_aligned g_over_aligned;
struct has_over_aligned g_has_over_aligned;
struct packed g_packed;
struct packed_aligned g_packed_aligned;
struct packed_bits g_packed_bits;
struct flex g_flex;
/* no global of struct empty: the kernel rejects a size-0 VAR in a DATASEC */
struct with_empty g_with_empty;
point_t g_point;
word_t g_word;
visit_fn g_visit;
enum color8 g_color;
enum level16 g_level;
enum state32 g_state;
enum ustate32 g_ustate;
enum big64 g_big;
enum neg64 g_neg;
__int128 g_s128;
unsigned __int128 g_u128;
long g_long;
unsigned long g_ulong;
struct inner g_inner_arr[4];
int g_matrix[3][5];

/* .rodata */
const volatile enum big64 big_default = BIG_4G;
const volatile struct packed packed_default = { .c = 'p', .i = -1, .ll = 1LL << 40, .s = 7 };

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	handle_t key = (id >> 32) & 15;
	struct everything *e;

	g_bits.a = id & 7;
	g_bits.b = (id >> 3) & 0x7f;
	g_bits.flag = 1;
	g_bits.sgn = -3;
	g_bits.wide = id;
	g_bits.neg = -(long long)(id & 0xffff);
	g_bits.st = STATE_RUN;

	g_nested.anon_a = (int)id;
	g_nested.hi = id >> 32;
	g_nested.items[2].id = 2;
	g_nested.grid[1][2][3] = 123;
	g_nested.pos.y = 5;

	g_wide.s128 = (__int128)id << 64;
	g_wide.u128 += id;
	g_packed.ll = packed_default.ll + id;
	g_packed_bits.b = id & 0xfffff;
	g_aligned.ll = id;
	g_has_over_aligned.oa.v++;
	g_big = big_default;
	g_color = COLOR_BLUE;
	g_level = LEVEL_LOW;
	g_matrix[2][4] = g_inner_arr[3].id + g_with_empty.b + g_flex.len;

	e = bpf_map_lookup_elem(&things, &key);
	if (e) {
		e->state = STATE_RUN;
		e->big = BIG_HIGH;
		e->bits.on = 1;
		e->nested.num.u64 = id;
		e->pbits.c++;
	}
	return 0;
}
