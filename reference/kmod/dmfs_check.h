/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmfs client: the checks of what the server sends, done before anything
 * received is used. Pure functions of the bytes (no state, no allocation,
 * no kernel service), so the module and a userspace fuzz target
 * (reference/fuzz/fuzz_client_checks.cpp) run the same code. Userspace
 * includes this through reference/fuzz/kernel_shim.h, which defines the
 * kernel types and byte-order helpers it uses.
 */
#ifndef DMFS_CHECK_H
#define DMFS_CHECK_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <asm/byteorder.h>
#endif
#include "dmfs_proto.h"

/* what a received message is, once its header passed dmfs_check_msg() */
enum dmfs_msg_kind {
	DMFS_MSG_REPLY,    /* the answer to one of our requests */
	DMFS_MSG_REVOKE,   /* REVOKE callback, body at least dmfs_revoke_cb */
	DMFS_MSG_EVICTED,  /* EVICTED notice: the session is over */
	DMFS_MSG_GLIMPSE,  /* GLIMPSE_CB callback, body at least dmfs_glimpse_cb */
};

/**
 * dmfs_check_length() - the body length a message header announces
 * @hdr: the header as received
 * @body_len: set to the body's length
 *
 * Return: 0, or -EPROTO when the length is outside [header, DMFS_MAX_MSG].
 */
static inline int dmfs_check_length(const struct dmfs_hdr *hdr, u32 *body_len)
{
	u32 len = le32_to_cpu(hdr->length);

	if (len < sizeof(*hdr) || len > DMFS_MAX_MSG)
		return -EPROTO;
	*body_len = len - sizeof(*hdr);
	return 0;
}

/**
 * dmfs_check_msg() - classify a message from the server
 * @hdr: its header
 * @body_len: its body's length (from dmfs_check_length())
 *
 * Unknown flags, a callback that claims to be a reply, unknown callbacks,
 * a REVOKE shorter than its struct, a message that is neither reply nor
 * callback, and a reply status that is no negative errno are protocol
 * violations.
 *
 * Return: an &enum dmfs_msg_kind, or -EPROTO.
 */
static inline int dmfs_check_msg(const struct dmfs_hdr *hdr, u32 body_len)
{
	u16 flags = le16_to_cpu(hdr->flags);
	s32 status = (s32)le32_to_cpu(hdr->status);

	if (flags & ~DMFS_HF_KNOWN)
		return -EPROTO;
	if (flags & DMFS_HF_CALLBACK) {
		if (flags & DMFS_HF_REPLY)
			return -EPROTO; /* we never send callbacks */
		switch (le16_to_cpu(hdr->opcode)) {
		case DMFS_OP_REVOKE:
			if (body_len < sizeof(struct dmfs_revoke_cb))
				return -EPROTO;
			return DMFS_MSG_REVOKE;
		case DMFS_OP_EVICTED:
			return DMFS_MSG_EVICTED;
		case DMFS_OP_GLIMPSE_CB:
			if (body_len < sizeof(struct dmfs_glimpse_cb))
				return -EPROTO;
			return DMFS_MSG_GLIMPSE;
		default:
			return -EPROTO;
		}
	}
	if (!(flags & DMFS_HF_REPLY) || status > 0 || status < -4095)
		return -EPROTO;
	return DMFS_MSG_REPLY;
}

/**
 * dmfs_check_grant() - does a LOCK_ENQUEUE reply answer its request?
 * @rq: the request
 * @rep: the reply body (at least sizeof(*rep) bytes)
 *
 * A grant has a handle, the mode asked, the file asked, and an extent that
 * contains the one asked and starts on a page.
 *
 * Return: true if it does.
 */
static inline bool dmfs_check_grant(const struct dmfs_lock_enqueue_req *rq,
				    const struct dmfs_lock_enqueue_rep *rep)
{
	u64 start = le64_to_cpu(rep->start), end = le64_to_cpu(rep->end);

	return rep->lock_handle && rep->mode == rq->mode &&
	       rep->attr.file_id == rq->file_id &&
	       start <= le64_to_cpu(rq->start) && end >= le64_to_cpu(rq->end) &&
	       start % DMFS_PAGE_SIZE == 0;
}

/**
 * dmfs_check_read() - the data of a READ reply
 * @body: the reply body
 * @len: its length (at least sizeof(struct dmfs_read_rep))
 * @asked: the length the request asked for
 *
 * Return: the number of data bytes after the &struct dmfs_read_rep (at most
 * @asked, exactly the rest of the body), or -EIO.
 */
static inline int dmfs_check_read(const void *body, u32 len, u32 asked)
{
	const struct dmfs_read_rep *rep = (const struct dmfs_read_rep *)body;
	u32 count = le32_to_cpu(rep->count);

	if (count > asked || len != sizeof(*rep) + count)
		return -EIO;
	return count;
}

/**
 * dmfs_check_dirent() - the record at @off of a READDIR reply
 * @body: the reply body (dmfs_readdir_rep, then the records)
 * @len: its length
 * @off: where the record starts (after the previous one)
 * @namelen: set to the name's length (1..DMFS_MAX_NAME)
 *
 * The name follows the &struct dmfs_dirent; the next record starts at
 * @off + the return value. A next_cookie so large that it would overflow a
 * directory position (+2 for "." and "..") is -EOVERFLOW.
 *
 * Return: the record's length, -EIO if it does not fit in the body or its
 * name length is out of range, or -EOVERFLOW.
 */
static inline int dmfs_check_dirent(const void *body, u32 len, u32 off,
				    u32 *namelen)
{
	const struct dmfs_dirent *de =
		(const struct dmfs_dirent *)((const u8 *)body + off);
	u32 nlen, reclen;

	if (off > len || len - off < sizeof(*de))
		return -EIO;
	nlen = le16_to_cpu(de->namelen);
	reclen = DMFS_DIRENT_RECLEN(nlen);
	if (nlen == 0 || nlen > DMFS_MAX_NAME || len - off < reclen)
		return -EIO;
	if (le64_to_cpu(de->next_cookie) >= (u64)S64_MAX - 2)
		return -EOVERFLOW;
	*namelen = nlen;
	return reclen;
}

#endif /* DMFS_CHECK_H */
