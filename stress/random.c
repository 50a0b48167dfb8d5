// SPDX-License-Identifier: GPL-2.0
/* heaplab-stress: the seeded random choices every run prints and replays. */
#include <unistd.h>

#include "stress.h"

/* xorshift64*: cheap, and a printed seed replays the same sequence. */
uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t rnd_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rnd(s) % (hi - lo + 1);
}

/* Page multiples spread evenly over the log2 scale: small sizes are common. */
uint64_t rnd_size(uint64_t *s, uint64_t lo, uint64_t hi)
{
	int lb = 63 - __builtin_clzll(lo), hb = 63 - __builtin_clzll(hi);
	uint64_t v = 1ull << rnd_range(s, lb, hb), pg = sysconf(_SC_PAGESIZE);

	v = rnd_range(s, v, v * 2 - 1) & ~(pg - 1);
	return v < lo ? lo : v > hi ? hi : v;
}
