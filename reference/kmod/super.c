// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: module entry points, filesystem type, mount options, superblock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/random.h>
#include <linux/init.h>
#include <linux/slab.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/inet.h>
#include <linux/seq_file.h>
#include <linux/statfs.h>
#include <linux/backing-dev.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>

#include "dmfs.h"

bool dmfs_fi_skip_fault_lock;
module_param_named(fi_skip_fault_lock, dmfs_fi_skip_fault_lock, bool, 0644);
MODULE_PARM_DESC(fi_skip_fault_lock, "FAULT INJECTION: install pages in .fault without a PR/PW lock");
bool dmfs_fi_skip_mkwrite_pw;
module_param_named(fi_skip_mkwrite_pw, dmfs_fi_skip_mkwrite_pw, bool, 0644);
MODULE_PARM_DESC(fi_skip_mkwrite_pw, "FAULT INJECTION: make pages writable in .page_mkwrite without a PW lock");
bool dmfs_fi_skip_writeback;
module_param_named(fi_skip_writeback, dmfs_fi_skip_writeback, bool, 0644);
MODULE_PARM_DESC(fi_skip_writeback, "FAULT INJECTION: on revoke, drop dirty pages instead of writing them back before cancel");
bool dmfs_fi_even_cows;
module_param_named(fi_even_cows, dmfs_fi_even_cows, bool, 0644);
MODULE_PARM_DESC(fi_even_cows, "FAULT INJECTION: on revoke, unmap_mapping_range(even_cows=1), discarding MAP_PRIVATE copies");
bool dmfs_fi_skip_exec_check;
module_param_named(fi_skip_exec_check, dmfs_fi_skip_exec_check, bool, 0644);
MODULE_PARM_DESC(fi_skip_exec_check, "FAULT INJECTION: do not SIGBUS a running binary (or mapped library) whose data version changed, at a fault or when its exec registration is set again after a reconnect");
unsigned int dmfs_request_timeout = 30;
bool dmfs_reconnect = true;
module_param_named(reconnect, dmfs_reconnect, bool, 0644);
MODULE_PARM_DESC(reconnect, "after an eviction or a lost connection, handshake again as a new client (default on)");
bool dmfs_debug_ignore_revokes;
module_param_named(debug_ignore_revokes, dmfs_debug_ignore_revokes, bool, 0644);
MODULE_PARM_DESC(debug_ignore_revokes, "TEST ONLY: every mount acknowledges REVOKEs but never cancels, so the server evicts it (one mount: /sys/fs/dmfs/MAJ:MIN/ignore_revokes)");
module_param_named(request_timeout, dmfs_request_timeout, uint, 0644);
MODULE_PARM_DESC(request_timeout, "seconds to wait for a server reply before failing with EIO (default 30)");
unsigned int dmfs_lock_timeout = 120;
module_param_named(lock_timeout, dmfs_lock_timeout, uint, 0644);
MODULE_PARM_DESC(lock_timeout, "seconds to wait for a lock grant before failing with EIO (default 120)");
unsigned int dmfs_lock_cache_max = 1024;
unsigned int dmfs_lock_min_hold_us = 3000;
module_param_named(lock_cache_max, dmfs_lock_cache_max, uint, 0644);
MODULE_PARM_DESC(lock_cache_max, "unused locks kept cached per mount (locks of mapped files excepted)");
unsigned int dmfs_debug;
module_param_named(lock_min_hold_us, dmfs_lock_min_hold_us, uint, 0644);
MODULE_PARM_DESC(lock_min_hold_us, "microseconds a revoked lock serves after its grant or last use, so that a faulting task runs the instruction it faulted on: the ceiling of the adaptive hold (0: revoke at once; at most 1000000)");
bool dmfs_lock_hold_adaptive = true;
module_param_named(lock_hold_adaptive, dmfs_lock_hold_adaptive, bool, 0644);
MODULE_PARM_DESC(lock_hold_adaptive, "1: the hold is 0 until a fault of the file makes no progress, then lock_min_hold_us, doubled at each further one up to 16 times, while the file stays contended; 0: always lock_min_hold_us");
module_param_named(debug, dmfs_debug, uint, 0644);
MODULE_PARM_DESC(debug, "log protocol events");

