// SPDX-License-Identifier: GPL-2.0
/*
 * simple-kmod: the smallest useful out-of-tree module. It logs on load and unload
 * and exposes one read-only parameter, so a test can check that parameters passed
 * by a delivery method reach the kernel (/sys/module/simple_kmod/parameters/greeting).
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

static char *greeting = "hello";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "word logged when the module loads");

static int __init simple_kmod_init(void)
{
	pr_info("simple_kmod: loaded (%s)\n", greeting);
	return 0;
}

static void __exit simple_kmod_exit(void)
{
	pr_info("simple_kmod: unloaded\n");
}

module_init(simple_kmod_init);
module_exit(simple_kmod_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmodlab");
MODULE_DESCRIPTION("kmodlab reference driver: plain module");
MODULE_VERSION("1.0.0");
