// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: inodes, directories and the namespace operations.
 *
 * Names are revalidated against the server on every path walk (another
 * client may have created, removed or renamed them); attributes are fetched
 * on every getattr.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/pagemap.h>
#include <linux/namei.h>
#include <linux/mm.h>

#include "dmfs.h"
#include "dmfs_check.h"

static void dmfs_attr_time(struct timespec64 *ts, __le64 sec, __le32 nsec)
{
	ts->tv_sec = (s64)le64_to_cpu(sec);
	ts->tv_nsec = min_t(u32, le32_to_cpu(nsec), NSEC_PER_SEC - 1);
}

/*
 * Does this client hold writes the server has not seen: dirty or writeback
 * pages, or a granted PW lock? Caller holds lock_mutex.
 */
static bool dmfs_has_local_writes(struct inode *inode)
{
	return dmfs_lock_pw_granted(inode) ||
	       mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY) ||
	       mapping_tagged(inode->i_mapping, PAGECACHE_TAG_WRITEBACK);
}

/* dirty or writeback pages from the page holding byte @pos on? */
static bool dmfs_unwritten_from(struct address_space *mapping, loff_t pos)
{
	pgoff_t index = pos >> PAGE_SHIFT;

	if (xa_find(&mapping->i_pages, &index, ULONG_MAX, PAGECACHE_TAG_DIRTY))
		return true;
	index = pos >> PAGE_SHIFT;
	return xa_find(&mapping->i_pages, &index, ULONG_MAX,
		       PAGECACHE_TAG_WRITEBACK);
}

/**
 * dmfs_apply_server_size() - take a file size the server sent
 * @inode: the file (DMFS_I(inode)->lock_mutex held)
 * @attr: the size and the data version it goes with
 *
 * Replies come in any order (a grant, a GETATTR, a WRITE, our own
 * SETATTR): a size older than one already taken, by the file's data
 * version, is ignored. Otherwise the server's size replaces ours, unless
 * this client has unwritten data beyond it (dirty or writeback pages: our
 * own extension, not yet on the server), which an older size must not
 * undo. Nothing else can make our size larger than the server's: another
 * client's truncate below our data would have revoked our lock first.
 *
 * A revoke's WRITEs leave their pages clean before they are answered
 * (dmfs_writeback_send()), so while any is unanswered a smaller size may
 * predate them and nothing in the page cache shows it: such a size is held
 * and decided on when the last answer is in (dmfs_release_held_size()).
 */
void dmfs_apply_server_size(struct inode *inode, const struct dmfs_attr *attr)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	loff_t size = le64_to_cpu(attr->size);
	u64 dv = le64_to_cpu(attr->data_version);
	int unanswered;

	if (dv < di->size_dv)
		return;
	unanswered = atomic_read(&di->writes_unanswered);
	smp_rmb(); /* then the page tags: pairs with dmfs_wb_write() */
	if (size < i_size_read(inode) && unanswered) {
		if (!di->size_held || dv >= di->held_dv) {
			di->size_held = true;
			di->held_size = size;
			di->held_dv = dv;
		}
		return;
	}
	di->size_dv = dv;
	if (size < i_size_read(inode) &&
	    dmfs_unwritten_from(inode->i_mapping, size))
		return;
	i_size_write(inode, size);
}

/**
 * dmfs_release_held_size() - a held size, once a revoke's WRITEs are answered
 * @inode: the file (DMFS_I(inode)->lock_mutex held, writes_unanswered 0)
 *
 * The answers carry newer data versions than any reply that predates
 * them, which is then dropped; a newer one (another client's truncate
 * after our lock was cancelled) now applies.
 */
void dmfs_release_held_size(struct inode *inode)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_attr attr = {};

	if (!di->size_held)
		return;
	di->size_held = false;
	attr.size = cpu_to_le64(di->held_size);
	attr.data_version = cpu_to_le64(di->held_dv);
	dmfs_apply_server_size(inode, &attr);
}

/*
 * Apply attributes the server sent; their size too with @size (as
 * dmfs_apply_server_size() says). With local writes pending, mtime and
 * ctime only advance.
 */
