/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What {{NAME}}.bpf.c shares with user space. `struct event` comes first: the
 * runtime decodes ring buffer records with the header's first struct. */
#ifndef {{NAME_UPPER}}_H
#define {{NAME_UPPER}}_H

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127
#define MAX_SLOTS 26

struct event {
	int pid;
	int ppid;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
};

/* Process lifetimes: slots[i] counts lifetimes in [2^i, 2^(i+1)) microseconds. */
struct hist {
	unsigned int slots[MAX_SLOTS];
};

#endif /* {{NAME_UPPER}}_H */
