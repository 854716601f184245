// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: the client's extent-lock cache and revocation (the seeds' design).
 *
 * A granted lock covers [start, end) of one file in PR or PW mode. Users
 * (read(), write(), .fault, .page_mkwrite) take a reference for the duration
 * of one page-cache operation (read() and write() one chunk at a time); a
 * lock nobody uses sits on the mount's LRU. Revocation waits until the lock
 * has no users, then:
 *   1. unmap_mapping_range(mapping, start, len, even_cows = 0): PTEs of
 *      privately copied (COW) pages of MAP_PRIVATE mappings survive,
 *   2. sends the extent's dirty pages in WRITEs (dmfs_writeback_send()),
 *   3. evicts the page-cache range (invalidate_inode_pages2_range; dirty
 *      pages that raced in are laundered, i.e. written, not lost),
 *   4. LOCK_CANCEL, served after the WRITEs, whose answers come before its.
 * Every page in the page cache was read or dirtied under a lock covering it,
 * and is gone before that lock is cancelled: that is the coherence argument.
 *
 * A lock belongs to the session that granted it. Pages are read and written
 * back only under a lock of the live current session, and on that session
 * (dmfs_page_session()); when a session dies every cached page is dropped at
 * once, locks in use or not (dmfs_lock_conn_lost()). So nothing read or
 * dirtied under a lost session is served or written through the next one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/interval_tree_generic.h>
#include <linux/slab.h>
#include <linux/pagemap.h>
#include <linux/mm.h>
#include <linux/writeback.h>

#include "dmfs.h"
#include "dmfs_check.h"

/* a REVOKE that overtook the insertion of its grant (lock_mutex) */
struct dmfs_early_revoke {
	struct list_head list;
	struct dmfs_conn *conn;
	u64 handle;
};

static struct kmem_cache *dmfs_lock_cachep;
static struct kmem_cache *dmfs_early_cachep;

/*
 * An inode's locks are an interval tree of their extents [start, end - 1]:
 * a fault finds the lock covering its page without walking every lock of
 * the file (a file written by many clients in pages holds many).
 */
#define DMFS_LK_START(lk) ((lk)->start)
#define DMFS_LK_LAST(lk) ((lk)->end - 1)
INTERVAL_TREE_DEFINE(struct dmfs_lock, it_node, u64, it_subtree_last,
		     DMFS_LK_START, DMFS_LK_LAST, static, dmfs_lock_it)

/* the first lock of @di overlapping [start, end); lock_mutex held */
static struct dmfs_lock *dmfs_lock_first(struct dmfs_inode_info *di,
					 u64 start, u64 end)
{
	return dmfs_lock_it_iter_first(&di->locks, start, end - 1);
}

/* the lock after @lk overlapping [start, end); lock_mutex held */
static struct dmfs_lock *dmfs_lock_next(struct dmfs_lock *lk, u64 start,
					u64 end)
{
	return dmfs_lock_it_iter_next(lk, start, end - 1);
}

/*
 * The mount's LRU of locks, kept lazily so that a fault's lock reference
 * takes no mount-wide lock: a lock joins it at its first last put and
 * stays while it is used again; dmfs_lru_victim() drops the busy ones and
 * gives the recently used a second chance. Only the LRU's shape is under
 * lru_lock: every change of a lock's membership is also made under its
 * inode's lock_mutex, so list_empty(&lk->lru) may be read there.
 */
static void dmfs_lru_add(struct dmfs_sb_info *sbi, struct dmfs_lock *lk)
{
	if (!list_empty(&lk->lru))
		return;
	spin_lock(&sbi->lru_lock);
	list_add_tail(&lk->lru, &sbi->lru);
	sbi->lru_count++;
	spin_unlock(&sbi->lru_lock);
}

static void dmfs_lru_del(struct dmfs_sb_info *sbi, struct dmfs_lock *lk)
{
	if (list_empty(&lk->lru))
		return;
	spin_lock(&sbi->lru_lock);
	list_del_init(&lk->lru);
	sbi->lru_count--;
	spin_unlock(&sbi->lru_lock);
}

/* Take the early revoke of @lk's grant, if one came; lock_mutex held. */
static bool dmfs_early_revoke_take(struct dmfs_inode_info *di,
				   const struct dmfs_lock *lk)
{
	struct dmfs_early_revoke *er;

	list_for_each_entry(er, &di->early_revokes, list) {
		if (er->handle == lk->handle && er->conn == lk->conn) {
			list_del(&er->list);
			kmem_cache_free(dmfs_early_cachep, er);
			return true;
		}
	}
	return false;
}

/* No grant is on its way any more: early revokes are stale; lock_mutex held. */
static void dmfs_early_revokes_drop(struct dmfs_inode_info *di)
{
	struct dmfs_early_revoke *er, *tmp;

	list_for_each_entry_safe(er, tmp, &di->early_revokes, list) {
		list_del(&er->list);
		kmem_cache_free(dmfs_early_cachep, er);
	}
}

/*
 * Between the loss of a session (eviction, dead connection) and the end of
 * the reconnect (handshake, then the replay of the old session's
 * registrations and application locks), a lock request waits for the new
 * session instead of failing: a process that merely faults while its client recovers is
 * not to be killed (HLD section 8 terminates only a changed binary, and
 * that is decided against the new session's grant). Bounded by
 * request_timeout, killable; without reconnect=1, or at umount, EIO at once.
 */
static struct dmfs_conn *dmfs_lock_wait_session(struct dmfs_sb_info *sbi)
{
	long left;

