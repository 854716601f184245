// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: regular files - page cache I/O, read()/write() under extent locks,
 * and mmap as the seeds design it (.fault = the RFC's do_no_page hook,
 * .page_mkwrite = its do_wp_page hook).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/slab.h>
#include <linux/pagemap.h>
#include <linux/mm.h>
#include <linux/uio.h>
#include <linux/highmem.h>
#include <linux/writeback.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "dmfs.h"
#include "dmfs_check.h"

struct dmfs_file {
	struct list_head list;    /* sbi->open_files while registered */
	struct file *file;
	u64 open_handle;          /* server open registration, 0 if none */
	struct dmfs_conn *conn;   /* the session of open_handle */
	u32 flags;                /* DMFS_OPEN_* of the registration */
	u64 exec_version;         /* data version when it began to run */
	u64 exec_seq;             /* lock grant sequence number then */
	bool exec;                /* executed, or mapped executable */
	bool lost;                /* registration not set again: I/O fails */
};

/* ---- address space ---- */

/*
 * READ one page on session @c, received straight into it; the rest of the
 * page is zeroed (end of file).
 */
static int dmfs_read_page_rpc(struct dmfs_conn *c, struct inode *inode,
			      struct page *page)
{
	struct dmfs_read_req rq = {};
	struct bio_vec bv;
	int count;

	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.offset = cpu_to_le64(page_offset(page));
	rq.length = cpu_to_le32(PAGE_SIZE);
	bvec_set_page(&bv, page, PAGE_SIZE, 0);
	count = dmfs_session_read(c, &rq, &bv, 1);
	if (count < 0) {
		pr_warn_ratelimited("ino %lu: READ @%lld failed: %d\n",
				    inode->i_ino, page_offset(page), count);
		return count;
	}
	if (count < PAGE_SIZE)
		zero_user_segment(page, count, PAGE_SIZE);
	flush_dcache_page(page);
	return 0;
}

/* read a page from the server, only under a lock covering it */
static int dmfs_read_page(struct inode *inode, struct page *page)
{
	struct dmfs_conn *c;

	c = dmfs_page_session(inode, page_offset(page), DMFS_LOCK_PR, NULL);
	if (!c) {
		pr_warn_ratelimited("ino %lu: page @%lld to read, no lock covers it: EIO\n",
				    inode->i_ino, page_offset(page));
		return -EIO;
	}
	return dmfs_read_page_rpc(c, inode, page);
}

static int dmfs_read_folio(struct file *file, struct folio *folio)
{
	struct inode *inode = folio->mapping->host;
	int err;

	err = dmfs_read_page(inode, &folio->page);
	if (!err)
		folio_mark_uptodate(folio);
	else
		folio_set_error(folio);
	folio_unlock(folio);
	return err;
}

/*
 * One READ of the next @n folios (order 0, locked) of @rac from @pos on @c,
 * received straight into them; the reply may be shorter (end of file): the
 * rest is zeroed. Marks them uptodate on success and unlocks them.
 */
static void dmfs_read_batch(struct dmfs_conn *c, struct readahead_control *rac,
			    unsigned int n, loff_t pos)
{
	struct dmfs_read_req rq = {};
	struct folio **folios, *folio;
	unsigned int i, got;
	struct bio_vec *bv;
	int count, have;

	folios = kmalloc_array(n, sizeof(*folios) + sizeof(*bv), GFP_NOFS);
	bv = folios ? (struct bio_vec *)(folios + n) : NULL;
	for (got = 0; got < n && (folio = readahead_folio(rac)); got++) {
		if (!folios) {
			folio_unlock(folio); /* not uptodate: read later */
			continue;
		}
		folios[got] = folio;
		bvec_set_page(&bv[got], &folio->page, PAGE_SIZE, 0);
	}
	if (!folios)
		return;
	rq.file_id = cpu_to_le64(rac->mapping->host->i_ino);
	rq.offset = cpu_to_le64(pos);
	rq.length = cpu_to_le32(got * PAGE_SIZE);
	count = got ? dmfs_session_read(c, &rq, bv, got) : -EIO;
	for (i = 0; i < got; i++) {
		if (count >= 0) {
			have = clamp_t(int, count - (int)(i * PAGE_SIZE), 0,
				       PAGE_SIZE);
			if (have < PAGE_SIZE)
				folio_zero_segment(folios[i], have, PAGE_SIZE);
			flush_dcache_folio(folios[i]);
			folio_mark_uptodate(folios[i]);
		}
		folio_unlock(folios[i]);
	}
	kfree(folios);
}

/*
 * Readahead reads only what this client's locks cover: a page read without
 * a lock would be served later as if it had been. It stops at the first
 * page they do not cover: read_pages() takes the rest of an asynchronous
 * window out of the cache again, so that the fault that locks them reads
 * them in one READ of its own readahead (left in the cache not uptodate,
 * each would be read alone by .read_folio). Pages under one lock go in
 * READs of up to the session's io_pages, never past the lock's end.
 */
static void dmfs_readahead(struct readahead_control *rac)
{
	struct inode *inode = rac->mapping->host;
	/* readahead_pos() and _count() include the folio last consumed */
	unsigned int left = readahead_count(rac), n;
	loff_t pos = readahead_pos(rac);
	struct dmfs_conn *c;
	u64 end;

	while (left) {
		c = dmfs_page_session(inode, pos, DMFS_LOCK_PR, &end);
		if (!c)
			return;
		n = min3(left, c->io_pages,
			 (unsigned int)min_t(u64, (end - pos) >> PAGE_SHIFT,
					     UINT_MAX));
		n = max(n, 1U);
		dmfs_read_batch(c, rac, n, pos);
		left -= n;
		pos += (loff_t)n << PAGE_SHIFT;
	}
}

