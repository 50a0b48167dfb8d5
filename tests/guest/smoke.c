// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke test of the build/boot/test chain, run inside the guest: load the
 * test-only module heaplab_smoke, drive it through its debugfs knob, check
 * that unload is refused while it is in use, unload it, and cycle it.
 *
 * Usage: smoke PATH/heaplab_smoke.ko [harness options]
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"

#define KNOB "/sys/kernel/debug/heaplab_smoke/reverse"
#define WRITES "/sys/kernel/debug/heaplab_smoke/writes"
#define MODNAME "heaplab_smoke"
/* TCG + KASAN makes module loading slow; the harness default is 30 s. */
#define SLOW 300

static const char *ko_path;

static int load(void)
{
	int fd = open(ko_path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static int unload(void)
{
	return syscall(SYS_delete_module, MODNAME, O_NONBLOCK);
}

static bool loaded(void)
{
	struct stat st;

	return stat("/sys/module/" MODNAME, &st) == 0;
}

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

FIXTURE(smoke) {
	int unused;
};

FIXTURE_SETUP(smoke)
{
	self->unused = 0;
	ASSERT_NE(NULL, ko_path) TH_LOG("usage: smoke PATH/heaplab_smoke.ko");
}

FIXTURE_TEARDOWN(smoke)
{
}

TEST_F_TIMEOUT(smoke, load, SLOW)
{
	if (loaded())
		ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load()) TH_LOG("finit_module(%s): %s", ko_path, strerror(errno));
	ASSERT_TRUE(loaded());
	/* A second load of the same module must fail cleanly. */
	ASSERT_EQ(-1, load());
	ASSERT_EQ(EEXIST, errno);
}

TEST_F_TIMEOUT(smoke, use, SLOW)
{
	char buf[512];
	int fd;

	ASSERT_TRUE(loaded());
	fd = open(KNOB, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", KNOB, strerror(errno));
	ASSERT_EQ(7, write(fd, "heaplab", 7));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	ASSERT_EQ(7, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "balpaeh", 7));

	/* Bad input gets an errno, not a crash. */
	memset(buf, 'x', sizeof(buf));
	EXPECT_EQ(-1, write(fd, buf, 257));
	EXPECT_EQ(EINVAL, errno);
	/* raw syscall: libc declares write() nonnull */
	EXPECT_EQ(-1, syscall(SYS_write, fd, NULL, 8));
	EXPECT_EQ(EFAULT, errno);
	close(fd);

	ASSERT_LT(0, read_file(WRITES, buf, sizeof(buf)));
	EXPECT_EQ(1, atoi(buf));
}

TEST_F_TIMEOUT(smoke, unload_refused_while_open, SLOW)
{
	int fd = open(KNOB, O_RDONLY);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, unload());
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_TRUE(loaded());
	close(fd);
}

TEST_F_TIMEOUT(smoke, unload, SLOW)
{
	ASSERT_EQ(0, unload()) TH_LOG("delete_module: %s", strerror(errno));
	ASSERT_FALSE(loaded());
	ASSERT_EQ(-1, unload());
	ASSERT_EQ(ENOENT, errno);
}

TEST_F_TIMEOUT(smoke, load_unload_cycles, SLOW)
{
	int i;

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, load()) TH_LOG("cycle %d: %s", i, strerror(errno));
		ASSERT_EQ(0, unload()) TH_LOG("cycle %d: %s", i, strerror(errno));
	}
	ASSERT_FALSE(loaded());
}

int main(int argc, char **argv)
{
	if (argc > 1 && argv[1][0] != '-') {
		ko_path = argv[1];
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	return test_harness_run(argc, argv);
}
