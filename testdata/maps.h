/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Event and value types shared by maps.bpf.c and its user space. */
#ifndef ECC_TESTDATA_MAPS_H
#define ECC_TESTDATA_MAPS_H

#define MAPS_COMM_LEN 16
#define MAPS_HIST_SLOTS 26

/* Sent through both the ring buffer and the perf event array. */
struct event {
	unsigned int pid;
	unsigned int uid;
	unsigned long long ts_ns;
	unsigned long long count;
	char comm[MAPS_COMM_LEN];
};

/* Value of the array map: one per counter kind. */
struct stats {
	unsigned long long events;
	unsigned long long drops;
};

/* Value of the log2 histogram map. */
struct hist {
	unsigned int slots[MAPS_HIST_SLOTS];
};

enum stat_kind {
	STAT_EXEC = 0,
	STAT_EXIT = 1,
	STAT_RB_FULL = 2,
	STAT_MAX = 3,
};

#endif /* ECC_TESTDATA_MAPS_H */