/* send a WRITE of @len bytes of @data at @pos on session @c */
static struct dmfs_req *dmfs_write_send(struct dmfs_conn *c,
					struct inode *inode, loff_t pos,
					const void *data, u32 len)
{
	struct dmfs_write_req rq = {};

	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.offset = cpu_to_le64(pos);
	rq.length = cpu_to_le32(len);
	return dmfs_session_send(c, DMFS_OP_WRITE, &rq, sizeof(rq), data, len);
}

/* the answer to dmfs_write_send(): the file's size as the server has it */
static int dmfs_write_wait(struct dmfs_conn *c, struct inode *inode,
			   struct dmfs_req *req)
{
	struct dmfs_write_rep *rep;
	struct dmfs_attr attr = {};
	u32 rlen;
	void *r;
	int err;

	err = dmfs_session_wait(c, req, sizeof(*rep), &r, &rlen);
	if (err)
		return err;
	rep = r;
	attr.size = rep->size;
	attr.data_version = rep->data_version;
	kvfree(r);
	mutex_lock(&DMFS_I(inode)->lock_mutex);
	dmfs_apply_server_size(inode, &attr);
	mutex_unlock(&DMFS_I(inode)->lock_mutex);
	return 0;
}

/* WRITE @len bytes of @data at @pos on session @c */
static int dmfs_write_rpc(struct dmfs_conn *c, struct inode *inode,
			  loff_t pos, const void *data, u32 len)
{
	struct dmfs_req *req = dmfs_write_send(c, inode, pos, data, len);

	if (IS_ERR(req))
		return PTR_ERR(req);
	return dmfs_write_wait(c, inode, req);
}

/* WRITE one page (its first @len bytes) on session @c */
static int dmfs_write_page_rpc(struct dmfs_conn *c, struct inode *inode,
			       struct page *page, u32 len)
{
	void *kaddr = kmap_local_page(page);
	int err;

	err = dmfs_write_rpc(c, inode, page_offset(page), kaddr, len);
	kunmap_local(kaddr);
	return err;
}

/*
 * The session a dirty page may be written back on (its folio locked). A
 * page dirtied under a session that is gone (by a write() that ran across
 * the loss) has none: it is never written through another session, and
 * never served (not uptodate: read again under a lock); the mapping
 * records -EIO.
 */
static struct dmfs_conn *dmfs_writeback_session(struct folio *folio)
{
	struct inode *inode = folio->mapping->host;
	struct dmfs_conn *c;

	c = dmfs_page_session(inode, folio_pos(folio), DMFS_LOCK_PW, NULL);
	if (!c) {
		pr_warn_ratelimited("ino %lu @%lld: dirty without a lock of the current session, not written\n",
				    inode->i_ino, folio_pos(folio));
		mapping_set_error(folio->mapping, -EIO);
		folio_clear_uptodate(folio);
	}
	return c;
}

/*
 * Errors after which the page is still worth writing: memory, a signal to
 * the task doing the write-back (before the WRITE went out, or while it
 * waited for the answer: the WRITE is repeated, it is idempotent).
 */
static bool dmfs_write_error_transient(int err)
{
	return err == -ENOMEM || err == -EAGAIN || err == -EINTR ||
	       err == -ERESTARTSYS;
}

static int dmfs_writepage(struct page *page, struct writeback_control *wbc)
{
	struct folio *folio = page_folio(page);
	struct inode *inode = folio->mapping->host;
	loff_t size = i_size_read(inode);
	loff_t off = folio_pos(folio);
	struct dmfs_conn *c;
	int err;

	if (off >= size) {
		/* wholly beyond EOF (truncated meanwhile): nothing to write */
		folio_unlock(folio);
		return 0;
	}
	c = dmfs_writeback_session(folio);
	if (!c) {
		folio_unlock(folio);
		return 0;
	}
	folio_start_writeback(folio);
	folio_unlock(folio);
	err = dmfs_write_page_rpc(c, inode, page,
				  min_t(loff_t, PAGE_SIZE, size - off));
	if (err && dmfs_write_error_transient(err)) {
		/* still dirty: written later; an fsync now reports it */
		folio_redirty_for_writepage(wbc, folio);
		folio_end_writeback(folio);
		return wbc->sync_mode == WB_SYNC_ALL ? err : 0;
	}
	if (err) {
		pr_warn_ratelimited("write-back of ino %lu @%lld failed: %d\n",
				    inode->i_ino, off, err);
		mapping_set_error(folio->mapping, err);
		folio_set_error(folio);
	}
	folio_end_writeback(folio);
	return 0;
}

/* contiguous dirty pages under one PW lock, for one WRITE (->writepages) */
struct dmfs_wb_batch {
	struct list_head *sent;   /* WRITEs not awaited (a revoke's), or NULL */
	struct dmfs_conn *c;
	u64 lock_end;             /* end of the lock that covers them */
	loff_t pos;               /* offset of the first */
	u32 len;                  /* bytes to write (the last may be partial) */
	unsigned int n;
	struct folio *folios[DMFS_IO_PAGES]; /* under write-back, unlocked */
};

/* a WRITE sent by a revoke's write-back, its answer not awaited yet */
struct dmfs_wb_sent {
	struct list_head list;
	struct dmfs_conn *c;
	struct dmfs_req *req;
	loff_t pos;
};