static void dmfs_apply_attr(struct inode *inode, const struct dmfs_attr *attr,
			    bool size)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	umode_t mode = le32_to_cpu(attr->mode);
	struct timespec64 mtime, ctime;
	bool local_writes;

	inode->i_mode = (inode->i_mode & S_IFMT) | (mode & ~S_IFMT);
	set_nlink(inode, le32_to_cpu(attr->nlink));
	inode->i_uid = make_kuid(&init_user_ns, le32_to_cpu(attr->uid));
	inode->i_gid = make_kgid(&init_user_ns, le32_to_cpu(attr->gid));
	dmfs_attr_time(&inode->i_atime, attr->atime_sec, attr->atime_nsec);
	dmfs_attr_time(&mtime, attr->mtime_sec, attr->mtime_nsec);
	dmfs_attr_time(&ctime, attr->ctime_sec, attr->ctime_nsec);
	inode->i_blocks = le64_to_cpu(attr->blocks);
	inode->i_generation = le32_to_cpu(attr->generation);

	mutex_lock(&di->lock_mutex);
	local_writes = dmfs_has_local_writes(inode);
	if (size)
		dmfs_apply_server_size(inode, attr);
	/*
	 * Our own unwritten stores (file_update_time at write()/page_mkwrite)
	 * are newer than what the server saw: times only advance then.
	 */
	if (!local_writes || timespec64_compare(&mtime, &inode->i_mtime) > 0)
		inode->i_mtime = mtime;
	if (!local_writes || timespec64_compare(&ctime, &inode->i_ctime) > 0)
		inode->i_ctime = ctime;
	mutex_unlock(&di->lock_mutex);
}

/**
 * dmfs_update_inode() - apply attributes the server sent
 * @inode: the inode
 * @attr: its attributes
 *
 * The size as dmfs_apply_server_size() says; with local writes pending,
 * mtime and ctime only advance.
 */
void dmfs_update_inode(struct inode *inode, const struct dmfs_attr *attr)
{
	dmfs_apply_attr(inode, attr, true);
}

/**
 * dmfs_iget() - the inode of a file the server described
 * @sb: the superblock
 * @attr: the file's attributes (a LOOKUP, CREATE or GETATTR reply)
 *
 * Return: a referenced inode, its attributes updated; ERR_PTR(-EIO) for a
 * file id of 0 or an unsupported type, -ESTALE if a cached inode of that
 * id has another type, -ENOMEM.
 */
struct inode *dmfs_iget(struct super_block *sb, const struct dmfs_attr *attr)
{
	u64 id = le64_to_cpu(attr->file_id);
	umode_t mode = le32_to_cpu(attr->mode);
	struct inode *inode;

	if (!id || (!S_ISREG(mode) && !S_ISDIR(mode) && !S_ISLNK(mode)))
		return ERR_PTR(-EIO);
	inode = iget_locked(sb, id);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW)) {
		if ((inode->i_mode & S_IFMT) != (mode & S_IFMT)) {
			iput(inode);
			return ERR_PTR(-ESTALE);
		}
		dmfs_update_inode(inode, attr);
		return inode;
	}
	inode->i_mode = mode & S_IFMT;
	if (S_ISDIR(mode)) {
		inode->i_op = &dmfs_dir_iops;
		inode->i_fop = &dmfs_dir_fops;
	} else if (S_ISREG(mode)) {
		inode->i_op = &dmfs_file_iops;
		inode->i_fop = &dmfs_file_fops;
		inode->i_mapping->a_ops = &dmfs_aops;
	} else {
		/* symlinks are listed but not supported */
		inode->i_op = &dmfs_file_iops;
		inode->i_fop = &dmfs_file_fops;
		inode->i_mapping->a_ops = &dmfs_aops;
	}
	dmfs_update_inode(inode, attr);
	unlock_new_inode(inode);
	return inode;
}

static int dmfs_getattr_rpc(struct dmfs_sb_info *sbi, u64 id,
			    struct dmfs_attr *attr)
{
	struct dmfs_fid_req rq = { .file_id = cpu_to_le64(id) };
	int err;

