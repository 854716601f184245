// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: regular files - page cache I/O, read()/write() under extent locks,
 * and mmap as the seeds design it (.fault = the RFC's do_no_page hook,
 * .page_mkwrite = its do_wp_page hook).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/pagemap.h>
#include <linux/mm.h>
#include <linux/uio.h>
#include <linux/highmem.h>
#include <linux/writeback.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "dmfs.h"

struct dmfs_file {
	u64 open_handle;   /* server open registration, 0 if none */
	u64 gen;           /* session (sbi->generation) of open_handle */
	u64 exec_version;  /* data version when opened for exec */
	u64 exec_seq;      /* lock grant sequence number at exec open */
	bool exec;
};

/* ---- address space ---- */

static int dmfs_read_page_rpc(struct inode *inode, struct page *page)
{
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_read_req rq;
	struct dmfs_read_rep *rep;
	u32 rlen, count;
	void *r, *kaddr;
	int err;

	memset(&rq, 0, sizeof(rq));
	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.offset = cpu_to_le64(page_offset(page));
	rq.length = cpu_to_le32(PAGE_SIZE);
	err = dmfs_rpc(sbi, DMFS_OP_READ, &rq, sizeof(rq), NULL, 0,
		       sizeof(*rep), &r, &rlen);
	if (err)
		return err;
	rep = r;
	count = le32_to_cpu(rep->count);
	if (count > PAGE_SIZE || rlen != sizeof(*rep) + count) {
		pr_warn_ratelimited("malformed READ reply (%u bytes, count %u)\n",
				    rlen, count);
		kvfree(r);
		return -EIO;
	}
	kaddr = kmap_local_page(page);
	memcpy(kaddr, rep + 1, count);
	memset(kaddr + count, 0, PAGE_SIZE - count);
	kunmap_local(kaddr);
	flush_dcache_page(page);
	kvfree(r);
	return 0;
}

static int dmfs_read_folio(struct file *file, struct folio *folio)
{
	struct inode *inode = folio->mapping->host;
	int err;

	err = dmfs_read_page_rpc(inode, &folio->page);
	if (!err)
		folio_mark_uptodate(folio);
	else
		folio_set_error(folio);
	folio_unlock(folio);
	return err;
}

static int dmfs_write_page_rpc(struct inode *inode, struct page *page,
			       u32 len)
{
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_write_req rq;
	void *kaddr;
	int err;

	memset(&rq, 0, sizeof(rq));
	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.offset = cpu_to_le64(page_offset(page));
	rq.length = cpu_to_le32(len);
	kaddr = kmap_local_page(page);
	err = dmfs_rpc(sbi, DMFS_OP_WRITE, &rq, sizeof(rq), kaddr, len,
		       sizeof(struct dmfs_write_rep), NULL, NULL);
	kunmap_local(kaddr);
	return err;
}

static int dmfs_writepage(struct page *page, struct writeback_control *wbc)
{
	struct folio *folio = page_folio(page);
	struct inode *inode = folio->mapping->host;
	loff_t size = i_size_read(inode);
	loff_t off = folio_pos(folio);
	u32 len;
	int err;

	if (off >= size) {
		/* wholly beyond EOF (truncated meanwhile): nothing to write */
		folio_unlock(folio);
		return 0;
	}
	len = min_t(loff_t, PAGE_SIZE, size - off);
	folio_start_writeback(folio);
	folio_unlock(folio);
	err = dmfs_write_page_rpc(inode, page, len);
	if (err) {
		pr_warn_ratelimited("write-back of ino %lu @%lld failed: %d\n",
				    inode->i_ino, off, err);
		mapping_set_error(folio->mapping, err);
		folio_set_error(folio);
	}
	folio_end_writeback(folio);
	return err == -EIO ? 0 : err; /* the error is recorded in the mapping */
}

/* invalidate_inode_pages2 on a dirty page: write it, don't lose it */
static int dmfs_launder_folio(struct folio *folio)
{
	struct inode *inode = folio->mapping->host;
	loff_t size = i_size_read(inode);
	loff_t off = folio_pos(folio);
	int err = 0;

	if (folio_clear_dirty_for_io(folio) && off < size)
		err = dmfs_write_page_rpc(inode, &folio->page,
					  min_t(loff_t, PAGE_SIZE, size - off));
	return err;
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
	err = dmfs_read_page_rpc(inode, page);
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
	loff_t last = pos + copied;

	if (!PageUptodate(page)) {
		if (copied < len) {
			/* short copy into a page we did not read: retry */
			copied = 0;
			goto out;
		}
		SetPageUptodate(page);
	}
	if (last > i_size_read(inode))
		i_size_write(inode, last);
	set_page_dirty(page);
out:
	unlock_page(page);
	put_page(page);
	return copied;
}

