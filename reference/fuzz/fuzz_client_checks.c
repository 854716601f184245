/* libFuzzer target over the kernel client's checks of what the server sends
 * (reference/kmod/dmfs_check.h, the module's own code): the input is one
 * message as the client would receive it; after the framing check of its
 * header, its bytes after the header are checked as each kind of reply
 * body. Whatever a check accepts is then
 * used the way the module uses it, from a heap buffer of exactly the
 * received size, so an accepted message that would make the module read
 * beyond the buffer (or a page, or a name) is an ASan report; a grant the
 * check accepts that does not contain the request traps.
 * Built with clang -fsanitize=fuzzer,address,undefined. */
#include <stdlib.h>
#include <string.h>

#include "kernel_shim.h"

static unsigned char page[DMFS_PAGE_SIZE];
static char name[DMFS_MAX_NAME];
volatile unsigned char dmfs_fuzz_sink; /* keeps the copies from being elided */

static void use_read(const void *body, u32 len)
{
	int count;

	if (len < sizeof(struct dmfs_read_rep))
		return;
	count = dmfs_check_read(body, len, DMFS_PAGE_SIZE);
	if (count >= 0) /* file.c: copy the data into the page */
		memcpy(page, (const struct dmfs_read_rep *)body + 1, count);
	dmfs_fuzz_sink ^= page[count > 0 ? count - 1 : 0];
}

static void use_readdir(const void *body, u32 len)
{
	const struct dmfs_readdir_rep *rep = body;
	const struct dmfs_dirent *de;
	u32 i, off = sizeof(*rep), nlen;
	int reclen;

	if (len < sizeof(*rep))
		return;
	for (i = 0; i < rep->count; i++) { /* inode.c: dmfs_readdir_emit() */
		reclen = dmfs_check_dirent(body, len, off, &nlen);
		if (reclen < 0)
			return;
		de = (const struct dmfs_dirent *)((const u8 *)body + off);
		memcpy(name, de + 1, nlen);
		dmfs_fuzz_sink ^= name[nlen - 1];
		if (de->next_cookie + 2 < de->next_cookie)
			__builtin_trap();
		off += reclen;
	}
}

static void use_grant(const u8 *data, size_t size, const void *body, u32 len)
{
	struct dmfs_lock_enqueue_req rq;
	const struct dmfs_lock_enqueue_rep *rep = body;

	if (len < sizeof(*rep) || size < sizeof(struct dmfs_hdr) + sizeof(rq))
		return;
	/* the request: the input's bytes after the header, as sent */
	memcpy(&rq, data + sizeof(struct dmfs_hdr), sizeof(rq));
	if (dmfs_check_grant(&rq, rep) &&
	    (!rep->lock_handle || rep->start > rq.start || rep->end < rq.end ||
	     rep->start % DMFS_PAGE_SIZE || rep->mode != rq.mode))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct dmfs_hdr hdr;
	u32 len;
	void *body;

	if (size < sizeof(hdr) || size > DMFS_MAX_MSG)
		return 0;
	memcpy(&hdr, data, sizeof(hdr));
	/* the framing check on the header as it came */
	if (!dmfs_check_length(&hdr, &len) && len > size - sizeof(hdr))
		return 0; /* a message still arriving */
	/* then the input as one whole message: the body is the rest */
	len = size - sizeof(hdr);
	body = malloc(len ? len : 1);
	memcpy(body, data + sizeof(hdr), len);
	if (dmfs_check_msg(&hdr, len) == DMFS_MSG_REVOKE)
		memcpy(page, body, sizeof(struct dmfs_revoke_cb)); /* conn.c */
	dmfs_fuzz_sink ^= page[0];
	/* reply bodies, as file.c, inode.c and lock.c use them */
	use_read(body, len);
	use_readdir(body, len);
	use_grant(data, size, body, len);
	free(body);
	return 0;
}