/*
 * WRITE @len bytes of @data at @pos for the batch: awaited, or for a
 * revoke only sent (its answer goes on b->sent). Sent means the data is in
 * the socket: the pages are clean and can leave the page cache.
 */
static int dmfs_wb_write(struct dmfs_wb_batch *b, struct inode *inode,
			 loff_t pos, const void *data, u32 len)
{
	struct dmfs_wb_sent *ws;
	struct dmfs_req *req;

	if (!b->sent)
		return dmfs_write_rpc(b->c, inode, pos, data, len);
	req = dmfs_write_send(b->c, inode, pos, data, len);
	if (IS_ERR(req))
		return PTR_ERR(req);
	ws = kmalloc(sizeof(*ws), GFP_NOFS);
	if (!ws) /* nowhere to note it: wait for it now */
		return dmfs_write_wait(b->c, inode, req);
	ws->c = b->c;
	ws->req = req;
	ws->pos = pos;
	list_add_tail(&ws->list, b->sent);
	atomic_inc(&DMFS_I(inode)->writes_unanswered);
	/* counted before the pages are clean: dmfs_apply_server_size() */
	smp_mb__after_atomic();
	return 0;
}

/* dmfs_wb_write() of one page (its first @len bytes) */
static int dmfs_wb_write_page(struct dmfs_wb_batch *b, struct inode *inode,
			      struct folio *folio, u32 len)
{
	void *kaddr = kmap_local_folio(folio, 0);
	int err;

	err = dmfs_wb_write(b, inode, folio_pos(folio), kaddr, len);
	kunmap_local(kaddr);
	return err;
}

/*
 * Send the batch: one WRITE from a copy of its pages, or one WRITE a page
 * where no buffer could be had. Errors as in dmfs_writepage(); returns the
 * error an fsync must see, or 0.
 */
static int dmfs_wb_flush(struct inode *inode, struct dmfs_wb_batch *b,
			 struct writeback_control *wbc)
{
	unsigned int nofs, i;
	int err = 0, ret = 0;
	char *buf;

	if (!b->n)
		return 0;
	nofs = memalloc_nofs_save();
	buf = b->n > 1 ? kvmalloc(b->n * PAGE_SIZE, GFP_KERNEL) : NULL;
	memalloc_nofs_restore(nofs);
	if (buf) {
		for (i = 0; i < b->n; i++) {
			void *kaddr = kmap_local_folio(b->folios[i], 0);

			memcpy(buf + i * PAGE_SIZE, kaddr, PAGE_SIZE);
			kunmap_local(kaddr);
		}
		err = dmfs_wb_write(b, inode, b->pos, buf, b->len);
		kvfree(buf);
	}
	for (i = 0; i < b->n; i++) {
		struct folio *folio = b->folios[i];
		u32 len = min_t(u32, PAGE_SIZE, b->len - i * PAGE_SIZE);

		if (!buf)
			err = dmfs_wb_write_page(b, inode, folio, len);
		if (err && dmfs_write_error_transient(err)) {
			folio_redirty_for_writepage(wbc, folio);
			if (wbc->sync_mode == WB_SYNC_ALL)
				ret = err;
		} else if (err) {
			pr_warn_ratelimited("write-back of ino %lu @%lld failed: %d\n",
					    inode->i_ino, folio_pos(folio), err);
			mapping_set_error(folio->mapping, err);
			folio_set_error(folio);
		}
		folio_end_writeback(folio);
	}
	b->n = 0;
	return ret;
}

/* write_cache_pages() callback: add a locked, cleaned page to the batch */
static int dmfs_wb_add(struct page *page, struct writeback_control *wbc,
		       void *data)
{
	struct dmfs_wb_batch *b = data;
	struct folio *folio = page_folio(page);
	struct inode *inode = folio->mapping->host;
	loff_t size = i_size_read(inode);
	loff_t off = folio_pos(folio);
	int ret = 0;

	if (b->n && (off != b->pos + b->n * PAGE_SIZE || b->n == b->c->io_pages ||
		     off + PAGE_SIZE > b->lock_end))
		ret = dmfs_wb_flush(inode, b, wbc);
	if (off >= size) {
		/* wholly beyond EOF (truncated meanwhile): nothing to write */
		folio_unlock(folio);
		return ret;
	}
	if (!b->n) {
		b->c = dmfs_page_session(inode, off, DMFS_LOCK_PW, &b->lock_end);
		if (!b->c) {
			dmfs_writeback_session(folio); /* says why, records it */
			folio_unlock(folio);
			return ret;
		}
		b->pos = off;
	}
	folio_start_writeback(folio);
	folio_unlock(folio);
	b->folios[b->n++] = folio;
	b->len = (b->n - 1) * PAGE_SIZE + min_t(loff_t, PAGE_SIZE, size - off);
	if (size - off < PAGE_SIZE) /* the last page: nothing follows it */
		ret = dmfs_wb_flush(inode, b, wbc) ?: ret;
	return ret;
}

/* write_cache_pages() in batches; @sent as in struct dmfs_wb_batch */
static int dmfs_write_batches(struct address_space *mapping,
			      struct writeback_control *wbc,
			      struct list_head *sent)
{
	struct dmfs_wb_batch *b;
	int err, err2;