const struct address_space_operations dmfs_aops = {
	.read_folio	= dmfs_read_folio,
	.writepage	= dmfs_writepage,
	.dirty_folio	= filemap_dirty_folio,
	.write_begin	= dmfs_write_begin,
	.write_end	= dmfs_write_end,
	.launder_folio	= dmfs_launder_folio,
};

/* ---- read()/write() ---- */

/*
 * read(): PR lock on the range; copy with page faults disabled so that no
 * dmfs lock is held while the user buffer (possibly a dmfs mapping) faults.
 * On a short copy, drop the lock, fault the buffer in, retry.
 */
static ssize_t dmfs_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	struct dmfs_lock *lk;
	ssize_t ret, done = 0;
	size_t want, left;

	if (!iov_iter_count(to))
		return 0;
	for (;;) {
		want = iov_iter_count(to);
		lk = dmfs_lock_get(inode, DMFS_LOCK_PR, iocb->ki_pos,
				   iocb->ki_pos + want);
		if (IS_ERR(lk))
			return done ? done : PTR_ERR(lk);
		pagefault_disable();
		ret = generic_file_read_iter(iocb, to);
		pagefault_enable();
		dmfs_lock_put(lk);
		if (ret > 0)
			done += ret;
		if (ret < 0 && ret != -EFAULT)
			return done ? done : ret;
		left = iov_iter_count(to);
		if (!left || iocb->ki_pos >= i_size_read(inode))
			return done;
		if (ret == 0 && ret != -EFAULT && fatal_signal_pending(current))
			return done ? done : -EINTR;
		/* the buffer was not resident: fault it in without locks */
		left = min_t(size_t, left, SZ_1M);
		if (fault_in_iov_iter_writeable(to, left) == left)
			return done ? done : -EFAULT;
	}
}

static ssize_t dmfs_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct dmfs_lock *lk;
	ssize_t ret, done = 0;
	size_t left;
	u64 start, end;

	for (;;) {
		inode_lock(inode);
		if (iocb->ki_flags & IOCB_APPEND) {
			start = 0;
			end = DMFS_EOF;
		} else {
			start = iocb->ki_pos;
			end = iocb->ki_pos + iov_iter_count(from);
		}
		lk = dmfs_lock_get(inode, DMFS_LOCK_PW, start, end);
		if (IS_ERR(lk)) {
			inode_unlock(inode);
			return done ? done : PTR_ERR(lk);
		}
		ret = generic_write_checks(iocb, from);
		if (ret <= 0)
			goto unlock;
		if (!(iocb->ki_flags & IOCB_APPEND) || done == 0) {
			ret = file_remove_privs(file);
			if (ret)
				goto unlock;
		}
		pagefault_disable();
		ret = generic_perform_write(iocb, from);
		pagefault_enable();
		if (ret > 0)
			done += ret; /* generic_perform_write advanced ki_pos */
unlock:
		dmfs_lock_put(lk);
		inode_unlock(inode);
		if (ret < 0 && ret != -EFAULT)
			return done ? done : ret;
		left = iov_iter_count(from);
		if (!left || (ret == 0 && done == 0 && !iov_iter_count(from)))
			break;
		if (fatal_signal_pending(current))
			return done ? done : -EINTR;
		left = min_t(size_t, left, SZ_1M);
		if (fault_in_iov_iter_readable(from, left) == left)
			return done ? done : -EFAULT;
	}
	if (done > 0)
		done = generic_write_sync(iocb, done);
	return done;
}

/* ---- mmap ---- */