static struct kmem_cache *dmfs_inode_cachep;

static struct inode *dmfs_alloc_inode(struct super_block *sb)
{
	struct dmfs_inode_info *di;

	di = alloc_inode_sb(sb, dmfs_inode_cachep, GFP_KERNEL);
	if (!di)
		return NULL;
	mutex_init(&di->lock_mutex);
	di->locks = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&di->early_revokes);
	INIT_LIST_HEAD(&di->lost_locks);
	di->enqueues = 0;
	di->size_dv = 0;
	atomic64_set(&di->mod_seq, 0);
	atomic_set(&di->writes_unanswered, 0);
	di->size_held = false;
	di->hold_ns = 0;
	di->hold_raised_ns = 0;
	di->served_ns = 0;
	di->sent_back = 0;
	return &di->vfs_inode;
}

static void dmfs_free_inode(struct inode *inode)
{
	kmem_cache_free(dmfs_inode_cachep, DMFS_I(inode));
}

static void dmfs_inode_init_once(void *p)
{
	struct dmfs_inode_info *di = p;

	inode_init_once(&di->vfs_inode);
}

static void dmfs_evict_inode(struct inode *inode)
{
	truncate_inode_pages_final(&inode->i_data);
	dmfs_plock_evict(inode);
	clear_inode(inode);
}

static int dmfs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct dmfs_statfs_rep rep;
	int err;

	err = dmfs_call(DMFS_SB(dentry->d_sb), DMFS_OP_STATFS, NULL, 0, &rep,
			sizeof(rep));
	if (err)
		return err;
	buf->f_type = DMFS_SUPER_MAGIC;
	buf->f_bsize = le32_to_cpu(rep.bsize) ?: PAGE_SIZE;
	buf->f_frsize = buf->f_bsize;
	buf->f_blocks = le64_to_cpu(rep.blocks);
	buf->f_bfree = le64_to_cpu(rep.bfree);
	buf->f_bavail = le64_to_cpu(rep.bavail);
	buf->f_files = le64_to_cpu(rep.files);
	buf->f_ffree = le64_to_cpu(rep.ffree);
	buf->f_namelen = DMFS_MAX_NAME;
	return 0;
}

static int dmfs_show_options(struct seq_file *m, struct dentry *root)
{
	struct dmfs_sb_info *sbi = DMFS_SB(root->d_sb);

	seq_printf(m, ",server=%pI4:%u", &sbi->addr.sin_addr,
		   ntohs(sbi->addr.sin_port));
	if (sbi->secret)
		seq_puts(m, ",secret=<set>");
	return 0;
}

static const struct super_operations dmfs_sops = {
	.alloc_inode	= dmfs_alloc_inode,
	.free_inode	= dmfs_free_inode,
	.evict_inode	= dmfs_evict_inode,
	.statfs		= dmfs_statfs,
	.show_options	= dmfs_show_options,
	.drop_inode	= generic_delete_inode,
};

/* ---- mount options (fs_context) ---- */

enum { OPT_SERVER, OPT_SECRET };

static const struct fs_parameter_spec dmfs_fs_parameters[] = {
	fsparam_string("server", OPT_SERVER),
	fsparam_string("secret", OPT_SECRET),
	{}
};

struct dmfs_fs_context {
	struct sockaddr_in addr;
	bool have_server;
	char *secret;
	size_t secret_len;
};

static int dmfs_parse_server(struct fs_context *fc, const char *s,
			     struct sockaddr_in *sin)
{
	const char *colon = strrchr(s, ':');
	const char *end;
	unsigned int port;
	char ip[16];
	size_t iplen;

	if (!colon)
		return invalfc(fc, "server=%s: expected IPV4:PORT", s);
	iplen = colon - s;
	if (iplen == 0 || iplen >= sizeof(ip))
		return invalfc(fc, "server=: bad IPv4 address");
	memcpy(ip, s, iplen);
	ip[iplen] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (!in4_pton(ip, iplen, (u8 *)&sin->sin_addr.s_addr, -1, &end) ||
	    end != ip + iplen)
		return invalfc(fc, "server=: bad IPv4 address '%s'", ip);
	if (kstrtouint(colon + 1, 10, &port) || port == 0 || port > 65535)
		return invalfc(fc, "server=: bad port '%s'", colon + 1);
	sin->sin_port = htons(port);
	return 0;
}