	if (dmfs_conn_error(sbi) || READ_ONCE(sbi->replaying)) {
		if (!dmfs_reconnect || READ_ONCE(sbi->closing))
			return ERR_PTR(-EIO);
		left = wait_event_killable_timeout(sbi->reconnect_wq,
						   (!dmfs_conn_error(sbi) &&
						    !READ_ONCE(sbi->replaying)) ||
						   READ_ONCE(sbi->closing),
						   dmfs_request_jiffies());
		if (left < 0)
			return ERR_PTR(left);
		if (dmfs_conn_error(sbi))
			return ERR_PTR(-EIO);
	}
	return READ_ONCE(sbi->conn);
}

/* the minimum hold a file starts with, in ns (lock_min_hold_us) */
static u64 dmfs_hold_base_ns(void)
{
	return (u64)min(dmfs_lock_min_hold_us, DMFS_HOLD_MAX_US) * NSEC_PER_USEC;
}

/*
 * How long a file keeps its hold after a fault made no progress, in
 * lock_min_hold_us: many, so that the two clients' accesses settle into
 * taking turns instead of the hold lapsing between them (each lapse costs
 * a few lost fault rounds before dmfs_hold_fault() sees it again), yet few
 * enough that a file contended once soon goes back to revoking at once.
 */
#define DMFS_HOLD_WINDOW 256

/*
 * How far the doublings may take the hold, in lock_min_hold_us: enough
 * for a machine several times slower than the one the default was measured
 * on, not so far that a file many clients keep taking from each other
 * waits long at every revoke.
 */
#define DMFS_HOLD_DOUBLINGS_MAX 16

/*
 * The minimum hold of @di's locks, adaptive as GFS2's glock hold time: 0
 * while faults make progress, so that a revoke costs no wait; after a
 * fault made no progress (dmfs_hold_fault()), lock_min_hold_us, doubled at
 * each further one while it lasts, up to DMFS_HOLD_DOUBLINGS_MAX times that
 * (what a return to user space and one instruction take is the machine's,
 * not ours to assume), for DMFS_HOLD_WINDOW lock_min_hold_us after the
 * last raise or the last revoke that found a lock still in use within it
 * (dmfs_lock_mark_revoked()). With lock_hold_adaptive=0 always
 * lock_min_hold_us.
 */
static u64 dmfs_hold_ns(struct dmfs_inode_info *di)
{
	u64 raised = READ_ONCE(di->hold_raised_ns);
	u64 hold = READ_ONCE(di->hold_ns);

	if (!dmfs_lock_hold_adaptive)
		return dmfs_hold_base_ns();
	if (raised &&
	    ktime_get_ns() - raised < DMFS_HOLD_WINDOW * dmfs_hold_base_ns())
		return hold;
	return 0;
}

/* fault handlers one access to a page may begin, unserved (see below) */
#define DMFS_FAULT_BEGINS 3

/**
 * dmfs_write_fault_begun() - did a write fault of a page begin, unserved yet?
 * @inode: the file
 * @index: the page
 *
 * A hint from dmfs_hold_fault()'s fields (other threads' faults blur it).
 *
 * Return: true if the last fault begun on @inode was a write to @index and
 * none was served since.
 */
bool dmfs_write_fault_begun(struct inode *inode, pgoff_t index)
{
	struct dmfs_inode_info *di = DMFS_I(inode);

	return READ_ONCE(di->fault_index) == index &&
	       READ_ONCE(di->fault_write) && READ_ONCE(di->fault_tries);
}

/**
 * dmfs_store_send_back() - may .page_mkwrite send a store back to .fault?
 * @inode: the file
 * @index: the page
 *
 * The store faults again on the absent page, but not always as a write: a
 * read-modify-write instruction (an increment, an atomic) may fault as a
 * read, map the page read-only and come back to .page_mkwrite, for ever if
 * that sent it back again. So a page is sent back once until its store is
 * served (dmfs_hold_fault()), and .fault takes PW for it
 * (dmfs_store_sent_back()). A hint, like dmfs_hold_fault()'s fields:
 * another thread's store may take the mark, costing this one a round.
 *
 * Return: true if @index is sent back now (it is marked so).
 */
bool dmfs_store_send_back(struct inode *inode, pgoff_t index)
{
	struct dmfs_inode_info *di = DMFS_I(inode);

	if (READ_ONCE(di->sent_back) == index + 1)
		return false;
	WRITE_ONCE(di->sent_back, index + 1);
	return true;
}

/**
 * dmfs_store_sent_back() - is a store to a page sent back, unserved yet?
 * @inode: the file
 * @index: the page
 *
 * Return: true if .page_mkwrite sent a store to @index back to .fault
 * (dmfs_store_send_back()) and no write to it was served since.
 */
bool dmfs_store_sent_back(struct inode *inode, pgoff_t index)
{
	return READ_ONCE(DMFS_I(inode)->sent_back) == index + 1;
}

/**
 * dmfs_hold_fault() - a fault of @index begins, or was served
 * @inode: the file
 * @index: the page
 * @write: a write access (.page_mkwrite, or .fault of a shared write)
 * @served: false when it begins, true when its PTE is about to be installed
 *
 * A fault makes no progress when the page is taken away before the
 * faulting instruction runs: two clients taking a page from each other,
 * neither store landing (see dmfs_lock_revoke_run()). Seen here as the
 * same access to the same page beginning again at once after it was
 * served (within lock_min_hold_us), or beginning more often than one
 * access can: a store to a page mapped read-only begins .page_mkwrite, and
 * once more .fault and .page_mkwrite if its PW grant revoked this client's
 * own PR lock and evicted the page (VM_FAULT_NOPAGE). Either raises the
 * file's hold for a while (dmfs_hold_ns()). A write after a
 * read is an upgrade, not a repeat; a slow grant is no repeat either (it
 * costs round trips, not a lost race).
 */
