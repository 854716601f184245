// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: application locks - fcntl() record locks and flock() - are
 * cluster-wide, arbitrated by the server (PLOCK); left to the VFS they would
 * be kept per mount, i.e. per client, and not exclude other clients. A lock
 * the server set (or removed) is then recorded locally, so close()
 * (locks_remove_posix and locks_remove_flock only call us when the inode has
 * local locks) and /proc/locks see it, as fuse and nfs do.
 *
 * A new session (after an eviction or a lost connection) does not have the
 * old session's locks: the reconnect sets them again from the local record
 * (dmfs_plock_replay()). A lock another client took meanwhile cannot be:
 * its owner is told by -EIO on every later read(), write() and fault of
 * that file (SIGBUS), until it unlocks, as NFSv4 does with lost locks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/fs.h>
#include <linux/sched.h>

#include "dmfs.h"

/* an owner whose lock on this file the reconnect could not set again */
struct dmfs_lost_lock {
	struct list_head list;
	fl_owner_t owner;
};

/* a local lock, copied for the replay */
struct dmfs_plock_copy {
	fl_owner_t owner;
	loff_t start, end;    /* fl_start, fl_end (inclusive) */
	unsigned char type;   /* F_RDLCK / F_WRLCK */
	bool flock;
	pid_t pid;
};

static void dmfs_plock_fill(struct inode *inode, fl_owner_t owner, bool flock,
			    loff_t start, loff_t end, u32 type, u32 flags,
			    pid_t pid, struct dmfs_plock_req *rq)
{
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);

	memset(rq, 0, sizeof(*rq));
	rq->file_id = cpu_to_le64(inode->i_ino);
	/* a kernel pointer never leaves the machine */
	rq->owner = cpu_to_le64((u64)(unsigned long)owner ^ sbi->owner_key);
	rq->start = cpu_to_le64(flock ? 0 : start);
	rq->end = cpu_to_le64(flock || end == OFFSET_MAX ? DMFS_EOF :
			      (u64)end + 1);
	rq->type = cpu_to_le32(type);
	rq->flags = cpu_to_le32(flags | (flock ? DMFS_PLKF_FLOCK : 0));
	rq->pid = cpu_to_le32(pid);
}

/* F_GETLK: the first conflicting lock the server reports, or F_UNLCK */
static int dmfs_plock_tested(const struct dmfs_plock_rep *rep,
			     struct file_lock *fl)
{
	u32 type = le32_to_cpu(rep->type);
	u64 s = le64_to_cpu(rep->start), e = le64_to_cpu(rep->end);

	if (type == DMFS_PLK_UNLCK) {
		fl->fl_type = F_UNLCK;
		return 0;
	}
	if ((type != DMFS_PLK_RDLCK && type != DMFS_PLK_WRLCK) ||
	    s >= e || s > OFFSET_MAX)
		return -EIO;
	fl->fl_type = type == DMFS_PLK_RDLCK ? F_RDLCK : F_WRLCK;
	fl->fl_start = s;
	fl->fl_end = e == DMFS_EOF || e - 1 > OFFSET_MAX ? OFFSET_MAX : e - 1;
	fl->fl_pid = le32_to_cpu(rep->pid);
	return 0;
}

/* the owner unlocked: its lost lock is history */
static void dmfs_plock_forget(struct inode *inode, fl_owner_t owner)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_lost_lock *ll, *tmp;

	if (list_empty_careful(&di->lost_locks))
		return;
	mutex_lock(&di->lock_mutex);
	list_for_each_entry_safe(ll, tmp, &di->lost_locks, list) {
		if (ll->owner == owner) {
			list_del(&ll->list);
			kfree(ll);
		}
	}
	mutex_unlock(&di->lock_mutex);
}

static void dmfs_plock_lost(struct inode *inode, fl_owner_t owner,
			    const char *why, int err)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_lost_lock *ll = kmalloc(sizeof(*ll), GFP_KERNEL);

	pr_warn("ino %lu: an application lock was lost %s (%d): its owner's I/O on the file fails with EIO until it unlocks\n",
		inode->i_ino, why, err);
	mutex_lock(&di->lock_mutex);
	if (ll) {
		ll->owner = owner;
		list_add(&ll->list, &di->lost_locks);
	}
	mutex_unlock(&di->lock_mutex);
}

/* does @owner hold a local lock overlapping [@start, @end] of @inode? */
static bool dmfs_plock_held(struct inode *inode, fl_owner_t owner, bool flock,
			    loff_t start, loff_t end)
{
	struct file_lock_context *ctx = locks_inode_context(inode);
	struct file_lock *fl;
	bool held = false;

	if (!ctx)
		return false;
	spin_lock(&ctx->flc_lock);
	list_for_each_entry(fl, flock ? &ctx->flc_flock : &ctx->flc_posix,
			    fl_list) {
		if (fl->fl_owner == owner && fl->fl_start <= end &&
		    start <= fl->fl_end)
			held = true;
	}
	spin_unlock(&ctx->flc_lock);
	return held;
}