	err = dmfs_call(sbi, DMFS_OP_GETATTR, &rq, sizeof(rq), attr,
			sizeof(*attr));
	if (err)
		return err;
	if (le64_to_cpu(attr->file_id) != id)
		return -EIO;
	return 0;
}

/**
 * dmfs_getattr_root() - attributes of the root directory
 * @sbi: the mount, connected
 * @attr: filled in
 *
 * Return: 0, -ENOTDIR if the server's root is no directory, or an error of
 * dmfs_call().
 */
int dmfs_getattr_root(struct dmfs_sb_info *sbi, struct dmfs_attr *attr)
{
	int err = dmfs_getattr_rpc(sbi, sbi->root_id, attr);

	if (!err && !S_ISDIR(le32_to_cpu(attr->mode)))
		return -ENOTDIR;
	return err;
}

/**
 * dmfs_fetch_attr() - GETATTR of an inode, applied to it
 * @inode: the inode
 * @attr: the attributes the server sent
 *
 * Return: 0, -ESTALE if the file's type changed, or an error of dmfs_call().
 */
int dmfs_fetch_attr(struct inode *inode, struct dmfs_attr *attr)
{
	int err;

	err = dmfs_getattr_rpc(DMFS_SB(inode->i_sb), inode->i_ino, attr);
	if (err)
		return err;
	if ((le32_to_cpu(attr->mode) & S_IFMT) != (inode->i_mode & S_IFMT))
		return -ESTALE;
	dmfs_update_inode(inode, attr);
	return 0;
}

static int dmfs_refresh_attr(struct inode *inode)
{
	struct dmfs_attr attr;
	loff_t old = i_size_read(inode);
	int err;

	err = dmfs_fetch_attr(inode, &attr);
	if (err)
		return err;
	if (S_ISREG(inode->i_mode) && i_size_read(inode) < old)
		truncate_pagecache(inode, i_size_read(inode));
	return 0;
}

/*
 * The attributes a GETATTR would give, plus what other clients hold
 * unwritten: without GLIMPSE (an older server), a PR lock on the whole
 * file revokes every PW lock first, so that their data is written back
 * before the GETATTR.
 */
static int dmfs_fetch_attr_sync(struct inode *inode, struct dmfs_attr *attr,
				bool *glimpsed)
{
	struct dmfs_lock *lk;
	int err;

	err = dmfs_glimpse_attr(inode, attr);
	*glimpsed = err != -EOPNOTSUPP;
	if (*glimpsed)
		return err;
	lk = dmfs_lock_get(inode, DMFS_LOCK_PR, 0, DMFS_EOF);
	if (IS_ERR(lk))
		return PTR_ERR(lk);
	err = dmfs_getattr_rpc(DMFS_SB(inode->i_sb), inode->i_ino, attr);
	dmfs_lock_put(lk);
	return err;
}

/*
 * The size a stat reports after a glimpse (@attr, its revoke's WRITEs
 * answered): the glimpse's, or i_size where i_size knows more: our own
 * unwritten data beyond it, or a server size newer than the glimpse's (our
 * WRITEs answered since). An older or as old i_size may be stale (another
 * client's truncate evicted our pages but left it), or lack the other
 * holders' unwritten data.
 */
static loff_t dmfs_glimpsed_size(struct inode *inode,
				 const struct dmfs_attr *attr)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	loff_t glimpse = le64_to_cpu(attr->size);
	bool newer;

	mutex_lock(&di->lock_mutex);
	newer = di->size_dv > le64_to_cpu(attr->data_version);
	mutex_unlock(&di->lock_mutex);
	if (newer || dmfs_unwritten_from(inode->i_mapping, glimpse))
		return max_t(loff_t, i_size_read(inode), glimpse);
	return glimpse;
}

/**
 * dmfs_refresh_attr_sync() - attributes as of now, cluster-wide
 * @inode: the inode
 * @size: set to the file's size as of now
 *
 * For a regular file another client may hold dirty pages (a mapped store,
 * a write()) that changed size and mtime only in its cache: the GLIMPSE
 * asks it for them, through the server, without taking its lock (the HLD's
 * size "glimpse").
 *
 * The size is the glimpse's, or ours where it knows more
 * (dmfs_glimpsed_size()). It never becomes i_size: no lock of ours holds
 * it, so any later reply (a grant, the answer to one of our revoke's
 * WRITEs) brings the server's smaller size back, with a data version as
 * new, and a read that took a lock short of EOF on the strength of the
 * glimpse's size found the file ending early. i_size stays what the server
 * or our own writes say, below which a read or fault locks up to EOF
 * (dmfs_lock_get_sized()).
 *
 * Return: 0 or a negative errno.
 */