void dmfs_hold_fault(struct inode *inode, pgoff_t index, bool write,
		     bool served)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	bool last_write = READ_ONCE(di->fault_write);
	u64 now = ktime_get_ns(), served_ns, hold;
	unsigned int tries;
	bool again;

	/*
	 * Lockless: every fault passes here twice, and the fields are a hint
	 * (faults of other threads interleaving only blur it).
	 */
	again = index == READ_ONCE(di->fault_index) &&
		(write == last_write || (last_write && !write));
	served_ns = READ_ONCE(di->served_ns);
	tries = READ_ONCE(di->fault_tries);
	if (served) {
		served_ns = now;
		tries = 0;
		if (write && dmfs_store_sent_back(inode, index))
			WRITE_ONCE(di->sent_back, 0);
	} else if (!again) {
		served_ns = 0;
		tries = 1;
	} else if ((served_ns && now - served_ns < dmfs_hold_base_ns()) ||
		   ++tries > DMFS_FAULT_BEGINS) {
		hold = dmfs_hold_ns(di);
		hold = hold ? min(2 * hold, DMFS_HOLD_DOUBLINGS_MAX *
						dmfs_hold_base_ns()) :
			      dmfs_hold_base_ns();
		WRITE_ONCE(di->hold_ns, hold);
		WRITE_ONCE(di->hold_raised_ns, now);
		served_ns = 0;
		tries = 0;
		atomic64_inc(&DMFS_SB(inode->i_sb)->stats.hold_raises);
	}
	WRITE_ONCE(di->served_ns, served_ns);
	WRITE_ONCE(di->fault_tries, tries);
	WRITE_ONCE(di->fault_index, index);
	WRITE_ONCE(di->fault_write, write);
}

/*
 * The server wants @lk back; lock_mutex held. It still serves new users
 * until the inode's minimum hold after its grant or last use (see
 * dmfs_lock_revoke_run()); a lock idle that long goes at once.
 */
static void dmfs_lock_mark_revoked(struct dmfs_lock *lk)
{
	struct dmfs_inode_info *di = DMFS_I(lk->inode);
	u64 hold = dmfs_hold_ns(di), now = ktime_get_ns();

	lk->revoke_pending = true;
	lk->usable_until = lk->last_used + hold;
	/*
	 * Wanted back while still in use under a raised hold: the contention
	 * goes on, so does the hold (had it lapsed, the next lost fault
	 * rounds would raise it again from lock_min_hold_us).
	 */
	if (hold && dmfs_lock_hold_adaptive && now < lk->usable_until)
		WRITE_ONCE(di->hold_raised_ns, now);
}

static void dmfs_lock_revoke_workfn(struct work_struct *work);

/*
 * A granted lock of a live session covering [start, end) in @mode or
 * better; a revoked one only until its minimum hold has passed (see
 * dmfs_lock_revoke_run()).
 */
static bool dmfs_lock_usable(const struct dmfs_lock *lk, u32 mode, u64 start,
			     u64 end)
{
	return lk->state == DMFS_LK_GRANTED &&
	       (!lk->revoke_pending || ktime_get_ns() < lk->usable_until) &&
	       lk->mode >= mode && lk->start <= start && end <= lk->end &&
	       !READ_ONCE(lk->conn->dead);
}

/*
 * Ask the server for [start, end) in @mode; the lock returned is not yet
 * in the inode's list. A grant that does not answer the request is given
 * back and fails with -EIO. With @page (a page-sized buffer), a server
 * that can is asked for the data at @start with the grant (an intent
 * enqueue); *@page_len is its length, -1 if none came.
 */
static struct dmfs_lock *dmfs_lock_request(struct inode *inode, u32 mode,
					   u64 start, u64 end,
					   struct dmfs_attr *attr, void *page,
					   int *page_len)
{
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_lock_enqueue_req rq = {};
	struct dmfs_lock_enqueue_rep rep;
	struct dmfs_lock_cancel_req cr = {};
	struct dmfs_lock *lk;
	struct dmfs_conn *c;
	u64 gstart, gend;
	int err;

	c = dmfs_lock_wait_session(sbi);
	if (IS_ERR(c))
		return ERR_CAST(c);
	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.start = cpu_to_le64(start);
	rq.end = cpu_to_le64(end);
	rq.mode = cpu_to_le32(mode);
	if (!c->grant_pages)
		page = NULL;
	if (page)
		rq.flags = cpu_to_le32(DMFS_LKF_WITH_PAGE);
	err = dmfs_rpc_enqueue(c, &rq, &rep, page, page_len);
	if (err)
		return ERR_PTR(err);
	gstart = le64_to_cpu(rep.start);
	gend = le64_to_cpu(rep.end);
	if (!dmfs_check_grant(&rq, &rep)) {
		pr_warn_ratelimited("bad grant for %lu [%llu,%llu) mode %u: given back\n",
				    inode->i_ino, gstart, gend,
				    le32_to_cpu(rep.mode));
		if (rep.lock_handle) {
			cr.lock_handle = rep.lock_handle;
			dmfs_session_release(c, DMFS_OP_LOCK_CANCEL, &cr,
					     sizeof(cr));
		}
		return ERR_PTR(-EIO);
	}
	lk = kmem_cache_zalloc(dmfs_lock_cachep, GFP_NOFS);
	if (!lk) {
		cr.lock_handle = rep.lock_handle;
		dmfs_session_release(c, DMFS_OP_LOCK_CANCEL, &cr, sizeof(cr));
		return ERR_PTR(-ENOMEM);
	}
	INIT_LIST_HEAD(&lk->lru);
	RB_CLEAR_NODE(&lk->it_node);
	INIT_WORK(&lk->revoke_work, dmfs_lock_revoke_workfn);
	lk->inode = inode;
	lk->conn = c;
	lk->handle = le64_to_cpu(rep.lock_handle);
	lk->start = gstart;
	lk->end = gend;
	lk->mode = mode;
	lk->data_version = le64_to_cpu(rep.attr.data_version);
	lk->users = 1;
	lk->state = DMFS_LK_GRANTED;
	lk->seq = atomic64_inc_return(&sbi->grant_seq);
	lk->last_used = ktime_get_ns();
	*attr = rep.attr;
	return lk;
}

