// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of lib/'s pure functions (sizes, ranges, lists,
 * patterns, errno names, durations): run by make check before any boot.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "heaplab.h"

TEST(size_units)
{
	uint64_t v;

	ASSERT_EQ(0, hl_parse_size("4096", &v));
	EXPECT_EQ(4096ULL, v);
	ASSERT_EQ(0, hl_parse_size("4K", &v));
	EXPECT_EQ(4096ULL, v);
	ASSERT_EQ(0, hl_parse_size("64K", &v));
	EXPECT_EQ(65536ULL, v);
	ASSERT_EQ(0, hl_parse_size("1M", &v));
	EXPECT_EQ(1ULL << 20, v);
	ASSERT_EQ(0, hl_parse_size("1G", &v));
	EXPECT_EQ(1ULL << 30, v);
}

TEST(size_bad_input)
{
	static const char *const bad[] = { "", "0", "K", "4X", "4K4", "-1", "abc" };
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, hl_parse_size(bad[i], &v)) TH_LOG("'%s' accepted", bad[i]);
		EXPECT_NE(0, errno) TH_LOG("'%s': no errno", bad[i]);
	}
	errno = 0;
	EXPECT_EQ(-1, hl_parse_size("99999999999999999999", &v));
	EXPECT_EQ(ERANGE, errno);
}

TEST(size_prefix)
{
	const char *end;
	uint64_t v;

	ASSERT_EQ(0, hl_parse_size_prefix("8M,4K", &v, &end));
	EXPECT_EQ(8ULL << 20, v);
	EXPECT_STREQ(",4K", end);
}

TEST(range_ok)
{
	EXPECT_EQ(5, hl_parse_range("5", 1, 10, "n"));
	EXPECT_EQ(16, hl_parse_range("0x10", 0, 100, "n"));
	EXPECT_EQ(-3, hl_parse_range("-3", -5, 5, "n"));
}

/* hl_die() exits 2: run it in a child and read the status. */
static int range_status(const char *s)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		close(2);	/* the message is not this test's output */
		hl_parse_range(s, 1, 10, "n");
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(range_bad_input)
{
	EXPECT_EQ(2, range_status("0"));
	EXPECT_EQ(2, range_status("11"));
	EXPECT_EQ(2, range_status(""));
	EXPECT_EQ(2, range_status("5x"));
	EXPECT_EQ(2, range_status("99999999999999999999"));
	EXPECT_EQ(0, range_status("10"));
}

static int collect(const char *item, void *arg)
{
	char *acc = arg;

	if (!strcmp(item, "bad"))
		return -1;
	strcat(acc, item);
	strcat(acc, "|");
	return 0;
}

TEST(lists)
{
	char acc[64] = "";

	EXPECT_EQ(3, hl_parse_list("a,b,c", 8, collect, acc));
	EXPECT_STREQ("a|b|c|", acc);
	acc[0] = 0;
	EXPECT_EQ(-1, hl_parse_list("a,bad,c", 8, collect, acc));
	acc[0] = 0;
	errno = 0;
	EXPECT_EQ(-1, hl_parse_list("a,b,c", 2, collect, acc));
	EXPECT_EQ(E2BIG, errno);
}

TEST(patterns)
{
	size_t len = 3 * 4096;
	unsigned char *p = malloc(len);

	ASSERT_NE(NULL, p);
	memset(p, 0, len);
	EXPECT_EQ(-1, hl_first_not(p, len, 0));
	p[4097] = 7;
	EXPECT_EQ(4097, hl_first_not(p, len, 0));
	hl_fill_pattern(p, len, 42);
	EXPECT_EQ(-1, hl_check_pattern(p, len, 42));
	/* bit 0 of every word is set: tags 42 and 43 are the same pattern */
	EXPECT_NE(-1, hl_check_pattern(p, len, 44));
	p[8192] ^= 1;
	EXPECT_EQ(8192, hl_check_pattern(p, len, 42));
	free(p);
}

TEST(errno_names)
{
	EXPECT_STREQ("EINVAL", hl_errname(EINVAL));
	EXPECT_STREQ("ENOMEM", hl_errname(ENOMEM));
	EXPECT_STREQ("E4095", hl_errname(4095));
}

TEST(durations)
{
	char b[32];

	hl_fmt_ns(b, sizeof(b), 850);
	EXPECT_STREQ("850ns", b);
	hl_fmt_ns(b, sizeof(b), 12300);
	EXPECT_STREQ("12.3us", b);
	hl_fmt_ns(b, sizeof(b), 4.56e6);
	EXPECT_STREQ("4.56ms", b);
	hl_fmt_ns(b, sizeof(b), 1.2e9);
	EXPECT_STREQ("1.20s", b);
}

TEST_HARNESS_MAIN
