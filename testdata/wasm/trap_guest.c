// SPDX-License-Identifier: MIT
/* No BPF: traps in a named function. */
#include <stdio.h>

__attribute__((noinline)) void crash_in_guest(int *p)
{
	if (!p)
		__builtin_trap();
	*p = 1;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("before the trap\n");
	fflush(stdout);
	crash_in_guest(argc > 100 ? &argc : NULL);
	return 0;
}