static int dmfs_read_secret(struct fs_context *fc, const char *path,
			    struct dmfs_fs_context *ctx)
{
	struct file *f;
	char *buf;
	loff_t pos = 0;
	ssize_t n;

	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f))
		return invalfc(fc, "secret=%s: cannot open (%ld)", path,
			       PTR_ERR(f));
	if (!S_ISREG(file_inode(f)->i_mode)) {
		filp_close(f, NULL);
		return invalfc(fc, "secret=%s: not a regular file", path);
	}
	buf = kzalloc(PAGE_SIZE + 1, GFP_KERNEL);
	if (!buf) {
		filp_close(f, NULL);
		return -ENOMEM;
	}
	n = kernel_read(f, buf, PAGE_SIZE, &pos);
	filp_close(f, NULL);
	if (n < 0) {
		kfree_sensitive(buf);
		return invalfc(fc, "secret=%s: read error %zd", path, n);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0 || n >= PAGE_SIZE) {
		kfree_sensitive(buf);
		return invalfc(fc, "secret=%s: must hold 1..%lu bytes", path,
			       PAGE_SIZE - 1);
	}
	/* the protocol uses at most DMFS_MAX_SECRET bytes of it */
	n = min_t(ssize_t, n, DMFS_MAX_SECRET);
	kfree_sensitive(ctx->secret);
	ctx->secret = buf;
	ctx->secret_len = n;
	return 0;
}

static int dmfs_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct dmfs_fs_context *ctx = fc->fs_private;
	struct fs_parse_result result;
	int opt;

	/* the device name "none" / anything is accepted and ignored */
	if (strcmp(param->key, "source") == 0)
		return 0;
	opt = fs_parse(fc, dmfs_fs_parameters, param, &result);
	if (opt < 0)
		return opt;
	switch (opt) {
	case OPT_SERVER:
		if (dmfs_parse_server(fc, param->string, &ctx->addr))
			return -EINVAL;
		ctx->have_server = true;
		return 0;
	case OPT_SECRET:
		return dmfs_read_secret(fc, param->string, ctx);
	}
	return -EINVAL;
}

/**
 * dmfs_walk_inodes() - call a function that may sleep on a mount's inodes
 * @sb: the superblock
 * @want: whether @fn has work on an inode; called under its i_lock, must
 *	not sleep
 * @fn: called with a reference on the inode and no spinlock held
 * @arg: passed to @fn
 *
 * The walk keeps its place in sb->s_inodes by holding the inode it visited
 * until the next one is pinned, as drop_pagecache_sb() does: an inode is
 * never freed while the list lock is dropped for @fn.
 */
void dmfs_walk_inodes(struct super_block *sb, bool (*want)(struct inode *),
		      void (*fn)(struct inode *, void *), void *arg)
{
	struct inode *inode, *toput = NULL;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		spin_lock(&inode->i_lock);
		if ((inode->i_state & (I_FREEING | I_WILL_FREE | I_NEW)) ||
		    !want(inode)) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		__iget(inode);
		spin_unlock(&inode->i_lock);
		spin_unlock(&sb->s_inode_list_lock);
		iput(toput);
		fn(inode, arg);
		toput = inode;
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(toput);
}

static void dmfs_shrink_workfn(struct work_struct *work)
{
	dmfs_lock_shrink(container_of(work, struct dmfs_sb_info, shrink_work));
}

static void dmfs_dead_workfn(struct work_struct *work)
{
	struct dmfs_sb_info *sbi = container_of(work, struct dmfs_sb_info,
						dead_work);

	dmfs_lock_conn_lost(sbi);
	if (dmfs_reconnect && !READ_ONCE(sbi->closing)) {
		sbi->reconnect_delay = 1;
		queue_delayed_work(sbi->wq, &sbi->reconnect_work, HZ);
	}
}

