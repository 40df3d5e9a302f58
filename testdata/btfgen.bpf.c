// SPDX-License-Identifier: GPL-2.0
/* CO-RE relocations of every kind `gen min_core_btf` handles: field offsets through
 * pointers, typedefs, arrays and anonymous members (task_struct, mm_struct, file,
 * sk_buff), bitfields, field/type/enum-value existence, type sizes and enum values. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "btfgen.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Before 5.14 the task state was `long state`: a flavor asks for it without clashing. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct task_struct___missing {
	int no_such_member;
} __attribute__((preserve_access_index));

/* Received packets and bytes, and what the last packet looked like. */
__u64 skb_packets;
__u64 skb_bytes;
__u32 last_ifindex;
__u32 last_pkt_type;
__u32 last_headroom;
__u32 last_protocol;

SEC("tp/sched/sched_process_exec")
int exec_event(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	const unsigned char *name;
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->tgid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	e->has_state = bpf_core_field_exists(task->__state);
	e->has_old_state = bpf_core_field_exists(((struct task_struct___old *)task)->state);
	e->has_missing =
		bpf_core_field_exists(((struct task_struct___missing *)task)->no_such_member);
	e->task_size = bpf_core_type_size(struct task_struct);
	e->pidtype_tgid = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	e->has_pidtype_sid = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_SID);
	e->comm_size = bpf_core_field_size(task->comm);
	BPF_CORE_READ_INTO(&e->comm0, task, comm[0]);
	e->exe_ino = BPF_CORE_READ(task, mm, exe_file, f_inode, i_ino);
	name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	bpf_probe_read_kernel_str(e->exe, sizeof(e->exe), name);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/net/netif_receive_skb")
int skb_event(struct trace_event_raw_net_dev_template *ctx)
{
	struct sk_buff *skb = ctx->skbaddr;

	if (!bpf_core_type_exists(struct sk_buff))
		return 0;
	__sync_fetch_and_add(&skb_packets, 1);
	__sync_fetch_and_add(&skb_bytes, BPF_CORE_READ(skb, len));
	last_ifindex = BPF_CORE_READ(skb, dev, ifindex);
	last_pkt_type = BPF_CORE_READ_BITFIELD_PROBED(skb, pkt_type);
	last_protocol = BPF_CORE_READ(skb, protocol);
	last_headroom = BPF_CORE_READ(skb, data) - BPF_CORE_READ(skb, head);
	return 0;
}
