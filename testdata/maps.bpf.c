// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One map of each common kind: ring buffer, perf event array, hash, array,
 * plus a log2 histogram hash map marked with @sample. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/// only trace this process id (tgid); 0 traces all
/// @cmdarg {"short": "p", "long": "pid", "help": "trace only this process id"}
const volatile unsigned int targ_pid = 0;

/// only trace this user id; -1 traces all
/// @cmdarg {"short": "u", "long": "uid", "help": "trace only this user id"}
const volatile int targ_uid = -1;

/// also send every event through the perf event array
/// @cmdarg {"long": "perf", "help": "duplicate events to the perf buffer"}
const volatile _Bool use_perf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* pid -> number of execve calls */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} exec_count SEC(".maps");

/* pid -> timestamp of its last execve */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

/* enum stat_kind -> counters */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, struct stats);
} stats SEC(".maps");

/* last event per pid; also makes struct event reach BTF */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct event);
} last_event SEC(".maps");

/// @sample {"interval": 1000, "type": "log2_hist", "unit": "usecs"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

static __always_inline void bump(__u32 kind, int dropped)
{
	struct stats *s = bpf_map_lookup_elem(&stats, &kind);

	if (!s)
		return;
	__sync_fetch_and_add(&s->events, 1);
	if (dropped)
		__sync_fetch_and_add(&s->drops, 1);
}

/* floor(log2(v)) for v > 0, 0 for v == 0, without loops */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { r += 1; }
	return r;
}

static __always_inline int filtered(__u32 pid)
{
	__u32 uid = (__u32)bpf_get_current_uid_gid();

	if (targ_pid && pid != targ_pid)
		return 1;
	if (targ_uid != -1 && uid != (__u32)targ_uid)
		return 1;
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int handle_execve(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	__u64 one = 1, ts, *cnt;
	struct event *e;
	struct event copy = {};

	if (filtered(pid))
		return 0;

	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);

	cnt = bpf_map_lookup_elem(&exec_count, &pid);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
		one = *cnt;
	} else {
		bpf_map_update_elem(&exec_count, &pid, &one, BPF_NOEXIST);
	}

	copy.pid = pid;
	copy.uid = (__u32)bpf_get_current_uid_gid();
	copy.ts_ns = ts;
	copy.count = one;
	bpf_get_current_comm(copy.comm, sizeof(copy.comm));
	bpf_map_update_elem(&last_event, &pid, &copy, BPF_ANY);

	if (use_perf)
		bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &copy, sizeof(copy));

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		bump(STAT_RB_FULL, 1);
		return 0;
	}
	*e = copy;
	bpf_ringbuf_submit(e, 0);
	bump(STAT_EXEC, 0);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, zero = 0, slot;
	__u64 *tsp, delta_us;
	struct hist *h, empty = {};

	if ((__u32)id != pid)	/* a thread, not the whole process */
		return 0;
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
	bpf_map_delete_elem(&start, &pid);
	bpf_map_delete_elem(&exec_count, &pid);

	h = bpf_map_lookup_elem(&hists, &zero);
	if (!h) {
		bpf_map_update_elem(&hists, &zero, &empty, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &zero);
		if (!h)
			return 0;
	}
	slot = log2_u64(delta_us);
	if (slot >= MAPS_HIST_SLOTS)
		slot = MAPS_HIST_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	bump(STAT_EXIT, 0);
	return 0;
}
