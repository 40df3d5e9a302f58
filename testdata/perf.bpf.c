// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Sends one small event per exec through a perf event array.
 * No vmlinux.h: the tracepoint context is declared by hand. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "perf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Layout of /sys/kernel/tracing/events/sched/sched_process_exec/format */
struct sched_process_exec_ctx {
	/* struct trace_entry: 8 bytes */
	unsigned short common_type;
	unsigned char common_flags;
	unsigned char common_preempt_count;
	int common_pid;
	/* event fields */
	unsigned int __data_loc_filename;
	int pid;
	int old_pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(struct sched_process_exec_ctx *ctx)
{
	struct event e = {};

	e.pid = ctx->pid;
	e.old_pid = ctx->old_pid;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}