int dmfs_refresh_attr_sync(struct inode *inode, loff_t *size)
{
	struct dmfs_attr attr;
	loff_t old = i_size_read(inode);
	bool glimpsed;
	int err;

	if (!S_ISREG(inode->i_mode) || !inode->i_nlink) {
		err = dmfs_refresh_attr(inode);
		*size = i_size_read(inode);
		return err;
	}
	err = dmfs_fetch_attr_sync(inode, &attr, &glimpsed);
	if (err)
		return err;
	if ((le32_to_cpu(attr.mode) & S_IFMT) != (inode->i_mode & S_IFMT))
		return -ESTALE;
	dmfs_apply_attr(inode, &attr, !glimpsed);
	/* a size held for a revoke's WRITEs is decided once they are answered */
	if (wait_var_event_killable(&DMFS_I(inode)->writes_unanswered,
				    !atomic_read(&DMFS_I(inode)->writes_unanswered)))
		return -EINTR;
	if (i_size_read(inode) < old)
		truncate_pagecache(inode, i_size_read(inode));
	*size = glimpsed ? dmfs_glimpsed_size(inode, &attr) :
		max_t(loff_t, i_size_read(inode), le64_to_cpu(attr.size));
	return 0;
}

/* name request helper: fixed struct + name bytes */
static int dmfs_name_rpc(struct dmfs_sb_info *sbi, u16 op, void *fixed,
			 u32 flen, const struct qstr *name, u32 min_reply,
			 void **reply, u32 *rlen)
{
	if (name->len == 0 || name->len > DMFS_MAX_NAME)
		return -ENAMETOOLONG;
	return dmfs_rpc(sbi, op, fixed, flen, name->name, name->len, min_reply,
			reply, rlen);
}

static int dmfs_lookup_rpc(struct inode *dir, const struct qstr *name,
			   struct dmfs_attr *attr)
{
	struct dmfs_name_req rq;
	u32 rlen;
	void *r;
	int err;

	memset(&rq, 0, sizeof(rq));
	rq.parent_id = cpu_to_le64(dir->i_ino);
	rq.namelen = cpu_to_le16(name->len);
	err = dmfs_name_rpc(DMFS_SB(dir->i_sb), DMFS_OP_LOOKUP, &rq,
			    sizeof(rq), name, sizeof(struct dmfs_attr_rep),
			    &r, &rlen);
	if (err)
		return err;
	memcpy(attr, r, sizeof(*attr));
	kvfree(r);
	return 0;
}

static struct dentry *dmfs_lookup(struct inode *dir, struct dentry *dentry,
				  unsigned int flags)
{
	struct dmfs_attr attr;
	struct inode *inode = NULL;
	int err;

	if (dentry->d_name.len > DMFS_MAX_NAME)
		return ERR_PTR(-ENAMETOOLONG);
	err = dmfs_lookup_rpc(dir, &dentry->d_name, &attr);
	if (err && err != -ENOENT)
		return ERR_PTR(err);
	if (!err)
		inode = dmfs_iget(dir->i_sb, &attr);
	return d_splice_alias(inode, dentry);
}

static int dmfs_d_revalidate(struct dentry *dentry, unsigned int flags)
{
	struct dmfs_attr attr;
	struct inode *dir, *inode;
	struct dentry *parent;
	int err, ret;

	if (flags & LOOKUP_RCU)
		return -ECHILD;
	inode = d_inode(dentry);
	if (!inode)
		return 0; /* negative: always ask again */
	if (IS_ROOT(dentry))
		return 1;
	parent = dget_parent(dentry);
	dir = d_inode(parent);
	err = dmfs_lookup_rpc(dir, &dentry->d_name, &attr);
	dput(parent);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err == -EIO ? -EIO : 0;
	ret = le64_to_cpu(attr.file_id) == inode->i_ino &&
	      (le32_to_cpu(attr.mode) & S_IFMT) == (inode->i_mode & S_IFMT);
	if (ret)
		dmfs_update_inode(inode, &attr);
	return ret;
}