	b = kzalloc(sizeof(*b), GFP_NOFS);
	if (!b)
		return -ENOMEM;
	b->sent = sent;
	err = write_cache_pages(mapping, wbc, dmfs_wb_add, b);
	err2 = dmfs_wb_flush(mapping->host, b, wbc);
	kfree(b);
	return err ?: err2;
}

/*
 * Write-back in WRITEs of up to the session's io_pages contiguous pages,
 * each within the PW lock that covers its first page (a revoke's flush of
 * 64 dirty pages is one round trip, not 64).
 */
static int dmfs_writepages(struct address_space *mapping,
			   struct writeback_control *wbc)
{
	return dmfs_write_batches(mapping, wbc, NULL);
}

/**
 * dmfs_writeback_send() - a revoke's write-back: WRITEs sent, not awaited
 * @inode: the file
 * @start: first byte of the range
 * @end: last byte of the range (inclusive)
 * @sent: list the WRITEs sent are added to, for dmfs_writeback_wait()
 *
 * A revoke used to wait for each WRITE's answer before it sent its CANCEL:
 * a round trip on the path of the client waiting for the lock. The server
 * serves a session's requests in order, so a CANCEL sent after the WRITEs
 * is served after them and the other client is granted the written data
 * all the same. When this returns the dirty pages of the range are clean
 * and out of write-back (their data is in the socket): the revoke can
 * evict them and cancel at once. A WRITE that could not be sent leaves its
 * page dirty (eviction launders it) or records the error, as
 * ->writepages does.
 */
void dmfs_writeback_send(struct inode *inode, loff_t start, loff_t end,
			 struct list_head *sent)
{
	struct writeback_control wbc = {
		.sync_mode = WB_SYNC_ALL,
		.nr_to_write = LONG_MAX,
		.range_start = start,
		.range_end = end,
	};

	dmfs_write_batches(inode->i_mapping, &wbc, sent);
}

/**
 * dmfs_writeback_wait() - the answers to dmfs_writeback_send()'s WRITEs
 * @inode: the file
 * @sent: the list it filled, emptied here
 *
 * A WRITE the server refused is recorded on the mapping, where fsync() and
 * close() find it: they wait for these answers (dmfs_wait_revoke_writes()).
 */
void dmfs_writeback_wait(struct inode *inode, struct list_head *sent)
{
	struct dmfs_inode_info *di = DMFS_I(inode);
	struct dmfs_wb_sent *ws, *next;
	int err;

	list_for_each_entry_safe(ws, next, sent, list) {
		err = dmfs_write_wait(ws->c, inode, ws->req);
		if (err) {
			pr_warn_ratelimited("write-back of ino %lu @%lld failed: %d\n",
					    inode->i_ino, ws->pos, err);
			mapping_set_error(inode->i_mapping, err);
		}
		list_del(&ws->list);
		kfree(ws);
		mutex_lock(&di->lock_mutex);
		if (atomic_dec_and_test(&di->writes_unanswered)) {
			dmfs_release_held_size(inode);
			wake_up_var(&di->writes_unanswered);
		}
		mutex_unlock(&di->lock_mutex);
	}
}

/*
 * fsync() and close() report what the server did with the data: a revoke
 * may have sent some of it without its answer yet (dmfs_writeback_send()).
 */
static int dmfs_wait_revoke_writes(struct file *file)
{
	atomic_t *n = &DMFS_I(file_inode(file))->writes_unanswered;

	if (wait_var_event_killable(n, !atomic_read(n)))
		return -EINTR;
	return file_check_and_advance_wb_err(file);
}

/*
 * invalidate_inode_pages2 on a dirty page (a revoke's eviction): write it.
 * After a transient error the page stays dirty and the eviction is tried
 * again; after another one the mapping has the error.
 */
static int dmfs_launder_folio(struct folio *folio)
{
	struct inode *inode = folio->mapping->host;
	loff_t size = i_size_read(inode);
	loff_t off = folio_pos(folio);
	struct dmfs_conn *c;
	int err;

	if (!folio_clear_dirty_for_io(folio) || off >= size)
		return 0;
	c = dmfs_writeback_session(folio);
	if (!c)
		return 0;
	err = dmfs_write_page_rpc(c, inode, &folio->page,
				  min_t(loff_t, PAGE_SIZE, size - off));
	if (err && dmfs_write_error_transient(err)) {
		folio_mark_dirty(folio);
		return err;
	}
	if (err)
		mapping_set_error(folio->mapping, err);
	return 0;
}

static int dmfs_write_begin(struct file *file, struct address_space *mapping,
			    loff_t pos, unsigned int len, struct page **pagep,
			    void **fsdata)
{
	struct inode *inode = mapping->host;
	struct page *page;
	unsigned int from = pos & (PAGE_SIZE - 1);
	int err;

	page = grab_cache_page_write_begin(mapping, pos >> PAGE_SHIFT);
	if (!page)
		return -ENOMEM;
	*pagep = page;
	if (PageUptodate(page) || (from == 0 && len == PAGE_SIZE))
		return 0;
	if (page_offset(page) >= i_size_read(inode)) {
		zero_user_segments(page, 0, from, from + len, PAGE_SIZE);
		return 0;
	}
	err = dmfs_read_page(inode, page);
	if (err) {
		unlock_page(page);
		put_page(page);
		return err;
	}
	SetPageUptodate(page);
	return 0;
}

static int dmfs_write_end(struct file *file, struct address_space *mapping,
			  loff_t pos, unsigned int len, unsigned int copied,
			  struct page *page, void *fsdata)
{
	struct inode *inode = mapping->host;
	struct dmfs_inode_info *di = DMFS_I(inode);
	loff_t last = pos + copied;