/* apply @fl to the local record, waiting for a conflicting local lock */
static int dmfs_plock_local(struct file *file, struct file_lock *fl)
{
	unsigned int fl_flags = fl->fl_flags;
	int err;

	fl->fl_flags |= FL_SLEEP;
	err = locks_lock_file_wait(file, fl);
	fl->fl_flags = fl_flags;
	return err;
}

/*
 * Locally first, then at the server: as soon as the server lets the lock go
 * it may grant it to another owner on this client, whose local record must
 * not find ours still there (lockd's order, nlmclnt_unlock()). An unlock is
 * always applied locally, also when the server is gone: its locks went with
 * the session.
 */
static int dmfs_plock_unlock(struct file *file, struct file_lock *fl,
			     const struct dmfs_plock_req *rq)
{
	struct inode *inode = file_inode(file);

	dmfs_plock_local(file, fl);
	dmfs_plock_forget(inode, fl->fl_owner);
	dmfs_rpc_plock(DMFS_SB(inode->i_sb), rq, NULL);
	return 0;
}

/*
 * The server set the lock: record it. Another owner's local lock can still
 * be in the way for a moment (its unlock or downgrade reached the server,
 * its local record is being changed), so wait for it as lockd does rather
 * than fail. If that wait fails (a signal), the lock goes back to the server:
 * one held there that no local record will release blocks every client. An
 * earlier lock of the owner in that range then went with it: it is lost
 * (dmfs_plock_check()).
 */
static int dmfs_plock_record(struct file *file, struct file_lock *fl,
			     bool flock, const struct dmfs_plock_req *rq)
{
	struct inode *inode = file_inode(file);
	struct dmfs_plock_req undo = *rq;
	int err = dmfs_plock_local(file, fl);

	if (!err)
		return 0;
	undo.type = cpu_to_le32(DMFS_PLK_UNLCK);
	undo.flags = cpu_to_le32(le32_to_cpu(rq->flags) & DMFS_PLKF_FLOCK);
	dmfs_rpc_plock(DMFS_SB(inode->i_sb), &undo, NULL);
	if (dmfs_plock_held(inode, fl->fl_owner, flock, fl->fl_start,
			    fl->fl_end))
		dmfs_plock_lost(inode, fl->fl_owner,
				"when a wait for its local record failed", err);
	return err;
}

static int dmfs_plock(struct file *file, int cmd, struct file_lock *fl,
		      bool flock)
{
	struct inode *inode = file_inode(file);
	struct dmfs_plock_req rq;
	struct dmfs_plock_rep rep;
	u32 type, flags = 0;
	int err;

	if (!S_ISREG(inode->i_mode))
		return -ENOLCK;
	switch (fl->fl_type) {
	case F_RDLCK:
		type = DMFS_PLK_RDLCK;
		break;
	case F_WRLCK:
		type = DMFS_PLK_WRLCK;
		break;
	case F_UNLCK:
		type = DMFS_PLK_UNLCK;
		break;
	default:
		return -EINVAL;
	}
	if (fl->fl_start < 0 || fl->fl_end < fl->fl_start)
		return -EINVAL;
	if (IS_GETLK(cmd))
		flags |= DMFS_PLKF_TEST;
	else if (type != DMFS_PLK_UNLCK &&
		 (flock ? fl->fl_flags & FL_SLEEP : IS_SETLKW(cmd)))
		flags |= DMFS_PLKF_WAIT;
	dmfs_plock_fill(inode, fl->fl_owner, flock, fl->fl_start, fl->fl_end,
			type, flags, fl->fl_pid, &rq);
	if (type == DMFS_PLK_UNLCK)
		return dmfs_plock_unlock(file, fl, &rq);
	err = dmfs_rpc_plock(DMFS_SB(inode->i_sb), &rq,
			     flags & DMFS_PLKF_TEST ? &rep : NULL);
	if (flags & DMFS_PLKF_TEST)
		return err ?: dmfs_plock_tested(&rep, fl);
	return err ?: dmfs_plock_record(file, fl, flock, &rq);
}

/**
 * dmfs_lock() - the ->lock file operation (fcntl record locks)
 * @file: the file
 * @cmd: F_GETLK, F_SETLK, F_SETLKW (or their OFD forms)
 * @fl: the lock
 *
 * Return: 0, -EAGAIN on a conflict, or a negative errno.
 */
int dmfs_lock(struct file *file, int cmd, struct file_lock *fl)
{
	return dmfs_plock(file, cmd, fl, false);
}

/**
 * dmfs_flock() - the ->flock file operation
 * @file: the file
 * @cmd: F_SETLK or F_SETLKW
 * @fl: the lock (FL_FLOCK)
 *
 * Return: 0, -EAGAIN on a conflict, or a negative errno.
 */
