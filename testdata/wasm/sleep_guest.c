// SPDX-License-Identifier: MIT
/* No BPF: says it is ready (the word the tests wait for), then sleeps for argv[1]
 * seconds with sleep() (WASI poll_oneoff on a relative clock), or with nanosleep() when
 * argv[2] is "nano". Exits 3 when the sleep ends: a stopped guest exits 0 instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 60;

	fprintf(stderr, "sleep_guest: attached, sleeping %d s\n", secs);
	if (argc > 2 && strcmp(argv[2], "nano") == 0) {
		struct timespec ts = { .tv_sec = secs, .tv_nsec = 0 };

		nanosleep(&ts, NULL);
	} else {
		sleep(secs);
	}
	printf("woke up\n");
	return 3;
}