static vm_fault_t dmfs_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct file *file = vma->vm_file;
	struct inode *inode = file_inode(file);
	struct dmfs_file *df = file->private_data;
	bool write = (vmf->flags & FAULT_FLAG_WRITE) &&
		     (vma->vm_flags & VM_SHARED);
	u64 pos = (u64)vmf->pgoff << PAGE_SHIFT;
	struct dmfs_lock *lk;
	vm_fault_t ret;

	if (dmfs_fi_skip_fault_lock) {
		if (dmfs_conn_error(DMFS_SB(inode->i_sb)))
			return VM_FAULT_SIGBUS;
		return filemap_fault(vmf);
	}
	/* the RFC's do_no_page hook: hold a lock covering the page */
	lk = dmfs_lock_get(inode, write ? DMFS_LOCK_PW : DMFS_LOCK_PR, pos,
			   pos + PAGE_SIZE);
	if (IS_ERR(lk))
		return VM_FAULT_SIGBUS;
	/* HLD section 8: a running binary that changed meanwhile is not run */
	if (df && df->exec && !dmfs_fi_skip_exec_check &&
	    lk->seq > df->exec_seq && lk->data_version != df->exec_version) {
		pr_warn_ratelimited("ino %lu changed while executing (version %llu -> %llu): SIGBUS to %s[%d]\n",
				    inode->i_ino, df->exec_version,
				    lk->data_version, current->comm,
				    task_pid_nr(current));
		dmfs_lock_put(lk);
		return VM_FAULT_SIGBUS;
	}
	ret = filemap_fault(vmf);
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
	file_update_time(file);
	if (!dmfs_fi_skip_mkwrite_pw) {
		lk = dmfs_lock_get(inode, DMFS_LOCK_PW, pos, pos + PAGE_SIZE);
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
	if (lk && !IS_ERR(lk))
		dmfs_lock_put(lk);
	sb_end_pagefault(inode->i_sb);
	return ret;
}

static const struct vm_operations_struct dmfs_vm_ops = {
	.fault		= dmfs_fault,
	/* no .map_pages: every PTE is installed through .fault, under a lock */
	.page_mkwrite	= dmfs_page_mkwrite,
};

static int dmfs_mmap(struct file *file, struct vm_area_struct *vma)
{
	file_accessed(file);
	vma->vm_ops = &dmfs_vm_ops;
	return 0;
}

/* ---- open/close, fsync ---- */

static int dmfs_open(struct inode *inode, struct file *file)
{
	struct dmfs_file *df;
	struct dmfs_open_req rq;
	struct dmfs_open_rep rep;
	u32 flags = 0;
	int err;

	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	if (file->f_flags & __FMODE_EXEC)
		flags |= DMFS_OPEN_EXEC | DMFS_OPEN_READ;
	if (file->f_mode & FMODE_WRITE)
		flags |= DMFS_OPEN_WRITE;
	if (flags & DMFS_OPEN_EXEC) {
		/*
		 * The version a binary runs at: our own dirty data goes to the
		 * server first, and a PR lock makes every other client's too.
		 * Any lock granted later must carry the same version, or the
		 * binary changed under us (HLD section 8).
		 */
		struct dmfs_lock *lk;

		err = filemap_write_and_wait(inode->i_mapping);
		if (err) {
			kfree(df);
			return err;
		}
		lk = dmfs_lock_get(inode, DMFS_LOCK_PR, 0, DMFS_EOF);
		if (IS_ERR(lk)) {
			kfree(df);
			return PTR_ERR(lk);
		}
		df->exec_seq = atomic64_read(&DMFS_SB(inode->i_sb)->grant_seq);
		dmfs_lock_put(lk);
	}
	if (flags) {
		/* registered opens: cluster-wide deny-write for binaries */
		memset(&rq, 0, sizeof(rq));
		rq.file_id = cpu_to_le64(inode->i_ino);
		rq.flags = cpu_to_le32(flags);
		df->gen = READ_ONCE(DMFS_SB(inode->i_sb)->generation);
		err = dmfs_call(DMFS_SB(inode->i_sb), DMFS_OP_OPEN, &rq,
				sizeof(rq), &rep, sizeof(rep));
		if (err) {
			kfree(df);
			return err;
		}
		df->open_handle = le64_to_cpu(rep.open_handle);
		if (flags & DMFS_OPEN_EXEC) {
			df->exec = true;
			df->exec_version = le64_to_cpu(rep.attr.data_version);
		}
		dmfs_update_inode(inode, &rep.attr);
	}
	file->private_data = df;
	return 0;
}

static int dmfs_release(struct inode *inode, struct file *file)
{
	struct dmfs_file *df = file->private_data;
	struct dmfs_close_req rq;

	if (!df)
		return 0;
	/* a handle of an earlier session means nothing to this one */
	if (df->open_handle && !dmfs_conn_error(DMFS_SB(inode->i_sb)) &&
	    df->gen == READ_ONCE(DMFS_SB(inode->i_sb)->generation)) {
		rq.open_handle = cpu_to_le64(df->open_handle);
		dmfs_call(DMFS_SB(inode->i_sb), DMFS_OP_CLOSE, &rq,
			  sizeof(rq), NULL, 0);
	}
	kfree(df);
	return 0;
}