const struct dentry_operations dmfs_dentry_ops = {
	.d_revalidate = dmfs_d_revalidate,
};

static int dmfs_create_common(struct inode *dir, struct dentry *dentry,
			      umode_t mode, u16 op, bool excl)
{
	struct dmfs_create_req rq;
	struct inode *inode;
	u32 rlen;
	void *r;
	int err;

	memset(&rq, 0, sizeof(rq));
	rq.parent_id = cpu_to_le64(dir->i_ino);
	rq.mode = cpu_to_le32(mode & 07777);
	rq.uid = cpu_to_le32(from_kuid(&init_user_ns, current_fsuid()));
	rq.gid = cpu_to_le32(from_kgid(&init_user_ns, current_fsgid()));
	rq.flags = cpu_to_le32(excl ? DMFS_CREATE_EXCL : 0);
	rq.namelen = cpu_to_le16(dentry->d_name.len);
	err = dmfs_name_rpc(DMFS_SB(dir->i_sb), op, &rq, sizeof(rq),
			    &dentry->d_name, sizeof(struct dmfs_attr_rep), &r,
			    &rlen);
	if (err)
		return err;
	inode = dmfs_iget(dir->i_sb, r);
	kvfree(r);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	if (op == DMFS_OP_MKDIR ? !S_ISDIR(inode->i_mode) :
				  S_ISDIR(inode->i_mode)) {
		iput(inode);
		return -EIO;
	}
	d_instantiate(dentry, inode);
	dmfs_refresh_attr(dir);
	return 0;
}

static int dmfs_create(struct user_namespace *ns, struct inode *dir,
		       struct dentry *dentry, umode_t mode, bool excl)
{
	return dmfs_create_common(dir, dentry, mode, DMFS_OP_CREATE, excl);
}

static int dmfs_mkdir(struct user_namespace *ns, struct inode *dir,
		      struct dentry *dentry, umode_t mode)
{
	return dmfs_create_common(dir, dentry, mode, DMFS_OP_MKDIR, true);
}

static int dmfs_remove(struct inode *dir, struct dentry *dentry, u16 op)
{
	struct inode *inode = d_inode(dentry);
	struct dmfs_name_req rq;
	int err;

	memset(&rq, 0, sizeof(rq));
	rq.parent_id = cpu_to_le64(dir->i_ino);
	rq.namelen = cpu_to_le16(dentry->d_name.len);
	err = dmfs_name_rpc(DMFS_SB(dir->i_sb), op, &rq, sizeof(rq),
			    &dentry->d_name, 0, NULL, NULL);
	if (err)
		return err;
	if (op == DMFS_OP_RMDIR)
		clear_nlink(inode);
	else
		drop_nlink(inode);
	dmfs_refresh_attr(dir);
	if (S_ISREG(inode->i_mode) && !inode->i_nlink)
		dmfs_lock_drop_inode(inode, false);
	return 0;
}

static int dmfs_unlink(struct inode *dir, struct dentry *dentry)
{
	return dmfs_remove(dir, dentry, DMFS_OP_UNLINK);
}

static int dmfs_rmdir(struct inode *dir, struct dentry *dentry)
{
	return dmfs_remove(dir, dentry, DMFS_OP_RMDIR);
}

