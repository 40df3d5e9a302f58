/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The event of nested.bpf.c: it holds another struct of this header, which comes first. */
#ifndef ECC_TESTDATA_RUN_NESTED_H
#define ECC_TESTDATA_RUN_NESTED_H

struct inner {
	int a;
	int b;
};

struct event {
	unsigned int pid;
	struct inner in;
	char comm[16];
};

#endif
