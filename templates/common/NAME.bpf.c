// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* {{NAME}}: an exec tracer. Every exec sends an event (struct event in {{NAME}}.h)
 * through the `events` ring buffer; every exit adds the process lifetime to the
 * `lifetimes` log2 histogram. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "{{NAME}}.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/// only report processes whose parent has this process id (0: every process)
/// @cmdarg {"default": 0, "short": "p", "long": "ppid", "help": "only report children of this process id"}
const volatile pid_t targ_ppid = 0;

/* pid -> exec time (ns), for the lifetime histogram */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, pid_t);
	__type(value, u64);
} start SEC(".maps");

/// process lifetimes in microseconds, a log2 histogram
/// @sample {"interval": 1000, "type": "log2_hist", "unit": "usecs"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct hist);
} lifetimes SEC(".maps");

/* `ecc run` prints the last ring buffer or @sample map in the object, and clang places
 * maps in the order the code first uses them: handle_exec, which uses `events`, comes
 * last so that events are printed. Put it first to have the histogram printed instead. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* floor(log2(v)), 0 for v == 0 */
static __always_inline u32 log2_u64(u64 v)
{
	u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { r += 1; }
	return r;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	pid_t pid = id >> 32;
	u32 key = 0, slot;
	u64 *tsp, delta_us;
	struct hist *h, zero = {};

	if ((u32)id != (u32)pid)	/* a thread, not the process */
		return 0;
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
	bpf_map_delete_elem(&start, &pid);

	h = bpf_map_lookup_elem(&lifetimes, &key);
	if (!h) {
		bpf_map_update_elem(&lifetimes, &key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&lifetimes, &key);
		if (!h)
			return 0;
	}
	slot = log2_u64(delta_us);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	return 0;
}

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	pid_t pid = bpf_get_current_pid_tgid() >> 32;
	pid_t ppid = BPF_CORE_READ(task, real_parent, tgid);
	unsigned int fname_off = ctx->__data_loc_filename & 0xFFFF;
	u64 ts = bpf_ktime_get_ns();
	struct event *e;

	if (targ_ppid && ppid != targ_ppid)
		return 0;
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->ppid = ppid;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