/* bounded back-off: 1, 2, 4 .. 30 s between attempts, until umount */
static void dmfs_reconnect_workfn(struct work_struct *work)
{
	struct dmfs_sb_info *sbi = container_of(to_delayed_work(work),
						struct dmfs_sb_info,
						reconnect_work);
	int err;

	if (READ_ONCE(sbi->closing) || !dmfs_reconnect)
		return;
	err = dmfs_conn_reconnect(sbi);
	if (!err) {
		pr_info("reconnected to %pI4:%u as client %llu (generation %llu): cached pages and extent locks of the earlier session are gone, open registrations and application locks are set again\n",
			&sbi->addr.sin_addr, ntohs(sbi->addr.sin_port),
			sbi->conn->client_id, sbi->generation);
		dmfs_open_replay(sbi, sbi->conn);
		dmfs_plock_replay(sbi, sbi->conn);
		WRITE_ONCE(sbi->replaying, false);
		wake_up_all(&sbi->reconnect_wq);
		return;
	}
	sbi->reconnect_delay = min(sbi->reconnect_delay * 2, 30U);
	pr_warn_ratelimited("reconnect to %pI4:%u failed (%d), next try in %us\n",
			    &sbi->addr.sin_addr, ntohs(sbi->addr.sin_port),
			    err, sbi->reconnect_delay);
	if (!READ_ONCE(sbi->closing))
		queue_delayed_work(sbi->wq, &sbi->reconnect_work,
				   sbi->reconnect_delay * HZ);
}

static int dmfs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct dmfs_fs_context *ctx = fc->fs_private;
	struct dmfs_sb_info *sbi;
	struct dmfs_attr attr;
	struct inode *root;
	int err;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	sbi->sb = sb;
	sbi->addr = ctx->addr;
	sbi->secret = ctx->secret;
	sbi->secret_len = ctx->secret_len;
	ctx->secret = NULL;
	spin_lock_init(&sbi->lru_lock);
	INIT_LIST_HEAD(&sbi->lru);
	mutex_init(&sbi->connect_mutex);
	mutex_init(&sbi->open_mutex);
	INIT_LIST_HEAD(&sbi->open_files);
	INIT_WORK(&sbi->shrink_work, dmfs_shrink_workfn);
	INIT_WORK(&sbi->dead_work, dmfs_dead_workfn);
	INIT_DELAYED_WORK(&sbi->reconnect_work, dmfs_reconnect_workfn);
	init_waitqueue_head(&sbi->reconnect_wq);
	INIT_LIST_HEAD(&sbi->old_conns);
	get_random_bytes(&sbi->owner_key, sizeof(sbi->owner_key));
	sb->s_fs_info = sbi;

	sb->s_magic = DMFS_SUPER_MAGIC;
	sb->s_op = &dmfs_sops;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_time_gran = 1;
	sb->s_d_op = &dmfs_dentry_ops;

	/*
	 * Readahead of DMFS_MAX_IO, in one READ where the server allows it:
	 * .readahead reads only what the client's locks cover (every page in
	 * the cache must have been read under a lock covering it) and stops at
	 * the first page they do not.
	 */
	err = super_setup_bdi(sb);
	if (err)
		return err;
	sb->s_bdi->ra_pages = DMFS_IO_PAGES;
	sb->s_bdi->io_pages = DMFS_IO_PAGES;

	/*
	 * High priority: another client waits for each callback's answer
	 * (revoke, glimpse); with busy tasks on every CPU a normal worker
	 * started a millisecond late on average (sysfs stats).
	 */
	sbi->wq = alloc_workqueue("dmfs_cb",
				  WQ_MEM_RECLAIM | WQ_UNBOUND | WQ_HIGHPRI, 0);
	if (!sbi->wq)
		return -ENOMEM;

	err = dmfs_conn_open(sbi);
	if (err) {
		errorfc(fc, "cannot connect to %pI4:%u: %d",
			&sbi->addr.sin_addr, ntohs(sbi->addr.sin_port), err);
		return err;
	}
	err = dmfs_getattr_root(sbi, &attr);
	if (err)
		return err;
	root = dmfs_iget(sb, &attr);
	if (IS_ERR(root))
		return PTR_ERR(root);
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	/* a mount without its sysfs directory fails: tests rely on it */
	err = dmfs_sysfs_register(sbi);
	if (err)
		errorfc(fc, "cannot create /sys/fs/dmfs/%u:%u: %d",
			MAJOR(sb->s_dev), MINOR(sb->s_dev), err);
	return err;
}

