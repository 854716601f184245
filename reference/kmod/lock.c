// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: the client's extent-lock cache and revocation (the seeds' design).
 *
 * A granted lock covers [start, end) of one file in PR or PW mode. Users
 * (read(), write(), .fault, .page_mkwrite) take a reference for the duration
 * of one page-cache operation; a lock nobody uses sits on the mount's LRU.
 * Revocation waits until the lock has no users, then:
 *   1. writes back dirty pages in the extent (filemap_write_and_wait_range),
 *   2. unmap_mapping_range(mapping, start, len, even_cows = 0): PTEs of
 *      privately copied (COW) pages of MAP_PRIVATE mappings survive,
 *   3. evicts the page-cache range (invalidate_inode_pages2_range; dirty
 *      pages that raced in are laundered, i.e. written, not lost),
 *   4. LOCK_CANCEL.
 * Every page in the page cache was read or dirtied under a lock covering it,
 * and is gone before that lock is cancelled: that is the coherence argument.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/pagemap.h>
#include <linux/mm.h>
#include <linux/writeback.h>

#include "dmfs.h"

struct dmfs_early_revoke {
	struct list_head list;
	u64 handle;
};

static void dmfs_lru_add(struct dmfs_sb_info *sbi, struct dmfs_lock *lk)
{
	spin_lock(&sbi->lru_lock);
	if (list_empty(&lk->lru)) {
		list_add_tail(&lk->lru, &sbi->lru);
		sbi->lru_count++;
	}
	spin_unlock(&sbi->lru_lock);
}

static void dmfs_lru_del(struct dmfs_sb_info *sbi, struct dmfs_lock *lk)
{
	spin_lock(&sbi->lru_lock);
	if (!list_empty(&lk->lru)) {
		list_del_init(&lk->lru);
		sbi->lru_count--;
	}
	spin_unlock(&sbi->lru_lock);
}

static bool dmfs_early_revoke_take(struct dmfs_sb_info *sbi, u64 handle)
{
	struct dmfs_early_revoke *er;
	bool found = false;

	spin_lock(&sbi->lru_lock);
	list_for_each_entry(er, &sbi->early_revokes, list) {
		if (er->handle == handle) {
			list_del(&er->list);
			kfree(er);
			found = true;
			break;
		}
	}
	spin_unlock(&sbi->lru_lock);
	return found;
}

/*
 * Between the loss of a session (eviction, dead connection) and the
 * reconnect's handshake, a lock request waits for the new session instead
 * of failing: a process that merely faults while its client recovers is
 * not to be killed (HLD section 8 terminates only a changed binary, and
 * that is decided against the new session's grant). Bounded by
 * request_timeout, killable; without reconnect=1, or at umount, EIO at once.
 */
static int dmfs_lock_wait_session(struct dmfs_sb_info *sbi)
{
	long left;

	if (!dmfs_conn_error(sbi))
		return 0;
	if (!dmfs_reconnect || READ_ONCE(sbi->closing))
		return -EIO;
	left = wait_event_killable_timeout(sbi->reconnect_wq,
					   !dmfs_conn_error(sbi) ||
					   READ_ONCE(sbi->closing),
					   (long)dmfs_request_timeout * HZ);
	if (left < 0)
		return left;
	return dmfs_conn_error(sbi);
}

/**
 * dmfs_lock_get() - take a reference on a lock covering a range
 * @inode: the file
 * @mode: DMFS_LOCK_PR or DMFS_LOCK_PW (a cached PW lock satisfies PR)
 * @start: first byte (rounded down to a page)
 * @end: end of the range, exclusive (rounded up), or DMFS_EOF
 *
 * From the lock cache, or else from the server. Release with
 * dmfs_lock_put().
 *
 * Return: the lock, or ERR_PTR(-EIO) when there is no session or the grant
 * did not come in time, -ENOMEM, or -ERESTARTSYS/-EINTR on a fatal signal.
 */
