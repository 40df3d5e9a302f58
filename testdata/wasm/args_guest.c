// SPDX-License-Identifier: MIT
/* No BPF: prints its arguments, FOO from the environment and whether it may read
 * /etc/hostname, then exits with the status in argv[1]. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	const char *foo = getenv("FOO");
	FILE *f = fopen("/etc/hostname", "r");
	int i;

	printf("argc=%d", argc);
	for (i = 1; i < argc; i++)
		printf(" [%s]", argv[i]);
	printf("\nFOO=%s\nopen=%s\n", foo ? foo : "(unset)", f ? "ok" : "denied");
	fflush(stdout);
	return argc > 1 ? atoi(argv[1]) : 0;
}