static int dmfs_rename(struct user_namespace *ns, struct inode *old_dir,
		       struct dentry *old_dentry, struct inode *new_dir,
		       struct dentry *new_dentry, unsigned int flags)
{
	struct dmfs_rename_req rq;
	struct inode *target = d_inode(new_dentry);
	char *names;
	int err;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if (old_dentry->d_name.len > DMFS_MAX_NAME ||
	    new_dentry->d_name.len > DMFS_MAX_NAME)
		return -ENAMETOOLONG;
	names = kmalloc(old_dentry->d_name.len + new_dentry->d_name.len,
			GFP_KERNEL);
	if (!names)
		return -ENOMEM;
	memcpy(names, old_dentry->d_name.name, old_dentry->d_name.len);
	memcpy(names + old_dentry->d_name.len, new_dentry->d_name.name,
	       new_dentry->d_name.len);
	memset(&rq, 0, sizeof(rq));
	rq.old_parent_id = cpu_to_le64(old_dir->i_ino);
	rq.new_parent_id = cpu_to_le64(new_dir->i_ino);
	rq.flags = cpu_to_le32(flags & RENAME_NOREPLACE ?
			       DMFS_RENAME_NOREPLACE : 0);
	rq.old_namelen = cpu_to_le16(old_dentry->d_name.len);
	rq.new_namelen = cpu_to_le16(new_dentry->d_name.len);
	err = dmfs_rpc(DMFS_SB(old_dir->i_sb), DMFS_OP_RENAME, &rq, sizeof(rq),
		       names, old_dentry->d_name.len + new_dentry->d_name.len,
		       0, NULL, NULL);
	kfree(names);
	if (err)
		return err;
	if (target) {
		if (S_ISDIR(target->i_mode))
			clear_nlink(target);
		else
			drop_nlink(target);
	}
	dmfs_refresh_attr(old_dir);
	if (new_dir != old_dir)
		dmfs_refresh_attr(new_dir);
	return 0;
}

static int dmfs_getattr(struct user_namespace *ns, const struct path *path,
			struct kstat *stat, u32 request_mask,
			unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	loff_t size = i_size_read(inode);
	int err;

	if (!(flags & AT_STATX_DONT_SYNC)) {
		err = dmfs_refresh_attr_sync(inode, &size);
		if (err)
			return err;
	}
	generic_fillattr(ns, inode, stat);
	stat->size = size;
	stat->blksize = PAGE_SIZE;
	return 0;
}

static int dmfs_setattr(struct user_namespace *ns, struct dentry *dentry,
			struct iattr *ia)
{
	struct inode *inode = d_inode(dentry);
	struct dmfs_setattr_req rq;
	struct dmfs_attr attr;
	struct dmfs_lock *lk = NULL;
	u32 valid = 0;
	int err;

	err = setattr_prepare(ns, dentry, ia);
	if (err)
		return err;
	memset(&rq, 0, sizeof(rq));
	rq.file_id = cpu_to_le64(inode->i_ino);
	if (ia->ia_valid & ATTR_MODE) {
		valid |= DMFS_SA_MODE;
		rq.mode = cpu_to_le32(ia->ia_mode & 07777);
	}
	if (ia->ia_valid & ATTR_UID) {
		valid |= DMFS_SA_UID;
		rq.uid = cpu_to_le32(from_kuid(&init_user_ns, ia->ia_uid));
	}
	if (ia->ia_valid & ATTR_GID) {
		valid |= DMFS_SA_GID;
		rq.gid = cpu_to_le32(from_kgid(&init_user_ns, ia->ia_gid));
	}
	if (ia->ia_valid & ATTR_ATIME) {
		if (ia->ia_valid & ATTR_ATIME_SET) {
			valid |= DMFS_SA_ATIME;
			rq.atime_sec = cpu_to_le64(ia->ia_atime.tv_sec);
			rq.atime_nsec = cpu_to_le32(ia->ia_atime.tv_nsec);
		} else {
			valid |= DMFS_SA_ATIME_NOW;
		}
	}
	if (ia->ia_valid & ATTR_MTIME) {
		if (ia->ia_valid & ATTR_MTIME_SET) {
			valid |= DMFS_SA_MTIME;
			rq.mtime_sec = cpu_to_le64(ia->ia_mtime.tv_sec);
			rq.mtime_nsec = cpu_to_le32(ia->ia_mtime.tv_nsec);
		} else {
			valid |= DMFS_SA_MTIME_NOW;
		}
	}
	if ((ia->ia_valid & ATTR_SIZE) && S_ISREG(inode->i_mode)) {
		valid |= DMFS_SA_SIZE;
		rq.size = cpu_to_le64(ia->ia_size);
		/* a truncate is a write to [new size, EOF): PW first */
		lk = dmfs_lock_get(inode, DMFS_LOCK_PW, ia->ia_size, DMFS_EOF);
		if (IS_ERR(lk))
			return PTR_ERR(lk);
		/* our own dirty data below the new size must reach the server first */
		err = filemap_write_and_wait(inode->i_mapping);
		if (err)
			goto out;
	}
	if (!valid)
		goto out;
	rq.valid = cpu_to_le32(valid);
	err = dmfs_call(DMFS_SB(inode->i_sb), DMFS_OP_SETATTR, &rq, sizeof(rq),
			&attr, sizeof(attr));
	if (err)
		goto out;
	if (valid & DMFS_SA_SIZE) {
		/* our truncate, as of its data version: older sizes are out */
		mutex_lock(&DMFS_I(inode)->lock_mutex);
		DMFS_I(inode)->size_dv = max(DMFS_I(inode)->size_dv,
					     le64_to_cpu(attr.data_version));
		mutex_unlock(&DMFS_I(inode)->lock_mutex);
		truncate_setsize(inode, ia->ia_size);
	}
	dmfs_update_inode(inode, &attr);
out:
	if (lk && !IS_ERR(lk))
		dmfs_lock_put(lk);
	return err;
}