struct dmfs_lock *dmfs_lock_get(struct inode *inode, u32 mode, u64 start,
				u64 end)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_lock_enqueue_req rq;
	struct dmfs_lock_enqueue_rep rep;
	struct dmfs_lock *lk, *nlk;
	struct dmfs_conn *used = NULL;
	u64 gstart, gend;
	int err;

	start = round_down(start, DMFS_PAGE_SIZE);
	if (end != DMFS_EOF) {
		if (end > DMFS_EOF - DMFS_PAGE_SIZE)
			end = DMFS_EOF;
		else
			end = round_up(end, DMFS_PAGE_SIZE);
	}
	if (end <= start)
		end = start + DMFS_PAGE_SIZE;

	mutex_lock(&di->lock_mutex);
	list_for_each_entry(lk, &di->locks, ilist) {
		if (lk->state == DMFS_LK_GRANTED && !lk->revoke_pending &&
		    lk->mode >= mode && lk->start <= start && end <= lk->end) {
			if (lk->users++ == 0)
				dmfs_lru_del(sbi, lk);
			mutex_unlock(&di->lock_mutex);
			return lk;
		}
	}
	di->enqueues++;
	mutex_unlock(&di->lock_mutex);

	err = dmfs_lock_wait_session(sbi);
	if (err)
		goto fail;
	nlk = kzalloc(sizeof(*nlk), GFP_NOFS);
	if (!nlk) {
		err = -ENOMEM;
		goto fail;
	}
	memset(&rq, 0, sizeof(rq));
	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.start = cpu_to_le64(start);
	rq.end = cpu_to_le64(end);
	rq.mode = cpu_to_le32(mode);
	err = dmfs_rpc_enqueue(sbi, &rq, &rep, &used);
	if (err) {
		kfree(nlk);
		goto fail;
	}
	gstart = le64_to_cpu(rep.start);
	gend = le64_to_cpu(rep.end);
	if (!rep.lock_handle || le32_to_cpu(rep.mode) != mode ||
	    gstart > start || gend < end || gstart % DMFS_PAGE_SIZE ||
	    le64_to_cpu(rep.attr.file_id) != inode->i_ino) {
		pr_warn_ratelimited("bad grant for %lu [%llu,%llu) mode %u\n",
				    inode->i_ino, gstart, gend,
				    le32_to_cpu(rep.mode));
		kfree(nlk);
		err = -EIO;
		goto fail;
	}
	INIT_LIST_HEAD(&nlk->lru);
	INIT_LIST_HEAD(&nlk->ilist);
	nlk->inode = inode;
	nlk->handle = le64_to_cpu(rep.lock_handle);
	nlk->start = gstart;
	nlk->end = gend;
	nlk->mode = mode;
	nlk->data_version = le64_to_cpu(rep.attr.data_version);
	nlk->users = 1;
	nlk->state = DMFS_LK_GRANTED;
	nlk->gen = used->gen;
	nlk->seq = atomic64_inc_return(&sbi->grant_seq);

	mutex_lock(&di->lock_mutex);
	if (READ_ONCE(used->dead)) {
		/*
		 * The session died after granting: dmfs_lock_conn_lost may
		 * already have swept this inode, and the server dropped the
		 * lock with the session. Never cache it.
		 */
		di->enqueues--;
		mutex_unlock(&di->lock_mutex);
		kfree(nlk);
		return ERR_PTR(-EIO);
	}
	ihold(inode);
	di->enqueues--;
	list_add_tail(&nlk->ilist, &di->locks);
	dmfs_apply_server_size(inode, le64_to_cpu(rep.attr.size), nlk);
	if (dmfs_early_revoke_take(sbi, nlk->handle))
		nlk->revoke_pending = true;
	mutex_unlock(&di->lock_mutex);
	dmfs_dbg("grant ino %lu [%llu,%llu) %s h%llu v%llu\n", inode->i_ino,
		 gstart, gend, mode == DMFS_LOCK_PW ? "PW" : "PR", nlk->handle,
		 nlk->data_version);
	return nlk;

