#ifndef BTFGEN_H
#define BTFGEN_H

/* One exec, read through CO-RE relocations of every kind BTFGen keeps types for. */
struct event {
	int pid;
	int tgid;
	int ppid;
	unsigned int task_size;
	unsigned long long exe_ino;
	unsigned int in_execve;
	unsigned int has_state;
	unsigned int has_old_state;
	unsigned int has_missing;
	unsigned int pidtype_tgid;
	unsigned int has_pidtype_sid;
	unsigned int comm_size;
	char comm0;
	char exe[15];
};

#endif
