// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: /sys/fs/dmfs/<MAJ>:<MIN>/, one directory per mounted superblock,
 * named after sb->s_dev as stat(1) prints it (%Hd:%Ld), as ext4 does.
 *
 *   session         (0444) client id of the current session, 0 while
 *                   disconnected (it changes at every reconnect)
 *   server          (0444) IPV4:PORT of dmfsd
 *   ignore_revokes  (0644) 0/1, TEST ONLY: acknowledge REVOKEs of this
 *                   mount but never cancel, so the server evicts it; stays
 *                   set (across reconnects) until 0 is written
 *   stats           (0444) "name value" lines: where callbacks spend their
 *                   time (struct dmfs_stats; sums in ns), as a sysfs
 *                   snapshot rather than one file per counter so that one
 *                   read is consistent enough to subtract
 *
 * Lifetime: the kobject is embedded in dmfs_sb_info. kobject_del() drains
 * every show/store running on the attributes (kernfs active references),
 * and dmfs_sysfs_unregister() waits for the release before the caller
 * frees the superblock info, as ext4 does with s_kobj_unregister.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/kdev_t.h>

#include "dmfs.h"

static struct kset *dmfs_kset;

static struct dmfs_sb_info *kobj_to_sbi(struct kobject *kobj)
{
	return container_of(kobj, struct dmfs_sb_info, kobj);
}

static ssize_t dmfs_session_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	/* a replaced session stays allocated until umount (conn.c) */
	struct dmfs_conn *c = READ_ONCE(kobj_to_sbi(kobj)->conn);
	u64 id = 0;

	if (c && !READ_ONCE(c->dead))
		id = c->client_id;
	return sysfs_emit(buf, "%llu\n", id);
}

static ssize_t dmfs_server_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	struct dmfs_sb_info *sbi = kobj_to_sbi(kobj);

	return sysfs_emit(buf, "%pI4:%u\n", &sbi->addr.sin_addr,
			  ntohs(sbi->addr.sin_port));
}

static ssize_t dmfs_ignore_revokes_show(struct kobject *kobj,
					struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  READ_ONCE(kobj_to_sbi(kobj)->ignore_revokes));
}

static ssize_t dmfs_ignore_revokes_store(struct kobject *kobj,
					 struct kobj_attribute *attr,
					 const char *buf, size_t len)
{
	bool val;
	int err;

	err = kstrtobool(buf, &val);
	if (err)
		return err;
	WRITE_ONCE(kobj_to_sbi(kobj)->ignore_revokes, val);
	return len;
}

static ssize_t dmfs_stats_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	struct dmfs_stats *st = &kobj_to_sbi(kobj)->stats;
	const struct {
		const char *name;
		atomic64_t *v;
	} rows[] = {
		{ "callbacks", &st->callbacks },
		{ "callback_queue_ns", &st->callback_queue_ns },
		{ "revokes", &st->revokes },
		{ "revoke_hold_ns", &st->revoke_hold_ns },
		{ "revoke_writeback_ns", &st->revoke_writeback_ns },
		{ "revoke_evict_ns", &st->revoke_evict_ns },
		{ "revoke_cancel_ns", &st->revoke_cancel_ns },
		{ "hold_raises", &st->hold_raises },
		{ "glimpses", &st->glimpses },
		{ "grant_pages", &st->grant_pages },
	};
	int i, len = 0;

	for (i = 0; i < ARRAY_SIZE(rows); i++)
		len += sysfs_emit_at(buf, len, "%s %lld\n", rows[i].name,
				     atomic64_read(rows[i].v));
	return len;
}

static struct kobj_attribute dmfs_attr_session =
	__ATTR(session, 0444, dmfs_session_show, NULL);
static struct kobj_attribute dmfs_attr_server =
	__ATTR(server, 0444, dmfs_server_show, NULL);
static struct kobj_attribute dmfs_attr_ignore_revokes =
	__ATTR(ignore_revokes, 0644, dmfs_ignore_revokes_show,
	       dmfs_ignore_revokes_store);
static struct kobj_attribute dmfs_attr_stats =
	__ATTR(stats, 0444, dmfs_stats_show, NULL);

static struct attribute *dmfs_sb_attrs[] = {
	&dmfs_attr_session.attr,
	&dmfs_attr_server.attr,
	&dmfs_attr_ignore_revokes.attr,
	&dmfs_attr_stats.attr,
	NULL,
};
ATTRIBUTE_GROUPS(dmfs_sb);

static void dmfs_sb_release(struct kobject *kobj)
{
	complete(&kobj_to_sbi(kobj)->kobj_unregister);
}

static const struct kobj_type dmfs_sb_ktype = {
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= dmfs_sb_groups,
	.release	= dmfs_sb_release,
};

/**
 * dmfs_sysfs_register() - create /sys/fs/dmfs/<MAJ>:<MIN>/ for a mount
 * @sbi: the mount; sb->s_dev is set (sget_fc) and sbi->addr filled in
 *
 * Return: 0 or a negative errno (nothing is left registered then).
 */
int dmfs_sysfs_register(struct dmfs_sb_info *sbi)
{
	dev_t dev = sbi->sb->s_dev;
	int err;

	init_completion(&sbi->kobj_unregister);
	sbi->kobj.kset = dmfs_kset;
	err = kobject_init_and_add(&sbi->kobj, &dmfs_sb_ktype, NULL, "%u:%u",
				   MAJOR(dev), MINOR(dev));
	if (err) {
		kobject_put(&sbi->kobj);
		wait_for_completion(&sbi->kobj_unregister);
		return err;
	}
	sbi->kobj_registered = true;
	return 0;
}

/**
 * dmfs_sysfs_unregister() - remove the mount's sysfs directory
 * @sbi: the mount
 *
 * Idempotent. On return no attribute method runs or will run on @sbi.
 */
void dmfs_sysfs_unregister(struct dmfs_sb_info *sbi)
{
	if (!sbi->kobj_registered)
		return;
	kobject_del(&sbi->kobj);
	kobject_put(&sbi->kobj);
	wait_for_completion(&sbi->kobj_unregister);
	sbi->kobj_registered = false;
}

/**
 * dmfs_sysfs_init() - create /sys/fs/dmfs/ at module load
 *
 * Return: 0 or -ENOMEM.
 */
int __init dmfs_sysfs_init(void)
{
	dmfs_kset = kset_create_and_add("dmfs", NULL, fs_kobj);
	return dmfs_kset ? 0 : -ENOMEM;
}

/**
 * dmfs_sysfs_exit() - remove /sys/fs/dmfs/ (module unload, or a failed load)
 */
void dmfs_sysfs_exit(void)
{
	kset_unregister(dmfs_kset);
	dmfs_kset = NULL;
}