fail:
	mutex_lock(&di->lock_mutex);
	di->enqueues--;
	mutex_unlock(&di->lock_mutex);
	if (err == -ERESTARTSYS || err == -EINTR)
		return ERR_PTR(err);
	return ERR_PTR(err == -ENOMEM ? -ENOMEM : -EIO);
}

/*
 * Flush, unmap, evict, cancel. The lock is REVOKING (no new users) and has
 * no users; called without di->lock_mutex.
 */
static void dmfs_lock_flush_cancel(struct dmfs_lock *lk, bool server_alive)
{
	struct inode *inode = lk->inode;
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct address_space *mapping = inode->i_mapping;
	loff_t lstart = lk->start;
	loff_t lend = lk->end == DMFS_EOF || lk->end > LLONG_MAX ?
		      LLONG_MAX : (loff_t)lk->end - 1; /* inclusive */
	struct dmfs_lock_cancel_req cr;
	int err;

	/* a lock of an earlier session (before a reconnect) covers nothing now */
	if (lk->gen != READ_ONCE(sbi->generation))
		server_alive = false;
	if (lk->mode == DMFS_LOCK_PW && server_alive && !dmfs_fi_skip_writeback) {
		err = filemap_write_and_wait_range(mapping, lstart, lend);
		if (err)
			pr_warn_ratelimited("write-back before cancel of ino %lu failed: %d\n",
					    inode->i_ino, err);
	}
	/* the seed RFC's call: even_cows = 0 keeps MAP_PRIVATE copies */
	unmap_mapping_range(mapping, lstart,
			    lend == LLONG_MAX ? 0 : lend - lstart + 1,
			    dmfs_fi_even_cows ? 1 : 0);
	if (dmfs_fi_skip_writeback || !server_alive) {
		/* dirty data is dropped (fault injection, or nowhere to send) */
		truncate_inode_pages_range(mapping, lstart, lend);
	} else {
		err = invalidate_inode_pages2_range(mapping, lstart >> PAGE_SHIFT,
						    lend >> PAGE_SHIFT);
		if (err) {
			/* pages in use: fall back to truncation */
			truncate_inode_pages_range(mapping, lstart, lend);
		}
	}

	if (server_alive && lk->gen == sbi->generation) {
		memset(&cr, 0, sizeof(cr));
		cr.lock_handle = cpu_to_le64(lk->handle);
		err = dmfs_call(sbi, DMFS_OP_LOCK_CANCEL, &cr, sizeof(cr),
				NULL, 0);
		if (err && err != -ENOLCK)
			dmfs_dbg("cancel h%llu: %d\n", lk->handle, err);
	}
	dmfs_dbg("cancelled ino %lu [%llu,%llu) h%llu\n", inode->i_ino,
		 lk->start, lk->end, lk->handle);

	mutex_lock(&di->lock_mutex);
	list_del_init(&lk->ilist);
	lk->state = DMFS_LK_DEAD;
	mutex_unlock(&di->lock_mutex);
	iput(inode);
	kfree(lk);
}

static void dmfs_lock_revoke_workfn(struct work_struct *work)
{
	struct dmfs_lock *lk = container_of(work, struct dmfs_lock, revoke_work);

	dmfs_lock_flush_cancel(lk, !dmfs_conn_error(DMFS_SB(lk->inode->i_sb)));
}

/**
 * dmfs_lock_put() - drop a reference taken by dmfs_lock_get()
 * @lk: the lock
 *
 * The last user runs a revoke that waited for it, or puts the lock on the
 * mount's LRU. Never sleeps on the server: callers hold folio locks or
 * mmap_lock.
 */