/*
 * Emit the records of one READDIR reply (checked by dmfs_check_dirent()).
 * Return: 1 when @ctx is full, 0 when all were emitted, or -EIO/-EOVERFLOW.
 */
static int dmfs_readdir_emit(struct dir_context *ctx, const void *r, u32 rlen)
{
	const struct dmfs_readdir_rep *rep = r;
	u32 i, nlen, off = sizeof(*rep);
	const struct dmfs_dirent *de;
	int reclen;

	for (i = 0; i < le32_to_cpu(rep->count); i++) {
		reclen = dmfs_check_dirent(r, rlen, off, &nlen);
		if (reclen < 0) {
			pr_warn_ratelimited("malformed READDIR reply\n");
			return reclen;
		}
		de = r + off;
		if (!dir_emit(ctx, (const char *)(de + 1), nlen,
			      le64_to_cpu(de->file_id), de->type))
			return 1;
		ctx->pos = le64_to_cpu(de->next_cookie) + 2;
		off += reclen;
	}
	return 0;
}

/* readdir: ctx->pos 0/1 are "." and "..", then pos = server cookie + 2 */
static int dmfs_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	struct dmfs_readdir_req rq = {};
	const struct dmfs_readdir_rep *rep;
	bool eof;
	u32 rlen;
	void *r;
	int err;

	if (!dir_emit_dots(file, ctx))
		return 0;
	while (ctx->pos >= 2 && ctx->pos != LLONG_MAX) {
		rq.dir_id = cpu_to_le64(dir->i_ino);
		rq.cookie = cpu_to_le64(ctx->pos - 2);
		rq.max_bytes = cpu_to_le32(32768);
		err = dmfs_rpc(DMFS_SB(dir->i_sb), DMFS_OP_READDIR, &rq,
			       sizeof(rq), NULL, 0, sizeof(*rep), &r, &rlen);
		if (err)
			return err;
		rep = r;
		eof = (le32_to_cpu(rep->flags) & DMFS_READDIR_EOF) ||
		      !rep->count;
		err = dmfs_readdir_emit(ctx, r, rlen);
		kvfree(r);
		if (err)
			return err < 0 ? err : 0;
		if (eof)
			ctx->pos = LLONG_MAX;
	}
	return 0;
}

const struct inode_operations dmfs_dir_iops = {
	.lookup		= dmfs_lookup,
	.create		= dmfs_create,
	.mkdir		= dmfs_mkdir,
	.unlink		= dmfs_unlink,
	.rmdir		= dmfs_rmdir,
	.rename		= dmfs_rename,
	.getattr	= dmfs_getattr,
	.setattr	= dmfs_setattr,
};

const struct inode_operations dmfs_file_iops = {
	.getattr	= dmfs_getattr,
	.setattr	= dmfs_setattr,
};

const struct file_operations dmfs_dir_fops = {
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= dmfs_readdir,
	.fsync		= noop_fsync,
};