/*
 * Insert a new grant into the inode's list; lock_mutex held. A grant whose
 * session died meanwhile is never cached: dmfs_lock_conn_lost() may already
 * have swept this inode, and the server dropped the lock with the session.
 */
static struct dmfs_lock *dmfs_lock_insert(struct inode *inode,
					  struct dmfs_lock *lk,
					  const struct dmfs_attr *attr)
{
	struct dmfs_inode_info *di = DMFS_I(inode);

	if (READ_ONCE(lk->conn->dead)) {
		kmem_cache_free(dmfs_lock_cachep, lk);
		return ERR_PTR(-EIO);
	}
	ihold(inode);
	dmfs_lock_it_insert(lk, &di->locks);
	dmfs_apply_server_size(inode, attr);
	if (dmfs_early_revoke_take(di, lk))
		dmfs_lock_mark_revoked(lk);
	dmfs_dbg("grant ino %lu [%llu,%llu) %s h%llu v%llu\n", inode->i_ino,
		 lk->start, lk->end, lk->mode == DMFS_LOCK_PW ? "PW" : "PR",
		 lk->handle, lk->data_version);
	return lk;
}

/* a lock request's range: whole pages, at least one */
static void dmfs_lock_range(u64 *start, u64 *end)
{
	*start = round_down(*start, DMFS_PAGE_SIZE);
	if (*end != DMFS_EOF) {
		if (*end > DMFS_EOF - DMFS_PAGE_SIZE)
			*end = DMFS_EOF;
		else
			*end = round_up(*end, DMFS_PAGE_SIZE);
	}
	if (*end <= *start)
		*end = *start + DMFS_PAGE_SIZE;
}

/*
 * A usable lock covering [start, end) from @inode's tree, with a reference
 * taken, or NULL; lock_mutex held.
 */
static struct dmfs_lock *dmfs_lock_find_get(struct inode *inode, u32 mode,
					    u64 start, u64 end)
{
	struct dmfs_lock *lk;

	for (lk = dmfs_lock_first(DMFS_I(inode), start, end); lk;
	     lk = dmfs_lock_next(lk, start, end)) {
		if (dmfs_lock_usable(lk, mode, start, end)) {
			lk->users++;
			lk->referenced = true;
			return lk;
		}
	}
	return NULL;
}

/*
 * The end of the lock to ask for a range ending at @end: up to EOF where the
 * range reaches beyond i_size (see dmfs_lock_get_sized()).
 */
static u64 dmfs_sized_end(struct inode *inode, u64 end)
{
	return end > i_size_read(inode) ? DMFS_EOF : end;
}

/* does @lk tell i_size exactly for a range ending at @end? */
static bool dmfs_lock_sizes(struct inode *inode, const struct dmfs_lock *lk,
			    u64 end)
{
	return lk->end == DMFS_EOF || end <= i_size_read(inode);
}

/**
 * dmfs_lock_get_cached() - dmfs_lock_get_sized(), if its lock is cached
 * @inode: the file
 * @mode: DMFS_LOCK_PR or DMFS_LOCK_PW
 * @start: first byte
 * @end: end of the range, exclusive
 *
 * Never asks the server: a fault that would wait for it lets go of
 * mmap_lock first. One lookup, so that a cached fault does not search the
 * inode's locks twice.
 *
 * Return: the lock (release with dmfs_lock_put()), or NULL.
 */
struct dmfs_lock *dmfs_lock_get_cached(struct inode *inode, u32 mode,
				       u64 start, u64 end)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_lock *lk;

	end = dmfs_sized_end(inode, end);
	dmfs_lock_range(&start, &end);
	mutex_lock(&di->lock_mutex);
	lk = dmfs_lock_find_get(inode, mode, start, end);
	mutex_unlock(&di->lock_mutex);
	/* the size shrank meanwhile: only a lock up to EOF tells it exactly */
	if (lk && !dmfs_lock_sizes(inode, lk, end)) {
		dmfs_lock_put(lk);
		return NULL;
	}
	return lk;
}

/*
 * Cache the page at @pos that a grant carried (@len bytes, zeros after
 * them: the end of the file), under the lock just granted: revoking it
 * evicts the page again. A page already cached stays (dirty, or read
 * under a lock that still covers it). Under invalidate_lock, as readahead
 * adds pages, so that a truncate does not race it.
 */
static void dmfs_lock_fill(struct inode *inode, struct folio *folio,
			   void *buf, loff_t pos, int len)
{
	struct address_space *mapping = inode->i_mapping;

	if (len <= 0)
		return;
	memset(buf + len, 0, PAGE_SIZE - len);
	flush_dcache_folio(folio);
	filemap_invalidate_lock_shared(mapping);
	if (pos < i_size_read(inode) &&
	    !filemap_add_folio(mapping, folio, pos >> PAGE_SHIFT,
			       readahead_gfp_mask(mapping))) {
		folio_mark_uptodate(folio);
		folio_unlock(folio);
		atomic64_inc(&DMFS_SB(inode->i_sb)->stats.grant_pages);
	}
	filemap_invalidate_unlock_shared(mapping);
}

/*
 * dmfs_lock_get(), and with @with_page the page at @start comes with the
 * grant into the page cache where the server can send it.
 */