void dmfs_lock_put(struct dmfs_lock *lk)
{
	struct inode *inode = lk->inode;
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	bool revoke = false;

	mutex_lock(&di->lock_mutex);
	WARN_ON(lk->users <= 0);
	if (--lk->users == 0) {
		if (lk->revoke_pending && lk->state == DMFS_LK_GRANTED) {
			lk->state = DMFS_LK_REVOKING;
			revoke = true;
		} else if (lk->state == DMFS_LK_GRANTED) {
			dmfs_lru_add(sbi, lk);
		}
	}
	mutex_unlock(&di->lock_mutex);
	if (revoke) {
		INIT_WORK(&lk->revoke_work, dmfs_lock_revoke_workfn);
		queue_work(sbi->wq, &lk->revoke_work);
	} else if (READ_ONCE(sbi->lru_count) > dmfs_lock_cache_max) {
		/* not here: the caller may hold folio locks or mmap_lock */
		queue_work(sbi->wq, &sbi->shrink_work);
	}
}

/**
 * dmfs_lock_revoke_cb() - handle a REVOKE callback
 * @sbi: the mount
 * @c: the session the callback came on (answered there)
 * @cb_id: the callback's request id
 * @cb: the callback body
 *
 * Runs on the mount's workqueue. Acknowledges at once; an unused lock is
 * flushed and cancelled now, a busy one when its last user leaves.
 */
void dmfs_lock_revoke_cb(struct dmfs_sb_info *sbi, struct dmfs_conn *c,
			 u64 cb_id, const struct dmfs_revoke_cb *cb)
{
	u64 handle = le64_to_cpu(cb->lock_handle);
	u64 file_id = le64_to_cpu(cb->file_id);
	struct dmfs_inode_info *di;
	struct dmfs_lock *lk, *found = NULL;
	struct inode *inode;
	bool now = false;

	if (dmfs_debug_ignore_revokes || READ_ONCE(sbi->ignore_revokes)) {
		/* test knobs: acknowledge, never cancel (the server evicts us) */
		dmfs_send_reply(c, DMFS_OP_REVOKE, cb_id, 0);
		return;
	}
	inode = ilookup(sbi->sb, file_id);
	if (!inode) {
		dmfs_send_reply(c, DMFS_OP_REVOKE, cb_id, -ENOLCK);
		return;
	}
	di = DMFS_I(inode);
	mutex_lock(&di->lock_mutex);
	list_for_each_entry(lk, &di->locks, ilist) {
		if (lk->handle == handle) {
			found = lk;
			break;
		}
	}
	if (!found) {
		if (di->enqueues > 0) {
			/* the grant is still on its way to its waiter */
			struct dmfs_early_revoke *er;

			er = kmalloc(sizeof(*er), GFP_NOFS);
			if (er) {
				er->handle = handle;
				spin_lock(&sbi->lru_lock);
				list_add(&er->list, &sbi->early_revokes);
				spin_unlock(&sbi->lru_lock);
			}
			mutex_unlock(&di->lock_mutex);
			dmfs_send_reply(c, DMFS_OP_REVOKE, cb_id, 0);
		} else {
			mutex_unlock(&di->lock_mutex);
			dmfs_send_reply(c, DMFS_OP_REVOKE, cb_id, -ENOLCK);
		}
		iput(inode);
		return;
	}
	if (found->state == DMFS_LK_GRANTED && !found->revoke_pending) {
		found->revoke_pending = true;
		if (found->users == 0) {
			found->state = DMFS_LK_REVOKING;
			dmfs_lru_del(sbi, found);
			now = true;
		}
	}
	mutex_unlock(&di->lock_mutex);
	dmfs_send_reply(c, DMFS_OP_REVOKE, cb_id, 0);
	dmfs_dbg("revoke ino %lu h%llu%s\n", inode->i_ino, handle,
		 now ? "" : " (deferred: in use)");
	if (now)
		dmfs_lock_flush_cancel(found, !dmfs_conn_error(sbi));
	iput(inode);
}

/**
 * dmfs_lock_drop_inode() - give back every unused lock of a file
 * @inode: the file (unlinked, or its session is gone)
 * @server_alive: write back and cancel at the server; when false, cached
 *	pages are dropped and busy locks are marked to go when their last
 *	user leaves
 */
void dmfs_lock_drop_inode(struct inode *inode, bool server_alive)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_lock *lk;

