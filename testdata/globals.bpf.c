// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Global variables in every data section libbpf knows about:
 * .rodata, .bss, .data, .kconfig and a custom .data.foo. */
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

typedef __kernel_pid_t pid_t;

struct config {
	int level;
	unsigned short port;
	char tag[6];
	unsigned long long mask;
};

/* ---- .rodata: const volatile, set by user space before load ---- */

/// verbosity level
/// @cmdarg {"default": 1, "short": "v", "long": "verbose", "help": "verbosity level"}
const volatile int verbosity = 1;

/// minimum duration in ns
/// @cmdarg {"default": 0, "short": "d", "long": "duration", "help": "minimum duration in ns"}
const volatile unsigned long long min_duration_ns = 0;

/// trace failed calls only
/// @cmdarg {"short": "x", "long": "failed", "help": "only failed calls"}
const volatile bool failed_only = false;

/// only trace this command name
/// @cmdarg {"short": "c", "long": "comm", "help": "command name to trace"}
const volatile char targ_comm[16] = "bash";

/// only trace this process id
/// @cmdarg {"default": 0, "short": "p", "long": "pid", "help": "process id to trace"}
const volatile pid_t targ_pid = 0;

const volatile struct config rodata_cfg = {
	.level = 3,
	.port = 8080,
	.tag = "ecc",
	.mask = 0xffff0000ffff0000ULL,
};

/* ---- .bss: zero-initialised ---- */
unsigned long long events_total;
unsigned int events_dropped;
long last_delta;
int *last_ptr;
struct config seen_cfg;
char last_comm[16];

/* ---- .data: initialised, writable ---- */
int data_counter = 42;
unsigned long long data_magic = 0xdeadbeefcafef00dULL;
char data_name[8] = "globals";
short data_shorts[4] = { 1, -2, 3, -4 };

/* ---- .kconfig: filled in by libbpf ---- */
extern int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig __weak;

/* ---- custom data section ---- */
int foo_counter SEC(".data.foo") = 7;
unsigned long long foo_stamp SEC(".data.foo") = 1;

/**
 * @brief test program for global variables in every data section
 * @version 0.1
 * @author ecc team
 */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	pid_t pid = id >> 32;
	char comm[16];
	int i;

	if (targ_pid && pid != targ_pid)
		return 0;
	if (failed_only && verbosity < 0)
		return 0;
	if (!CONFIG_BPF_SYSCALL || LINUX_KERNEL_VERSION < 0)
		__sync_fetch_and_add(&events_dropped, 1);

	bpf_get_current_comm(comm, sizeof(comm));
	if (targ_comm[0]) {
#pragma clang loop unroll(full)
		for (i = 0; i < 16; i++) {
			if (comm[i] != targ_comm[i])
				return 0;
			if (!comm[i])
				break;
		}
	}

	__sync_fetch_and_add(&events_total, 1);
	last_delta = (long)(bpf_ktime_get_ns() - min_duration_ns);
	last_ptr = (int *)(unsigned long)pid;
	__builtin_memcpy(last_comm, comm, sizeof(last_comm));

	seen_cfg.level = rodata_cfg.level + verbosity;
	seen_cfg.port = rodata_cfg.port;
	seen_cfg.mask = rodata_cfg.mask ^ data_magic;
	seen_cfg.tag[0] = data_name[0];
	seen_cfg.tag[1] = (char)data_shorts[pid & 3];

	__sync_fetch_and_add(&data_counter, 1);
	__sync_fetch_and_add(&foo_counter, 1);
	foo_stamp = bpf_ktime_get_ns();
	return 0;
}
