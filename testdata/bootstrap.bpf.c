// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A process exec/exit tracer in the style of libbpf-bootstrap's bootstrap:
 * exec records a start time and emits an event, exit emits an event with
 * the process lifetime and exit code. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bootstrap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, pid_t);
	__type(value, u64);
} exec_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

/// minimum duration in ns
/// @cmdarg {"default": 0, "short": "d", "long": "duration", "help": "minimum process duration (ns) to report"}
const volatile unsigned long long min_duration_ns = 0;

/// only trace this process id (tgid)
/// @cmdarg {"default": 0, "short": "p", "long": "pid", "help": "process id to trace"}
const volatile pid_t targ_pid = 0;

/// only trace commands with this name
/// @cmdarg {"short": "c", "long": "comm", "help": "command name to trace"}
const volatile char targ_comm[TASK_COMM_LEN] = {};

/* number of events sent to user space */
unsigned long long events_seen = 0;

static __always_inline bool comm_allowed(const char *comm)
{
	int i;

	if (!targ_comm[0])
		return true;
#pragma clang loop unroll(full)
	for (i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != targ_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task;
	unsigned int fname_off;
	struct event *e;
	pid_t pid;
	u64 ts;

	pid = bpf_get_current_pid_tgid() >> 32;
	if (targ_pid && pid != targ_pid)
		return 0;

	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&exec_start, &pid, &ts, BPF_ANY);

	/* with a duration filter only exits are reported */
	if (min_duration_ns)
		return 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (!comm_allowed(e->comm)) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}

	task = (struct task_struct *)bpf_get_current_task();
	e->exit_event = false;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = 0;
	e->duration_ns = 0;
	fname_off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);

	__sync_fetch_and_add(&events_seen, 1);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct task_struct *task;
	struct event *e;
	pid_t pid, tid;
	u64 id, ts, *start_ts, duration_ns = 0;

	id = bpf_get_current_pid_tgid();
	pid = id >> 32;
	tid = (u32)id;

	/* a thread exiting is not the process exiting */
	if (pid != tid)
		return 0;
	if (targ_pid && pid != targ_pid)
		return 0;

	start_ts = bpf_map_lookup_elem(&exec_start, &pid);
	if (start_ts) {
		ts = bpf_ktime_get_ns();
		duration_ns = ts - *start_ts;
	} else if (min_duration_ns) {
		return 0;
	}
	bpf_map_delete_elem(&exec_start, &pid);

	if (min_duration_ns && duration_ns < min_duration_ns)
		return 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (!comm_allowed(e->comm)) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}

	task = (struct task_struct *)bpf_get_current_task();
	e->exit_event = true;
	e->duration_ns = duration_ns;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = (BPF_CORE_READ(task, exit_code) >> 8) & 0xff;
	e->filename[0] = '\0';

	__sync_fetch_and_add(&events_seen, 1);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