static int dmfs_get_tree(struct fs_context *fc)
{
	struct dmfs_fs_context *ctx = fc->fs_private;

	if (!ctx->have_server)
		return invalfc(fc, "missing server=IPV4:PORT");
	/* every mount is its own client: never share a superblock */
	return get_tree_nodev(fc, dmfs_fill_super);
}

static void dmfs_free_fc(struct fs_context *fc)
{
	struct dmfs_fs_context *ctx = fc->fs_private;

	if (ctx) {
		kfree_sensitive(ctx->secret);
		kfree(ctx);
	}
}

static int dmfs_reconfigure(struct fs_context *fc)
{
	struct dmfs_fs_context *ctx = fc->fs_private;

	if (ctx->have_server || ctx->secret)
		return invalfc(fc, "server/secret cannot be changed by remount");
	return 0;
}

static const struct fs_context_operations dmfs_context_ops = {
	.free		= dmfs_free_fc,
	.parse_param	= dmfs_parse_param,
	.get_tree	= dmfs_get_tree,
	.reconfigure	= dmfs_reconfigure,
};

static int dmfs_init_fs_context(struct fs_context *fc)
{
	struct dmfs_fs_context *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	fc->fs_private = ctx;
	fc->ops = &dmfs_context_ops;
	return 0;
}

/*
 * Order: no new session, write back and give every lock back, end the
 * sessions (no callback is queued after that), run what is queued, evict
 * the inodes, and only then free the workqueue and the sessions its work
 * items point to.
 */
static void dmfs_kill_sb(struct super_block *sb)
{
	struct dmfs_sb_info *sbi = DMFS_SB(sb);

	if (!sbi) {
		kill_anon_super(sb);
		return;
	}
	/* no attribute method runs after this: the sessions go below */
	dmfs_sysfs_unregister(sbi);
	dmfs_conn_stop_connecting(sbi);
	wake_up_all(&sbi->reconnect_wq);
	if (sbi->wq) {
		/* dead_work checks closing: no reconnect is queued after */
		flush_work(&sbi->dead_work);
		cancel_delayed_work_sync(&sbi->reconnect_work);
	}
	if (sb->s_root) {
		/* write back under the PW locks, then give every lock back */
		sync_filesystem(sb);
		flush_workqueue(sbi->wq);
		dmfs_lock_drop_all(sbi);
	}
	dmfs_conn_shutdown(sbi);
	if (sbi->wq)
		flush_workqueue(sbi->wq);
	kill_anon_super(sb);
	if (sbi->wq)
		destroy_workqueue(sbi->wq);
	dmfs_conn_free_all(sbi);
	kfree_sensitive(sbi->secret);
	kfree(sbi);
}

static struct file_system_type dmfs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "dmfs",
	.init_fs_context	= dmfs_init_fs_context,
	.parameters		= dmfs_fs_parameters,
	.kill_sb		= dmfs_kill_sb,
};
MODULE_ALIAS_FS("dmfs");

static int __init dmfs_init(void)
{
	int err;

	dmfs_inode_cachep = kmem_cache_create("dmfs_inode_cache",
					      sizeof(struct dmfs_inode_info), 0,
					      SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					      dmfs_inode_init_once);
	if (!dmfs_inode_cachep)
		return -ENOMEM;
	err = dmfs_lock_init();
	if (err)
		goto out_cache;
	err = dmfs_sysfs_init();
	if (err)
		goto out_lock;
	err = register_filesystem(&dmfs_fs_type);
	if (err)
		goto out_sysfs;
	pr_info("registered (protocol %u)\n", DMFS_PROTO_VERSION);
	return 0;

out_sysfs:
	dmfs_sysfs_exit();
out_lock:
	dmfs_lock_exit();
out_cache:
	kmem_cache_destroy(dmfs_inode_cachep);
	return err;
}

static void __exit dmfs_exit(void)
{
	unregister_filesystem(&dmfs_fs_type);
	dmfs_sysfs_exit();
	rcu_barrier(); /* inodes freed by RCU */
	dmfs_lock_exit();
	kmem_cache_destroy(dmfs_inode_cachep);
	pr_info("unloaded\n");
}

module_init(dmfs_init);
module_exit(dmfs_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dmfs: distributed-mmap reference filesystem client");
MODULE_AUTHOR("dmmap project");