	if (!PageUptodate(page)) {
		if (copied < len) {
			/* short copy into a page we did not read: retry */
			copied = 0;
			goto out;
		}
		SetPageUptodate(page);
	}
	/*
	 * Dirty first, then the size: a grant's older size sees the dirty
	 * page beyond it and leaves our extension alone.
	 */
	set_page_dirty(page);
	if (last > i_size_read(inode)) {
		mutex_lock(&di->lock_mutex);
		if (last > i_size_read(inode))
			i_size_write(inode, last);
		mutex_unlock(&di->lock_mutex);
	}
out:
	unlock_page(page);
	put_page(page);
	return copied;
}

const struct address_space_operations dmfs_aops = {
	.read_folio	= dmfs_read_folio,
	.readahead	= dmfs_readahead,
	.writepage	= dmfs_writepage,
	.writepages	= dmfs_writepages,
	.dirty_folio	= filemap_dirty_folio,
	.write_begin	= dmfs_write_begin,
	.write_end	= dmfs_write_end,
	.launder_folio	= dmfs_launder_folio,
};

/* ---- read()/write() ---- */

/*
 * May the caller do I/O through @file? Not after its write registration
 * or its application lock was lost at a reconnect (dmfs_open_replay(),
 * dmfs_plock_replay()).
 */
static int dmfs_io_check(struct file *file, bool write)
{
	struct dmfs_file *df = file->private_data;

	if (write && df && !df->exec && READ_ONCE(df->lost))
		return -EIO;
	return dmfs_plock_check(file);
}

/*
 * read() and write() hold a lock reference for one step of at most
 * DMFS_IO_STEP bytes at a time, so that a revoke waits for one step, not
 * for the whole call: a 512 MiB uncached read would otherwise hold it off
 * for 131072 synchronous READs, past the server's revoke timeout, and the
 * client would be evicted. An O_APPEND write() is one step (atomic).
 */
#define DMFS_IO_STEP (64 * PAGE_SIZE)

/* the length of the step at @pos for @count bytes */
static size_t dmfs_step(loff_t pos, size_t count)
{
	return min_t(size_t, count, DMFS_IO_STEP - (pos & (DMFS_IO_STEP - 1)));
}

/*
 * read(): PR lock on each step; copy with page faults disabled so that no
 * dmfs lock is held while the user buffer (possibly a dmfs mapping) faults.
 * On a short copy, drop the lock, fault the buffer in, retry.
 */
static ssize_t dmfs_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	size_t count, step;
	struct dmfs_lock *lk;
	ssize_t ret, done = 0;

	ret = dmfs_io_check(iocb->ki_filp, false);
	if (ret)
		return ret;
	while ((count = iov_iter_count(to))) {
		/* a step that reaches our EOF learns the real one first */
		step = dmfs_step(iocb->ki_pos, count);
		lk = dmfs_lock_get_sized(inode, DMFS_LOCK_PR, iocb->ki_pos,
					 iocb->ki_pos + step);
		if (IS_ERR(lk))
			return done ? done : PTR_ERR(lk);
		iov_iter_truncate(to, step);
		pagefault_disable();
		ret = generic_file_read_iter(iocb, to);
		pagefault_enable();
		iov_iter_reexpand(to, iov_iter_count(to) + count - step);
		dmfs_lock_put(lk);
		if (ret > 0)
			done += ret;
		if (ret < 0 && ret != -EFAULT)
			return done ? done : ret;
		if (iocb->ki_pos >= i_size_read(inode))
			break;
		if ((size_t)ret == step)
			continue;
		/* the buffer was not resident: fault it in without locks */
		if (fatal_signal_pending(current))
			return done ? done : -EINTR;
		step = min_t(size_t, iov_iter_count(to), SZ_1M);
		if (fault_in_iov_iter_writeable(to, step) == step)
			return done ? done : -EFAULT;
	}
	return done;
}

static ssize_t dmfs_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	bool append = iocb->ki_flags & IOCB_APPEND;
	size_t count, step;
	struct dmfs_lock *lk;
	ssize_t ret, done = 0;
	u64 start, end;

	ret = dmfs_io_check(file, true);
	if (ret)
		return ret;
	while ((count = iov_iter_count(from))) {
		inode_lock(inode);
		if (append) {
			start = 0;
			end = DMFS_EOF;
			step = count;
		} else {
			start = iocb->ki_pos;
			step = dmfs_step(start, count);
			end = start + step;
		}
		lk = dmfs_lock_get(inode, DMFS_LOCK_PW, start, end);
		if (IS_ERR(lk)) {
			inode_unlock(inode);
			return done ? done : PTR_ERR(lk);
		}
		iov_iter_truncate(from, step);
		ret = generic_write_checks(iocb, from);
		if (ret > 0 && (!append || done == 0))
			ret = file_remove_privs(file) ?: ret;
		if (ret > 0) {
			pagefault_disable();
			ret = generic_perform_write(iocb, from);
			pagefault_enable();
		}
		if (ret > 0) {
			done += ret; /* generic_perform_write advanced ki_pos */
			dmfs_note_modified(inode);
		}
		iov_iter_reexpand(from, iov_iter_count(from) + count - step);
		dmfs_lock_put(lk);
		inode_unlock(inode);
		if (ret < 0 && ret != -EFAULT)
			return done ? done : ret;
		if (ret == 0 && !done)
			break;
		if ((size_t)ret == step)
			continue;
		if (fatal_signal_pending(current))
			return done ? done : -EINTR;
		step = min_t(size_t, iov_iter_count(from), SZ_1M);
		if (step && fault_in_iov_iter_readable(from, step) == step)
			return done ? done : -EFAULT;
	}
	if (done > 0)
		done = generic_write_sync(iocb, done);
	return done;
}