static struct dmfs_lock *dmfs_lock_acquire(struct inode *inode, u32 mode,
					   u64 start, u64 end, bool with_page)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct folio *folio = NULL;
	struct dmfs_lock *lk;
	struct dmfs_attr attr;
	void *buf = NULL;
	int len = -1;
	long err;

	dmfs_lock_range(&start, &end);
	mutex_lock(&di->lock_mutex);
	lk = dmfs_lock_find_get(inode, mode, start, end);
	if (lk) {
		mutex_unlock(&di->lock_mutex);
		return lk;
	}
	di->enqueues++;
	mutex_unlock(&di->lock_mutex);

	if (with_page)
		folio = filemap_alloc_folio(readahead_gfp_mask(inode->i_mapping),
					    0);
	if (folio)
		buf = kmap_local_folio(folio, 0);
	lk = dmfs_lock_request(inode, mode, start, end, &attr, buf, &len);

	mutex_lock(&di->lock_mutex);
	if (!IS_ERR(lk))
		lk = dmfs_lock_insert(inode, lk, &attr);
	if (--di->enqueues == 0)
		dmfs_early_revokes_drop(di);
	mutex_unlock(&di->lock_mutex);
	if (folio) {
		if (!IS_ERR(lk))
			dmfs_lock_fill(inode, folio, buf, start, len);
		kunmap_local(buf);
		folio_put(folio);
	}
	if (!IS_ERR(lk))
		return lk;
	err = PTR_ERR(lk);
	if (err == -ERESTARTSYS || err == -EINTR || err == -ENOMEM)
		return lk;
	pr_warn_ratelimited("ino %lu: %s lock [%llu,%llu) not granted (%ld): EIO\n",
			    inode->i_ino, mode == DMFS_LOCK_PW ? "PW" : "PR",
			    start, end, err);
	return ERR_PTR(-EIO);
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
 * did not come in time, -ENOMEM, or -EINTR/-ERESTARTSYS on a fatal signal.
 */
struct dmfs_lock *dmfs_lock_get(struct inode *inode, u32 mode, u64 start,
				u64 end)
{
	return dmfs_lock_acquire(inode, mode, start, end, false);
}

static struct dmfs_lock *dmfs_lock_sized(struct inode *inode, u32 mode,
					 u64 start, u64 end, bool with_page)
{
	struct dmfs_lock *lk;

	lk = dmfs_lock_acquire(inode, mode, start, dmfs_sized_end(inode, end),
			       with_page);
	/* the grant's size may be smaller: then only a lock up to EOF tells */
	if (IS_ERR(lk) || dmfs_lock_sizes(inode, lk, end))
		return lk;
	dmfs_lock_put(lk);
	return dmfs_lock_get(inode, mode, start, DMFS_EOF);
}

/**
 * dmfs_lock_get_sized() - a lock covering a range, and the file's size there
 * @inode: the file
 * @mode: DMFS_LOCK_PR or DMFS_LOCK_PW
 * @start: first byte
 * @end: end of the range, exclusive
 *
 * As dmfs_lock_get(), and i_size is then exact wherever the range reaches
 * beyond it: a caller may take i_size as the end of the file there (a
 * fault's SIGBUS, a read's EOF). Below i_size it is a known minimum: the
 * file is at least that long while the lock is held. A grant carries the
 * server's size, which lacks another client's extension still dirty in its
 * cache under a PW lock elsewhere in the file; only a lock up to EOF
 * revokes every such writer beyond @start, whose write-back reaches the
 * server before the grant does (the HLD's size glimpse, done with a real
 * lock). So a range beyond i_size - the cached one, or the one the grant
 * of a smaller lock just brought - is locked up to EOF.
 *
 * Return: as dmfs_lock_get().
 */
struct dmfs_lock *dmfs_lock_get_sized(struct inode *inode, u32 mode,
				      u64 start, u64 end)
{
	return dmfs_lock_sized(inode, mode, start, end, false);
}

/**
 * dmfs_lock_get_page() - dmfs_lock_get_sized() for the page at @pos, and
 *	the page itself with the grant where the server can send it
 * @inode: the file
 * @mode: DMFS_LOCK_PR or DMFS_LOCK_PW
 * @pos: the page's offset
 *
 * For a fault that waits for its grant without mmap_lock: the retried
 * fault finds the page cached, one round trip in all (docs/protocol.md,
 * intent enqueue).
 *
 * Return: as dmfs_lock_get().
 */
struct dmfs_lock *dmfs_lock_get_page(struct inode *inode, u32 mode,
				     loff_t pos)
{
	return dmfs_lock_sized(inode, mode, pos, pos + PAGE_SIZE, true);
}

static void dmfs_lock_free(struct dmfs_lock *lk)
{
	struct inode *inode = lk->inode;
	struct dmfs_inode_info *di = DMFS_I(inode);

	mutex_lock(&di->lock_mutex);
	if (!RB_EMPTY_NODE(&lk->it_node)) {
		dmfs_lock_it_remove(lk, &di->locks);
		RB_CLEAR_NODE(&lk->it_node);
	}
	lk->state = DMFS_LK_DEAD;
	mutex_unlock(&di->lock_mutex);
	kmem_cache_free(dmfs_lock_cachep, lk);
	iput(inode);
}

/*
 * Evict [lstart, lend] from the page cache; a dirty page that raced in is
 * written by .launder_folio. Pages that cannot be evicted after a few
 * tries (in use, or their write-back keeps failing) are truncated; if one
 * of them was dirty, the mapping records -EIO.
 */
