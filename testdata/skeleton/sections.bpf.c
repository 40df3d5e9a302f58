// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Global data in every kind of section a skeleton must name the way libbpf does: .rodata,
 * .data, .bss, custom .rodata.cfg, a custom .data section whose name is longer than a
 * kernel map name, string literals (.rodata.str1.1 from a literal passed as is) and a
 * static global, which the skeleton must not expose; plus variables of anonymous and
 * function-pointer types. Compiled by tests/skeleton_native.rs, so that the committed
 * testdata objects (and their snapshots elsewhere) stay as they are. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int ro_knob = 3;
int data_counter = 1;
unsigned long long bss_hits;
static int static_hidden = 5;
int custom_val SEC(".data.a_rather_long_custom_name") = 9;
const volatile char ro_custom[4] SEC(".rodata.cfg") = "abc";

/* declarators the skeleton must spell as bpftool does */
struct { int a; char b; } anon_struct;
union { int i; float f; } anon_union;
enum { ODD_A = 1, ODD_B = -2 } anon_enum;
int (*fn_ptr)(int, const char *);
const char *const names[2];
char matrix[2][3];

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, long);
} counts SEC(".maps");

SEC("tp/sched/sched_process_exec")
int on_exec(void *ctx)
{
	bpf_printk("exec %d %c", ro_knob, ro_custom[0]);
	/* a string literal passed as is lands in .rodata.str1.1 */
	bpf_trace_printk("knob %d\n", sizeof("knob %d\n"), ro_knob);
	__sync_fetch_and_add(&bss_hits, 1);
	data_counter += static_hidden + custom_val;
	static_hidden++;
	anon_struct.a++;
	anon_union.i++;
	anon_enum = ODD_B;
	matrix[1][2]++;
	if (fn_ptr || names[1])
		anon_struct.b = 1;
	return 0;
}
