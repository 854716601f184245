// SPDX-License-Identifier: GPL-2.0
/*
 * Self-test for ci/guest-run: a module whose init raises a kernel WARNING,
 * so that the runner's dmesg check (exit status 123) is proven to work.
 */
#include <linux/module.h>
#include <linux/bug.h>

static int __init dmmap_warn_test_init(void)
{
	WARN(1, "dmmap guest-run self-test: deliberate warning\n");
	return 0;
}

static void __exit dmmap_warn_test_exit(void)
{
}

module_init(dmmap_warn_test_init);
module_exit(dmmap_warn_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dmmap guest-run self-test: raises a WARNING on load");