/* ---- open/close, registrations ---- */

/*
 * The version a binary runs at: our own dirty data goes to the server
 * first, and a PR lock makes every other client's too. A lock granted
 * later must carry the same version, or the binary changed under us (HLD
 * section 8). The version itself comes from the OPEN (or GETATTR) reply
 * that follows.
 */
static int dmfs_exec_start(struct inode *inode, struct dmfs_file *df)
{
	struct dmfs_lock *lk;
	int err;

	err = filemap_write_and_wait(inode->i_mapping);
	if (err)
		return err;
	lk = dmfs_lock_get(inode, DMFS_LOCK_PR, 0, DMFS_EOF);
	if (IS_ERR(lk))
		return PTR_ERR(lk);
	df->exec_seq = atomic64_read(&DMFS_SB(inode->i_sb)->grant_seq);
	dmfs_lock_put(lk);
	return 0;
}

/* OPEN on session @c: the registration, and the file's attributes */
static int dmfs_register(struct inode *inode, struct dmfs_file *df,
			 struct dmfs_conn *c, struct dmfs_attr *attr)
{
	struct dmfs_open_req rq = {};
	struct dmfs_open_rep rep;
	int err;

	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.flags = cpu_to_le32(df->flags);
	err = dmfs_session_call(c, DMFS_OP_OPEN, &rq, sizeof(rq), &rep,
				sizeof(rep));
	if (err)
		return err;
	df->open_handle = le64_to_cpu(rep.open_handle);
	df->conn = c;
	*attr = rep.attr;
	return 0;
}

static int dmfs_open(struct inode *inode, struct file *file)
{
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_attr attr;
	struct dmfs_file *df;
	int err = 0;

	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	INIT_LIST_HEAD(&df->list);
	df->file = file;
	if (file->f_flags & __FMODE_EXEC)
		df->flags |= DMFS_OPEN_EXEC | DMFS_OPEN_READ;
	if (file->f_mode & FMODE_WRITE)
		df->flags |= DMFS_OPEN_WRITE;
	if (df->flags & DMFS_OPEN_EXEC)
		err = dmfs_exec_start(inode, df);
	if (!err && df->flags) {
		/* registered opens: cluster-wide deny-write for binaries */
		mutex_lock(&sbi->open_mutex);
		err = dmfs_register(inode, df, READ_ONCE(sbi->conn), &attr);
		if (!err)
			list_add(&df->list, &sbi->open_files);
		mutex_unlock(&sbi->open_mutex);
		if (!err) {
			df->exec_version = le64_to_cpu(attr.data_version);
			df->exec = df->flags & DMFS_OPEN_EXEC;
			dmfs_update_inode(inode, &attr);
		}
	}
	if (err) {
		kfree(df);
		return err;
	}
	file->private_data = df;
	return 0;
}

static int dmfs_release(struct inode *inode, struct file *file)
{
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_file *df = file->private_data;
	struct dmfs_close_req rq;

	if (!df)
		return 0;
	mutex_lock(&sbi->open_mutex);
	list_del(&df->list);
	mutex_unlock(&sbi->open_mutex);
	/* a handle of an earlier session means nothing to the current one */
	if (df->open_handle && dmfs_session_live(df->conn)) {
		rq.open_handle = cpu_to_le64(df->open_handle);
		dmfs_session_release(df->conn, DMFS_OP_CLOSE, &rq, sizeof(rq));
	}
	kfree(df);
	return 0;
}

/*
 * A registration of a dead session, set again on the current one. A write
 * open refused (ETXTBSY: another client runs the file now) is lost: I/O
 * through it fails. So is an executed file that changed meanwhile.
 */
static void dmfs_reregister(struct file *file, struct dmfs_conn *c)
{
	struct inode *inode = file_inode(file);
	struct dmfs_file *df = file->private_data;
	struct dmfs_attr attr;
	int err;

	err = dmfs_register(inode, df, c, &attr);
	if (!err && df->exec && !dmfs_fi_skip_exec_check &&
	    le64_to_cpu(attr.data_version) != df->exec_version)
		err = -ESTALE;
	if (!err)
		return;
	WRITE_ONCE(df->lost, true);
	pr_warn("ino %lu: %s registration not set again after the reconnect (%d): %s\n",
		inode->i_ino, df->exec ? "exec" : "write", err,
		df->exec ? "the binary changed, or is being written: SIGBUS at its next fault" :
			   "writes through this descriptor fail with EIO");
}

/**
 * dmfs_open_replay() - set the write registrations again on a new session
 * @sbi: the mount
 * @c: the new session
 *
 * Exec registrations are set again at the binary's next fault instead
 * (dmfs_exec_check()): until then a writer elsewhere is not refused, and
 * if it changes the binary that fault kills the process.
 */
void dmfs_open_replay(struct dmfs_sb_info *sbi, struct dmfs_conn *c)
{
	struct dmfs_file *df;

	mutex_lock(&sbi->open_mutex);
	list_for_each_entry(df, &sbi->open_files, list) {
		if (df->exec || df->conn == c || READ_ONCE(df->lost))
			continue;
		dmfs_reregister(df->file, c);
	}
	mutex_unlock(&sbi->open_mutex);
}

