#ifndef MINITRACE_H
#define MINITRACE_H

struct event {
	int pid;
	char comm[16];
};

#endif