again:
	mutex_lock(&di->lock_mutex);
	list_for_each_entry(lk, &di->locks, ilist) {
		/* busy locks go when their last user leaves (dmfs_lock_put) */
		if (!server_alive && lk->state == DMFS_LK_GRANTED && lk->users)
			lk->revoke_pending = true;
		if (lk->state == DMFS_LK_GRANTED && lk->users == 0) {
			lk->state = DMFS_LK_REVOKING;
			dmfs_lru_del(sbi, lk);
			mutex_unlock(&di->lock_mutex);
			dmfs_lock_flush_cancel(lk, server_alive);
			goto again;
		}
	}
	mutex_unlock(&di->lock_mutex);
}

/**
 * dmfs_lock_shrink() - cancel unused locks beyond lock_cache_max
 * @sbi: the mount
 *
 * Oldest first; locks of mapped files stay (HLD 5.1). Runs on the mount's
 * workqueue, never in a lock user's context.
 */
void dmfs_lock_shrink(struct dmfs_sb_info *sbi)
{
	struct dmfs_lock *lk, *victim;
	struct dmfs_inode_info *di;
	int budget = 64;

	while (budget-- > 0 && READ_ONCE(sbi->lru_count) > dmfs_lock_cache_max) {
		victim = NULL;
		spin_lock(&sbi->lru_lock);
		list_for_each_entry(lk, &sbi->lru, lru) {
			if (!mapping_mapped(lk->inode->i_mapping)) {
				victim = lk;
				ihold(victim->inode);
				break;
			}
		}
		spin_unlock(&sbi->lru_lock);
		if (!victim)
			return;
		di = DMFS_I(victim->inode);
		mutex_lock(&di->lock_mutex);
		/* re-check under the inode's mutex: still unused and cached? */
		if (victim->state == DMFS_LK_GRANTED && victim->users == 0 &&
		    !list_empty(&victim->lru)) {
			struct inode *inode = victim->inode;

			victim->state = DMFS_LK_REVOKING;
			dmfs_lru_del(sbi, victim);
			mutex_unlock(&di->lock_mutex);
			dmfs_lock_flush_cancel(victim, !dmfs_conn_error(sbi));
			iput(inode);
		} else {
			mutex_unlock(&di->lock_mutex);
			iput(victim->inode);
		}
	}
}

/**
 * dmfs_lock_drop_all() - give back every unused lock of the mount (umount)
 * @sbi: the mount
 */
void dmfs_lock_drop_all(struct dmfs_sb_info *sbi)
{
	struct dmfs_lock *lk;
	struct inode *inode;

	for (;;) {
		inode = NULL;
		spin_lock(&sbi->lru_lock);
		if (!list_empty(&sbi->lru)) {
			lk = list_first_entry(&sbi->lru, struct dmfs_lock, lru);
			inode = lk->inode;
			ihold(inode);
		}
		spin_unlock(&sbi->lru_lock);
		if (!inode)
			break;
		dmfs_lock_drop_inode(inode, !dmfs_conn_error(sbi));
		iput(inode);
	}
	flush_workqueue(sbi->wq);
}

/**
 * dmfs_lock_conn_lost() - drop every lock and cached page of a dead session
 * @sbi: the mount
 *
 * No lock is valid any more, so no cached page is: dirty data cannot be
 * written, it is lost and the mapping records -EIO.
 */
void dmfs_lock_conn_lost(struct dmfs_sb_info *sbi)
{
	struct super_block *sb = sbi->sb;
	struct inode *inode, *toput = NULL;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		spin_lock(&inode->i_lock);
		if ((inode->i_state & (I_FREEING | I_WILL_FREE | I_NEW)) ||
		    !atomic_read(&inode->i_count) ||
		    list_empty_careful(&DMFS_I(inode)->locks)) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		ihold(inode);
		spin_unlock(&inode->i_lock);
		spin_unlock(&sb->s_inode_list_lock);
		iput(toput);
		if (mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY))
			mapping_set_error(inode->i_mapping, -EIO);
		dmfs_lock_drop_inode(inode, false);
		toput = inode;
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(toput);
}
