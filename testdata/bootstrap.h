/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Event sent by bootstrap.bpf.c through the ring buffer.
 * Needs `bool`: from vmlinux.h in BPF code, else from <stdbool.h>. */
#ifndef ECC_TESTDATA_BOOTSTRAP_H
#define ECC_TESTDATA_BOOTSTRAP_H

#if !defined(__VMLINUX_H__) && !defined(__cplusplus) && !defined(__bool_true_false_are_defined)
#include <stdbool.h>
#endif

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127

struct event {
	int pid;
	int ppid;
	unsigned exit_code;
	unsigned long long duration_ns;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
	bool exit_event;
};

#endif /* ECC_TESTDATA_BOOTSTRAP_H */
