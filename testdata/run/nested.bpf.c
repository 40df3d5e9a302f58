// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `ecc run` test program: an event struct holding another exported struct, two ring
 * buffers of which only one is written, options of every form (.rodata value, bools that
 * default to true and to false, a .data variable) and a __kconfig extern. */
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include "nested.h"

char LICENSE[] SEC("license") = "GPL";

/// Copied into every event's in.a
/// @cmdarg {"long": "tag", "help": "tag value for in.a"}
const volatile unsigned int tag = 7;
/// Send events at all
const volatile bool send = true;
/// Negate in.b
const volatile bool negate = false;
/// In .data: the runtime refuses it, ecc run makes it an option
int data_mult = 3;
/// The kernel's CONFIG_HZ, as libbpf resolved it
unsigned int seen_hz;

extern unsigned int CONFIG_HZ __kconfig;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Declared after `events`, never written: the runtime's "last ring buffer" would print it. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} quiet SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	struct event *e;

	seen_hz = CONFIG_HZ;
	if (!send)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->in.a = tag;
	e->in.b = negate ? -data_mult : data_mult;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