int dmfs_flock(struct file *file, int cmd, struct file_lock *fl)
{
	if (!(fl->fl_flags & FL_FLOCK))
		return -ENOLCK;
	return dmfs_plock(file, cmd, fl, true);
}

/**
 * dmfs_plock_check() - may the caller do I/O on @file?
 * @file: the file
 *
 * Return: 0, or -EIO when the caller (its fcntl owner, or the open file for
 * flock and OFD locks) held a lock on the file that a reconnect could not
 * set again: it no longer has the exclusion it relies on.
 */
int dmfs_plock_check(struct file *file)
{
	struct dmfs_inode_info *di = DMFS_I(file_inode(file));
	struct dmfs_lost_lock *ll;
	int err = 0;

	if (list_empty_careful(&di->lost_locks))
		return 0;
	mutex_lock(&di->lock_mutex);
	list_for_each_entry(ll, &di->lost_locks, list) {
		if (ll->owner == (fl_owner_t)current->files ||
		    ll->owner == (fl_owner_t)file)
			err = -EIO;
	}
	mutex_unlock(&di->lock_mutex);
	return err;
}

/* copy up to @max local locks of one list (flc_lock held) */
static int dmfs_plock_copy_list(struct list_head *head, bool flock,
				struct dmfs_plock_copy *out, int max)
{
	struct file_lock *fl;
	int n = 0;

	list_for_each_entry(fl, head, fl_list) {
		if (n == max)
			break;
		out[n].owner = fl->fl_owner;
		out[n].start = fl->fl_start;
		out[n].end = fl->fl_end;
		out[n].type = fl->fl_type;
		out[n].flock = flock;
		out[n].pid = fl->fl_pid;
		n++;
	}
	return n;
}

/* the local locks of one file; kfree() the array */
static int dmfs_plock_copy_all(struct inode *inode,
			       struct dmfs_plock_copy **out)
{
	struct file_lock_context *ctx = locks_inode_context(inode);
	struct file_lock *fl;
	int n = 0, max = 0;

	*out = NULL;
	if (!ctx)
		return 0;
	spin_lock(&ctx->flc_lock);
	list_for_each_entry(fl, &ctx->flc_posix, fl_list)
		max++;
	list_for_each_entry(fl, &ctx->flc_flock, fl_list)
		max++;
	spin_unlock(&ctx->flc_lock);
	if (!max)
		return 0;
	*out = kmalloc_array(max, sizeof(**out), GFP_KERNEL);
	if (!*out)
		return -ENOMEM;
	spin_lock(&ctx->flc_lock);
	n = dmfs_plock_copy_list(&ctx->flc_posix, false, *out, max);
	n += dmfs_plock_copy_list(&ctx->flc_flock, true, *out + n, max - n);
	spin_unlock(&ctx->flc_lock);
	return n;
}

static bool dmfs_inode_has_plocks(struct inode *inode)
{
	return !!locks_inode_context(inode);
}

/* set one file's locks again on session @conn */
static void dmfs_plock_replay_inode(struct inode *inode, void *conn)
{
	struct dmfs_conn *c = conn;
	struct dmfs_plock_copy *locks;
	struct dmfs_plock_req rq;
	int i, n, err;

	n = dmfs_plock_copy_all(inode, &locks);
	for (i = 0; i < n; i++) {
		dmfs_plock_fill(inode, locks[i].owner, locks[i].flock,
				locks[i].start, locks[i].end,
				locks[i].type == F_RDLCK ? DMFS_PLK_RDLCK :
							   DMFS_PLK_WRLCK,
				0, locks[i].pid, &rq);
		err = dmfs_session_call(c, DMFS_OP_PLOCK, &rq, sizeof(rq),
					NULL, 0);
		if (err)
			dmfs_plock_lost(inode, locks[i].owner,
					"at the reconnect", err);
	}
	if (n < 0)
		pr_warn("ino %lu: application locks not set again: %d\n",
			inode->i_ino, n);
	kfree(locks);
}

/**
 * dmfs_plock_replay() - set the application locks again on a new session
 * @sbi: the mount
 * @c: the new session
 *
 * Every lock recorded locally, without waiting: one another client took
 * meanwhile is lost (dmfs_plock_check()).
 */
void dmfs_plock_replay(struct dmfs_sb_info *sbi, struct dmfs_conn *c)
{
	dmfs_walk_inodes(sbi->sb, dmfs_inode_has_plocks,
			 dmfs_plock_replay_inode, c);
}

/**
 * dmfs_plock_evict() - forget an inode's lost locks (inode eviction)
 * @inode: the inode
 */
void dmfs_plock_evict(struct inode *inode)
{
	struct dmfs_lost_lock *ll, *tmp;

	list_for_each_entry_safe(ll, tmp, &DMFS_I(inode)->lost_locks, list)
		kfree(ll);
}