/* ---- mmap ---- */

/*
 * HLD section 8: a running binary that changed meanwhile is not run: the
 * process gets SIGBUS at its next fault. An exec registration of a dead
 * session is set again first, on @lk's live session.
 */
static bool dmfs_exec_changed(struct file *file, struct dmfs_lock *lk)
{
	struct inode *inode = file_inode(file);
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_file *df = file->private_data;

	/* pairs with dmfs_mmap(): exec_version is set before exec */
	if (!df || !smp_load_acquire(&df->exec))
		return false;
	if (df->open_handle && df->conn != lk->conn &&
	    dmfs_session_live(lk->conn)) {
		mutex_lock(&sbi->open_mutex);
		if (df->conn != lk->conn && !df->lost)
			dmfs_reregister(file, lk->conn);
		mutex_unlock(&sbi->open_mutex);
	}
	if (READ_ONCE(df->lost) ||
	    (!dmfs_fi_skip_exec_check && lk->seq > df->exec_seq &&
	     lk->data_version != df->exec_version)) {
		pr_warn_ratelimited("ino %lu changed while executing (version %llu -> %llu%s): SIGBUS to %s[%d]\n",
				    inode->i_ino, df->exec_version,
				    lk->data_version,
				    df->lost ? ", registration lost" : "",
				    current->comm, task_pid_nr(current));
		return true;
	}
	return false;
}

/* may this fault give mmap_lock up and be retried? */
static bool dmfs_fault_may_retry(const struct vm_fault *vmf)
{
	return fault_flag_allow_retry_first(vmf->flags) &&
	       !(vmf->flags & FAULT_FLAG_RETRY_NOWAIT);
}

/*
 * A fault whose lock is not cached waits for the grant without mmap_lock
 * (other threads of the process may mmap, munmap, fault meanwhile), then
 * has the fault retried: the lock it waited for serves the retry, also if
 * a revoke came meanwhile, for the inode's minimum hold (lock.c).
 */
static vm_fault_t dmfs_fault_wait_unlocked(struct vm_fault *vmf, u32 mode,
					   u64 pos)
{
	struct file *file = get_file(vmf->vma->vm_file);
	struct dmfs_lock *lk;

	mmap_read_unlock(vmf->vma->vm_mm);
	lk = dmfs_lock_get_page(file_inode(file), mode, pos);
	if (!IS_ERR(lk))
		dmfs_lock_put(lk);
	fput(file);
	return VM_FAULT_RETRY;
}

static vm_fault_t dmfs_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct file *file = vma->vm_file;
	struct inode *inode = file_inode(file);
	/* a store .page_mkwrite sent back may come back as a read: PW too */
	bool write = ((vmf->flags & FAULT_FLAG_WRITE) &&
		      (vma->vm_flags & VM_SHARED)) ||
		     dmfs_store_sent_back(inode, vmf->pgoff);
	u64 pos = (u64)vmf->pgoff << PAGE_SHIFT;
	u32 mode = write ? DMFS_LOCK_PW : DMFS_LOCK_PR;
	struct dmfs_lock *lk;
	vm_fault_t ret;

	if (dmfs_fi_skip_fault_lock) {
		if (dmfs_conn_error(DMFS_SB(inode->i_sb)))
			return VM_FAULT_SIGBUS;
		return filemap_fault(vmf);
	}
	if (!(vmf->flags & FAULT_FLAG_TRIED))
		dmfs_hold_fault(inode, vmf->pgoff, write, false);
	/*
	 * The RFC's do_no_page hook: hold a lock covering the page, under
	 * which the size filemap_fault() checks is exact if the page reaches
	 * it: SIGBUS only beyond the real end of the file.
	 */
	lk = dmfs_lock_get_cached(inode, mode, pos, pos + PAGE_SIZE);
	if (!lk) {
		if (dmfs_fault_may_retry(vmf))
			return dmfs_fault_wait_unlocked(vmf, mode, pos);
		lk = dmfs_lock_get_sized(inode, mode, pos, pos + PAGE_SIZE);
		if (IS_ERR(lk))
			return VM_FAULT_SIGBUS;
	}
	if (dmfs_exec_changed(file, lk) || dmfs_io_check(file, write)) {
		dmfs_lock_put(lk);
		return VM_FAULT_SIGBUS;
	}
	ret = filemap_fault(vmf);
	/* a write fault is served by .page_mkwrite, next */
	if (!write && !(ret & (VM_FAULT_RETRY | VM_FAULT_ERROR)))
		dmfs_hold_fault(inode, vmf->pgoff, false, true);
	dmfs_lock_put(lk);
	return ret;
}

/*
 * The RFC's do_wp_page hook: a cached page becomes writable only under PW.
 * Several clients may hold the same page read-only under PR at once.
 */
