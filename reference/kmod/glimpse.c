// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: the glimpse (docs/protocol.md, GLIMPSE). A stat() of a file that
 * another client writes asks the server, which asks that client for its
 * size and modification counter, instead of revoking its PW lock: the
 * writer keeps its cache and its writable mappings (Lustre's glimpse
 * callback; the seed HLD's size "glimpse").
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pagemap.h>

#include "dmfs.h"

/* pages written but not yet acknowledged by the server? */
static bool dmfs_unwritten(struct inode *inode)
{
	return mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY) ||
	       mapping_tagged(inode->i_mapping, PAGECACHE_TAG_WRITEBACK);
}

/**
 * dmfs_note_modified() - count a modification not yet written back
 * @inode: the file (a mapped store made a page writable, or a write())
 */
void dmfs_note_modified(struct inode *inode)
{
	atomic64_inc(&DMFS_I(inode)->mod_seq);
}

/*
 * The size our unwritten data makes the file: i_size while the page that
 * holds its last byte is dirty or under write-back (a write() extended the
 * file here), else 0. i_size alone may be stale: another client's truncate
 * revoked and evicted our pages beyond its new size, but left i_size be.
 */
static loff_t dmfs_unwritten_size(struct inode *inode)
{
	loff_t size = i_size_read(inode);
	pgoff_t last = size ? (size - 1) >> PAGE_SHIFT : 0;
	struct xarray *pages = &inode->i_mapping->i_pages;

	if (size && (xa_get_mark(pages, last, PAGECACHE_TAG_DIRTY) ||
		     xa_get_mark(pages, last, PAGECACHE_TAG_WRITEBACK)))
		return size;
	return 0;
}

/**
 * dmfs_glimpse_cb() - answer a GLIMPSE_CB callback
 * @c: the live session it came on
 * @cb_id: the callback's request id
 * @cb: its body
 *
 * Runs on the mount's workqueue (ilookup may wait for an inode being
 * evicted, whose eviction may wait for the receive thread). Answers with
 * the size our unwritten data gives the file, and our modification counter
 * while anything is unwritten, 0 otherwise.
 */
void dmfs_glimpse_cb(struct dmfs_conn *c, u64 cb_id,
		     const struct dmfs_glimpse_cb *cb)
{
	struct inode *inode = ilookup(c->sbi->sb, le64_to_cpu(cb->file_id));
	struct dmfs_glimpse_rep rep = {};

	if (!inode) {
		dmfs_send_answer(c, DMFS_OP_GLIMPSE_CB, cb_id, -ENOENT, NULL, 0);
		return;
	}
	rep.size = cpu_to_le64(dmfs_unwritten_size(inode));
	if (dmfs_unwritten(inode))
		rep.mod_seq = cpu_to_le64(atomic64_read(&DMFS_I(inode)->mod_seq));
	dmfs_dbg("glimpse ino %lu: size %llu mod_seq %llu\n", inode->i_ino,
		 le64_to_cpu(rep.size), le64_to_cpu(rep.mod_seq));
	iput(inode);
	dmfs_send_answer(c, DMFS_OP_GLIMPSE_CB, cb_id, 0, &rep, sizeof(rep));
	atomic64_inc(&c->sbi->stats.glimpses);
}

/**
 * dmfs_glimpse_attr() - a file's attributes with other clients' writes
 * @inode: a regular file
 * @attr: filled in
 *
 * Return: 0, -EOPNOTSUPP from a server without GLIMPSE, or an error of
 * dmfs_call().
 */
int dmfs_glimpse_attr(struct inode *inode, struct dmfs_attr *attr)
{
	struct dmfs_fid_req rq = { .file_id = cpu_to_le64(inode->i_ino) };
	int err;

	err = dmfs_call(DMFS_SB(inode->i_sb), DMFS_OP_GLIMPSE, &rq, sizeof(rq),
			attr, sizeof(*attr));
	if (err)
		return err;
	if (le64_to_cpu(attr->file_id) != inode->i_ino)
		return -EIO;
	return 0;
}