static void dmfs_evict_range(struct address_space *mapping, loff_t lstart,
			     loff_t lend)
{
	pgoff_t index = lstart >> PAGE_SHIFT;
	int tries = 3;

	while (invalidate_inode_pages2_range(mapping, lstart >> PAGE_SHIFT,
					     lend >> PAGE_SHIFT)) {
		if (!--tries) {
			if (xa_find(&mapping->i_pages, &index,
				    lend >> PAGE_SHIFT, PAGECACHE_TAG_DIRTY))
				mapping_set_error(mapping, -EIO);
			truncate_inode_pages_range(mapping, lstart, lend);
			return;
		}
		filemap_write_and_wait_range(mapping, lstart, lend);
	}
}

/*
 * Unmap, flush, evict, cancel. The lock is REVOKING (no new users) and has
 * no users; called without lock_mutex. A lock of a dead session covers
 * nothing any more: its pages went in dmfs_lock_conn_lost().
 *
 * The WRITEs of the flush are sent, not awaited, and the CANCEL follows
 * them on the same stream: the server serves them in that order, so the
 * client waiting for the lock is granted the written data a round trip
 * sooner (dmfs_writeback_send()). Unmapping first means no store reaches
 * a page once its data is on the way.
 */
static void dmfs_lock_flush_cancel(struct dmfs_lock *lk)
{
	struct inode *inode = lk->inode;
	struct address_space *mapping = inode->i_mapping;
	loff_t lstart = lk->start;
	loff_t lend = lk->end == DMFS_EOF || lk->end > LLONG_MAX ?
		      LLONG_MAX : (loff_t)lk->end - 1; /* inclusive */
	struct dmfs_stats *st = &DMFS_SB(inode->i_sb)->stats;
	struct dmfs_lock_cancel_req cr = {};
	LIST_HEAD(sent);
	u64 t = ktime_get_ns();
	int err;

	if (!dmfs_session_live(lk->conn))
		goto out;
	/* the seed RFC's call: even_cows = 0 keeps MAP_PRIVATE copies */
	unmap_mapping_range(mapping, lstart,
			    lend == LLONG_MAX ? 0 : lend - lstart + 1,
			    dmfs_fi_even_cows ? 1 : 0);
	if (lk->mode == DMFS_LOCK_PW && !dmfs_fi_skip_writeback)
		dmfs_writeback_send(inode, lstart, lend, &sent);
	dmfs_stat_add(&st->revoke_writeback_ns, t);
	t = ktime_get_ns();
	if (dmfs_fi_skip_writeback)
		truncate_inode_pages_range(mapping, lstart, lend);
	else
		dmfs_evict_range(mapping, lstart, lend);
	dmfs_stat_add(&st->revoke_evict_ns, t);
	t = ktime_get_ns();
	cr.lock_handle = cpu_to_le64(lk->handle);
	err = dmfs_session_release(lk->conn, DMFS_OP_LOCK_CANCEL, &cr,
				   sizeof(cr));
	dmfs_writeback_wait(inode, &sent);
	dmfs_stat_add(&st->revoke_cancel_ns, t);
	atomic64_inc(&st->revokes);
	if (err && err != -ENOLCK)
		dmfs_dbg("cancel h%llu: %d\n", lk->handle, err);
out:
	dmfs_dbg("cancelled ino %lu [%llu,%llu) h%llu\n", inode->i_ino,
		 lk->start, lk->end, lk->handle);
	dmfs_lock_free(lk);
}

/*
 * Run a revoke whose owner we are (revoke_queued set by us): once the
 * lock's minimum hold (dmfs_hold_ns()) after its last use has passed and
 * no user is left,
 * flush and cancel; a user still in it queues the revoke again at its
 * dmfs_lock_put(). A lock idle for the hold is revoked at once.
 *
 * Why a minimum hold (as GFS2's glock minimum hold time): a write fault on
 * an absent page takes the lock in .fault and again in .page_mkwrite, and
 * puts it before the PTE is installed. Revoked at once, the lock was gone
 * before .page_mkwrite or the faulting instruction ran, and two clients
 * storing to one page took it from each other forever, neither
 * instruction ever running (a livelock, tests/fault-pingpong.sh).
 */
static void dmfs_lock_revoke_run(struct dmfs_lock *lk)
{
	struct dmfs_inode_info *di = DMFS_I(lk->inode);
	u64 until = READ_ONCE(lk->usable_until), t = ktime_get_ns();
	bool now = false;

	if (dmfs_session_live(lk->conn) && t < until) {
		fsleep(div_u64(until - t, NSEC_PER_USEC) + 1);
		dmfs_stat_add(&DMFS_SB(lk->inode->i_sb)->stats.revoke_hold_ns,
			      t);
	}
	mutex_lock(&di->lock_mutex);
	lk->revoke_queued = false;
	if (lk->state == DMFS_LK_GRANTED && lk->users == 0) {
		lk->state = DMFS_LK_REVOKING;
		dmfs_lru_del(DMFS_SB(lk->inode->i_sb), lk);
		now = true;
	}
	mutex_unlock(&di->lock_mutex);
	if (now)
		dmfs_lock_flush_cancel(lk);
}

static void dmfs_lock_revoke_workfn(struct work_struct *work)
{
	dmfs_lock_revoke_run(container_of(work, struct dmfs_lock,
					  revoke_work));
}

/**
 * dmfs_lock_put() - drop a reference taken by dmfs_lock_get()
 * @lk: the lock
 *
 * The last user runs a revoke that waited for it (or frees a lock of a
 * dead session), or puts the lock on the mount's LRU. Never sleeps on the
 * server: callers hold folio locks or mmap_lock.
 */
