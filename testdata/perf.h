/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Event sent by perf.bpf.c through the perf event array. */
#ifndef ECC_TESTDATA_PERF_H
#define ECC_TESTDATA_PERF_H

#define PERF_COMM_LEN 16

struct event {
	int pid;
	int old_pid;
	char comm[PERF_COMM_LEN];
};

#endif /* ECC_TESTDATA_PERF_H */