static int dmfs_fsync(struct file *file, loff_t start, loff_t end,
		      int datasync)
{
	struct inode *inode = file_inode(file);
	struct dmfs_fsync_req rq;
	int err;

	err = file_write_and_wait_range(file, start, end);
	if (err)
		return err;
	memset(&rq, 0, sizeof(rq));
	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.flags = cpu_to_le32(datasync ? DMFS_FSYNC_DATASYNC : 0);
	return dmfs_call(DMFS_SB(inode->i_sb), DMFS_OP_FSYNC, &rq, sizeof(rq),
			 NULL, 0);
}

/*
 * Application locks: fcntl() record locks and flock() are cluster-wide,
 * arbitrated by the server (PLOCK); left to the VFS they would be kept per
 * mount, i.e. per client, and not exclude other clients. A lock the server
 * set (or removed) is then recorded locally, so close() (locks_remove_posix
 * and locks_remove_flock only call us when the inode has local locks) and
 * /proc/locks see it, as fuse and nfs do.
 */
static int dmfs_plock(struct file *file, int cmd, struct file_lock *fl,
		      bool flock)
{
	struct inode *inode = file_inode(file);
	struct dmfs_sb_info *sbi = DMFS_SB(inode->i_sb);
	struct dmfs_plock_req rq;
	struct dmfs_plock_rep rep;
	u32 type, flags = flock ? DMFS_PLKF_FLOCK : 0;
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
	memset(&rq, 0, sizeof(rq));
	rq.file_id = cpu_to_le64(inode->i_ino);
	rq.owner = cpu_to_le64((u64)(unsigned long)fl->fl_owner ^ sbi->owner_key);
	rq.start = cpu_to_le64(flock ? 0 : fl->fl_start);
	rq.end = cpu_to_le64(flock || fl->fl_end == OFFSET_MAX ? DMFS_EOF :
			     (u64)fl->fl_end + 1);
	rq.type = cpu_to_le32(type);
	rq.flags = cpu_to_le32(flags);
	rq.pid = cpu_to_le32(fl->fl_pid);
	err = dmfs_rpc_plock(sbi, &rq, flags & DMFS_PLKF_TEST ? &rep : NULL);
	if (flags & DMFS_PLKF_TEST) {
		u64 s, e;

		if (err)
			return err;
		type = le32_to_cpu(rep.type);
		s = le64_to_cpu(rep.start);
		e = le64_to_cpu(rep.end);
		if (type == DMFS_PLK_UNLCK) {
			fl->fl_type = F_UNLCK;
			return 0;
		}
		if ((type != DMFS_PLK_RDLCK && type != DMFS_PLK_WRLCK) ||
		    s >= e || s > OFFSET_MAX)
			return -EIO;
		fl->fl_type = type == DMFS_PLK_RDLCK ? F_RDLCK : F_WRLCK;
		fl->fl_start = s;
		fl->fl_end = e == DMFS_EOF || e - 1 > OFFSET_MAX ?
			     OFFSET_MAX : e - 1;
		fl->fl_pid = le32_to_cpu(rep.pid);
		return 0;
	}
	if (err && type != DMFS_PLK_UNLCK)
		return err;
	/*
	 * Record locally. An unlock is always applied locally (also when the
	 * server is gone: its locks went with the session).
	 */
	fl->fl_flags &= ~FL_SLEEP;
	if (flock)
		err = locks_lock_file_wait(file, fl);
	else
		err = posix_lock_file(file, fl, NULL);
	return type == DMFS_PLK_UNLCK ? 0 : err;
}

static int dmfs_lock(struct file *file, int cmd, struct file_lock *fl)
{
	return dmfs_plock(file, cmd, fl, false);
}

static int dmfs_flock(struct file *file, int cmd, struct file_lock *fl)
{
	if (!(fl->fl_flags & FL_FLOCK))
		return -ENOLCK;
	return dmfs_plock(file, cmd, fl, true);
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
	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	return file_write_and_wait_range(file, 0, LLONG_MAX);
}

static loff_t dmfs_llseek(struct file *file, loff_t offset, int whence)
{
	if (whence == SEEK_END || whence == SEEK_DATA || whence == SEEK_HOLE) {
		int err = dmfs_refresh_attr_sync(file_inode(file));

		if (err)
			return err;
	}
	return generic_file_llseek(file, offset, whence);
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