void dmfs_lock_put(struct dmfs_lock *lk)
{
	struct inode *inode = lk->inode;
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	bool revoke = false;

	mutex_lock(&di->lock_mutex);
	WARN_ON(lk->users <= 0);
	lk->last_used = ktime_get_ns();
	if (--lk->users == 0 && lk->state == DMFS_LK_GRANTED) {
		if (lk->revoke_pending || READ_ONCE(lk->conn->dead)) {
			revoke = !lk->revoke_queued;
			lk->revoke_queued = true;
			dmfs_lru_del(sbi, lk);
		} else {
			dmfs_lru_add(sbi, lk);
		}
	}
	mutex_unlock(&di->lock_mutex);
	if (revoke) {
		queue_work(sbi->wq, &lk->revoke_work);
	} else if (READ_ONCE(sbi->lru_count) > dmfs_lock_cache_max) {
		/* not here: the caller may hold folio locks or mmap_lock */
		queue_work(sbi->wq, &sbi->shrink_work);
	}
}

/**
 * dmfs_lock_revoke_cb() - handle a REVOKE callback
 * @c: the live session the callback came on (answered there)
 * @cb_id: the callback's request id
 * @cb: the callback body
 *
 * Runs on the mount's workqueue. Acknowledges at once; an unused lock is
 * flushed and cancelled now, a busy one when its last user leaves. A
 * REVOKE for a grant still on its way to its waiter is kept for it.
 */
void dmfs_lock_revoke_cb(struct dmfs_conn *c, u64 cb_id,
			 const struct dmfs_revoke_cb *cb)
{
	struct dmfs_sb_info *sbi = c->sbi;
	u64 handle = le64_to_cpu(cb->lock_handle);
	struct dmfs_lock *lk, *found = NULL;
	struct dmfs_early_revoke *er;
	struct dmfs_inode_info *di;
	struct inode *inode;
	s32 status = 0;
	bool now = false;

	if (dmfs_debug_ignore_revokes || READ_ONCE(sbi->ignore_revokes)) {
		/* test knobs: acknowledge, never cancel (the server evicts us) */
		dmfs_send_reply(c, DMFS_OP_REVOKE, cb_id, 0);
		return;
	}
	inode = ilookup(sbi->sb, le64_to_cpu(cb->file_id));
	if (!inode) {
		dmfs_send_reply(c, DMFS_OP_REVOKE, cb_id, -ENOLCK);
		return;
	}
	di = DMFS_I(inode);
	mutex_lock(&di->lock_mutex);
	for (lk = dmfs_lock_first(di, 0, DMFS_EOF); lk;
	     lk = dmfs_lock_next(lk, 0, DMFS_EOF)) {
		if (lk->handle == handle && lk->conn == c) {
			found = lk;
			break;
		}
	}
	if (found && found->state == DMFS_LK_GRANTED && !found->revoke_pending) {
		dmfs_lock_mark_revoked(found);
		if (found->users == 0 && !found->revoke_queued) {
			dmfs_lru_del(sbi, found);
			found->revoke_queued = true;
			now = true;
		}
	} else if (!found && di->enqueues > 0) {
		er = kmem_cache_alloc(dmfs_early_cachep, GFP_NOFS);
		if (er) {
			er->handle = handle;
			er->conn = c;
			list_add(&er->list, &di->early_revokes);
		}
	} else if (!found) {
		status = -ENOLCK;
	}
	mutex_unlock(&di->lock_mutex);
	dmfs_send_reply(c, DMFS_OP_REVOKE, cb_id, status);
	dmfs_dbg("revoke ino %lu h%llu%s\n", inode->i_ino, handle,
		 now ? "" : found ? " (deferred: in use)" : " (not granted yet)");
	if (now)
		dmfs_lock_revoke_run(found);
	iput(inode);
}

/**
 * dmfs_lock_drop_inode() - give back every unused lock of a file
 * @inode: the file (unlinked, or its session is gone)
 * @busy_too: also mark locks in use, to go when their last user leaves
 */
void dmfs_lock_drop_inode(struct inode *inode, bool busy_too)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_lock *lk;

again:
	mutex_lock(&di->lock_mutex);
	for (lk = dmfs_lock_first(di, 0, DMFS_EOF); lk;
	     lk = dmfs_lock_next(lk, 0, DMFS_EOF)) {
		if (lk->state != DMFS_LK_GRANTED || lk->revoke_queued)
			continue; /* a revoke's work item cancels it */
		if (lk->users) {
			if (busy_too) {
				lk->revoke_pending = true;
				lk->usable_until = 0;
			}
			continue;
		}
		lk->state = DMFS_LK_REVOKING;
		dmfs_lru_del(sbi, lk);
		mutex_unlock(&di->lock_mutex);
		dmfs_lock_flush_cancel(lk);
		goto again;
	}
	mutex_unlock(&di->lock_mutex);
}

/*
 * Take an unused lock off the LRU for cancelling, oldest first; a lock used
 * since it joined goes to the back once (the LRU is lazy: dmfs_lru_add()),
 * and a lock in use or being revoked leaves it (its last put brings it
 * back). Under lru_lock a lock on the LRU cannot be freed: every path that
 * frees one takes it off the LRU under its inode's lock_mutex first, which
 * is tried here without dropping lru_lock (lock_mutex nests outside it).
 */
static struct dmfs_lock *dmfs_lru_victim(struct dmfs_sb_info *sbi)
{
	struct dmfs_lock *lk, *next, *victim = NULL;
	struct dmfs_inode_info *di;

	spin_lock(&sbi->lru_lock);
	list_for_each_entry_safe(lk, next, &sbi->lru, lru) {
		di = DMFS_I(lk->inode);
		if (!mutex_trylock(&di->lock_mutex))
			continue;
		if (lk->users || lk->state != DMFS_LK_GRANTED ||
		    lk->revoke_queued) {
			list_del_init(&lk->lru);
			sbi->lru_count--;
		} else if (lk->referenced) {
			lk->referenced = false;
			list_move_tail(&lk->lru, &sbi->lru);
		} else if (!mapping_mapped(lk->inode->i_mapping)) {
			lk->state = DMFS_LK_REVOKING;
			list_del_init(&lk->lru);
			sbi->lru_count--;
			victim = lk;
		}
		mutex_unlock(&di->lock_mutex);
		if (victim)
			break;
	}
	spin_unlock(&sbi->lru_lock);
	return victim;
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
	struct dmfs_lock *victim;
	int budget = 64;

