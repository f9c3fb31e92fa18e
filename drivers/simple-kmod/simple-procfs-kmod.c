// SPDX-License-Identifier: GPL-2.0
/*
 * simple-procfs-kmod: exposes /proc/simple-procfs-kmod, which prints how many times it
 * has been read. A test reads it to prove the module really runs in the kernel, not
 * only that it is listed in /proc/modules.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/atomic.h>

#define PROC_NAME "simple-procfs-kmod"

static atomic_t reads = ATOMIC_INIT(0);
static struct proc_dir_entry *entry;

static int simple_procfs_show(struct seq_file *m, void *v)
{
	seq_printf(m, "simple-procfs-kmod reads=%d\n", atomic_inc_return(&reads));
	return 0;
}

static int simple_procfs_open(struct inode *inode, struct file *file)
{
	return single_open(file, simple_procfs_show, NULL);
}

static const struct proc_ops simple_procfs_ops = {
	.proc_open = simple_procfs_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static int __init simple_procfs_init(void)
{
	entry = proc_create(PROC_NAME, 0444, NULL, &simple_procfs_ops);
	if (!entry)
		return -ENOMEM;
	pr_info("simple_procfs_kmod: /proc/%s created\n", PROC_NAME);
	return 0;
}

static void __exit simple_procfs_exit(void)
{
	proc_remove(entry);
	pr_info("simple_procfs_kmod: unloaded\n");
}

module_init(simple_procfs_init);
module_exit(simple_procfs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmodlab");
MODULE_DESCRIPTION("kmodlab reference driver: module exposing a procfs file");
MODULE_VERSION("1.0.0");