static vm_fault_t dmfs_page_mkwrite(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct inode *inode = file_inode(file);
	struct folio *folio = page_folio(vmf->page);
	u64 pos = folio_pos(folio);
	struct dmfs_lock *lk = NULL;
	vm_fault_t ret = VM_FAULT_LOCKED;

	sb_start_pagefault(inode->i_sb);
	if (dmfs_io_check(file, true)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	if (!dmfs_fi_skip_mkwrite_pw) {
		lk = dmfs_lock_get_cached(inode, DMFS_LOCK_PW, pos,
					  pos + PAGE_SIZE);
		/*
		 * .page_mkwrite cannot give mmap_lock up while it waits for
		 * a grant (6.1's do_page_mkwrite() hides the fault's retry
		 * flags from it); .fault can. So the page is unmapped, and
		 * the store faults again, as on an absent page; unless it
		 * did already, was sent back already (it may come back as a
		 * read: dmfs_store_send_back()), or .fault takes no lock
		 * (fi_skip_fault_lock): then it waits here rather than loop.
		 */
		if (!lk && !dmfs_fi_skip_fault_lock &&
		    !dmfs_write_fault_begun(inode, vmf->pgoff) &&
		    dmfs_store_send_back(inode, vmf->pgoff)) {
			unmap_mapping_range(inode->i_mapping, pos, PAGE_SIZE, 0);
			ret = VM_FAULT_NOPAGE;
			goto out;
		}
	}
	dmfs_hold_fault(inode, vmf->pgoff, true, false);
	file_update_time(file);
	dmfs_note_modified(inode);
	if (!dmfs_fi_skip_mkwrite_pw) {
		/* the size checked below is exact if the page reaches it */
		if (!lk)
			lk = dmfs_lock_get_sized(inode, DMFS_LOCK_PW, pos,
						 pos + PAGE_SIZE);
		if (IS_ERR(lk)) {
			ret = VM_FAULT_SIGBUS;
			goto out;
		}
	} else if (dmfs_conn_error(DMFS_SB(inode->i_sb))) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	folio_lock(folio);
	if (folio->mapping != inode->i_mapping ||
	    folio_pos(folio) >= i_size_read(inode)) {
		/* evicted by a revoke (possibly of our own PR) or truncated */
		folio_unlock(folio);
		ret = VM_FAULT_NOPAGE;
		goto out;
	}
	folio_mark_dirty(folio);
	folio_wait_stable(folio);
out:
	if (ret == VM_FAULT_LOCKED)
		dmfs_hold_fault(inode, vmf->pgoff, true, true);
	if (!IS_ERR_OR_NULL(lk))
		dmfs_lock_put(lk);
	sb_end_pagefault(inode->i_sb);
	return ret;
}

static const struct vm_operations_struct dmfs_vm_ops = {
	.fault		= dmfs_fault,
	/* no .map_pages: every PTE is installed through .fault, under a lock */
	.page_mkwrite	= dmfs_page_mkwrite,
};

/*
 * A file mapped executable (a shared library ld.so maps) gets the same
 * changed-binary protection as an executed one: the version it runs at is
 * pinned now, a later fault of a changed version is SIGBUS. It gets no
 * cluster-wide deny-write: Linux itself lets a mapped library be written.
 */
static int dmfs_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(file);
	struct dmfs_file *df = file->private_data;
	struct dmfs_attr attr;
	int err;

	if ((vma->vm_flags & VM_EXEC) && df && !df->exec) {
		err = dmfs_exec_start(inode, df);
		if (!err)
			err = dmfs_fetch_attr(inode, &attr);
		if (err)
			return err;
		df->exec_version = le64_to_cpu(attr.data_version);
		/* faults of this file's other mappings may be reading df */
		smp_store_release(&df->exec, true);
	}
	file_accessed(file);
	vma->vm_ops = &dmfs_vm_ops;
	return 0;
}

/* ---- fsync, close(), llseek ---- */

static int dmfs_fsync(struct file *file, loff_t start, loff_t end,
		      int datasync)
{
	struct inode *inode = file_inode(file);
	struct dmfs_fsync_req rq;
	int err;

	err = file_write_and_wait_range(file, start, end);
	if (!err)
		err = dmfs_wait_revoke_writes(file);
	if (err)
		return err;
	memset(&rq, 0, sizeof(rq));
	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.flags = cpu_to_le32(datasync ? DMFS_FSYNC_DATASYNC : 0);
	return dmfs_call(DMFS_SB(inode->i_sb), DMFS_OP_FSYNC, &rq, sizeof(rq),
			 NULL, 0);
}

/*
 * close() of a writer writes its dirty pages back and reports a write-back
 * error, as NFS's close-to-open does: data written with write() and closed
 * does not depend on a later revoke to reach the server, and an eviction
 * between close() and that revoke cannot lose it silently. Dirty pages of a
 * MAP_SHARED mapping that outlives the descriptor still go at the revoke.
 */
static int dmfs_flush(struct file *file, fl_owner_t id)
{
	int err;

	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	err = file_write_and_wait_range(file, 0, LLONG_MAX);
	return err ?: dmfs_wait_revoke_writes(file);
}

static loff_t dmfs_llseek(struct file *file, loff_t offset, int whence)
{
	struct inode *inode = file_inode(file);
	loff_t size = i_size_read(inode);

	if (whence == SEEK_END || whence == SEEK_DATA || whence == SEEK_HOLE) {
		int err = dmfs_refresh_attr_sync(inode, &size);

		if (err)
			return err;
	}
	return generic_file_llseek_size(file, offset, whence,
					inode->i_sb->s_maxbytes, size);
}

const struct file_operations dmfs_file_fops = {
	.llseek		= dmfs_llseek,
	.read_iter	= dmfs_read_iter,
	.write_iter	= dmfs_write_iter,
	.mmap		= dmfs_mmap,
	.open		= dmfs_open,
	.flush		= dmfs_flush,
	.lock		= dmfs_lock,
	.flock		= dmfs_flock,
	.release	= dmfs_release,
	.fsync		= dmfs_fsync,
	.splice_read	= generic_file_splice_read,
};