	while (budget-- > 0 && READ_ONCE(sbi->lru_count) > dmfs_lock_cache_max) {
		victim = dmfs_lru_victim(sbi);
		if (!victim)
			return;
		dmfs_lock_flush_cancel(victim);
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
		dmfs_lock_drop_inode(inode, false);
		iput(inode);
	}
	flush_workqueue(sbi->wq);
}

static bool dmfs_inode_has_cache(struct inode *inode)
{
	return inode->i_mapping->nrpages ||
	       !RB_EMPTY_ROOT(&DMFS_I(inode)->locks.rb_root);
}

/* One file of a dead session: every page and every unused lock goes now. */
static void dmfs_inode_conn_lost(struct inode *inode, void *unused)
{
	struct address_space *mapping = inode->i_mapping;

	if (mapping_tagged(mapping, PAGECACHE_TAG_DIRTY) ||
	    mapping_tagged(mapping, PAGECACHE_TAG_WRITEBACK))
		mapping_set_error(mapping, -EIO);
	unmap_mapping_range(mapping, 0, 0, 0); /* MAP_PRIVATE copies stay */
	truncate_inode_pages(mapping, 0);
	dmfs_lock_drop_inode(inode, true);
}

/**
 * dmfs_lock_conn_lost() - drop every lock and cached page of a dead session
 * @sbi: the mount
 *
 * No lock of the session is valid any more, so no cached page is, also
 * under locks in use: dirty data cannot be written, it is lost and the
 * mapping records -EIO. Runs before the reconnect starts a new session.
 */
void dmfs_lock_conn_lost(struct dmfs_sb_info *sbi)
{
	dmfs_walk_inodes(sbi->sb, dmfs_inode_has_cache, dmfs_inode_conn_lost,
			 NULL);
}

/**
 * dmfs_page_session() - the session a page may be read or written back on
 * @inode: the file
 * @pos: the page's offset
 * @mode: DMFS_LOCK_PR to read the page from the server (a PW lock does as
 *	well), DMFS_LOCK_PW to write it back
 * @end: if not NULL, set to the end of the lock that covers the page: the
 *	pages up to there may be read (or written) on the same session
 *
 * A page is read only under a granted lock that covers it, and written
 * back only under a PW lock that covers it and is granted or being revoked
 * (the revoke's own write-back), of the live current session. Readahead
 * beyond the locks, and dirty pages of a lost session, find none. The
 * fault-injection switches that skip taking the lock skip this check too,
 * so that they still inject what their names say.
 *
 * Return: that session (valid until umount), or NULL.
 */
struct dmfs_conn *dmfs_page_session(struct inode *inode, loff_t pos, u32 mode,
				    u64 *end)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_conn *c = NULL;
	struct dmfs_lock *lk;

	mutex_lock(&di->lock_mutex);
	for (lk = dmfs_lock_first(di, pos, pos + PAGE_SIZE); lk;
	     lk = dmfs_lock_next(lk, pos, pos + PAGE_SIZE)) {
		if (lk->mode < mode || lk->start > pos ||
		    pos + PAGE_SIZE > lk->end ||
		    !(lk->state == DMFS_LK_GRANTED ||
		      (mode == DMFS_LOCK_PW && lk->state == DMFS_LK_REVOKING)) ||
		    !dmfs_session_live(lk->conn))
			continue;
		c = lk->conn;
		if (end)
			*end = lk->end;
		break;
	}
	mutex_unlock(&di->lock_mutex);
	if (!c && (mode == DMFS_LOCK_PR ? dmfs_fi_skip_fault_lock :
		   dmfs_fi_skip_mkwrite_pw)) {
		c = READ_ONCE(DMFS_SB(inode->i_sb)->conn);
		if (end)
			*end = pos + PAGE_SIZE;
	}
	return c;
}

/**
 * dmfs_lock_pw_granted() - does this client hold a granted PW lock of a file?
 * @inode: the file (its lock_mutex held)
 *
 * Return: true if one of its locks is PW and granted.
 */
bool dmfs_lock_pw_granted(struct inode *inode)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_lock *lk;

	for (lk = dmfs_lock_first(di, 0, DMFS_EOF); lk;
	     lk = dmfs_lock_next(lk, 0, DMFS_EOF))
		if (lk->mode == DMFS_LOCK_PW && lk->state == DMFS_LK_GRANTED)
			return true;
	return false;
}

/**
 * dmfs_lock_init() - the slab caches of locks (module load)
 *
 * Their own caches: a lock or an early revoke left behind at umount shows
 * as "objects remaining" when the module is unloaded.
 *
 * Return: 0 or -ENOMEM.
 */
int __init dmfs_lock_init(void)
{
	dmfs_lock_cachep = KMEM_CACHE(dmfs_lock, 0);
	dmfs_early_cachep = KMEM_CACHE(dmfs_early_revoke, 0);
	if (dmfs_lock_cachep && dmfs_early_cachep)
		return 0;
	dmfs_lock_exit();
	return -ENOMEM;
}

/**
 * dmfs_lock_exit() - destroy the slab caches of locks (module unload)
 */
void dmfs_lock_exit(void)
{
	kmem_cache_destroy(dmfs_early_cachep);
	kmem_cache_destroy(dmfs_lock_cachep);
}
