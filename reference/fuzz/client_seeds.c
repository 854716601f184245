/* Seeds for the client-checks fuzz target (fuzz_client_checks.c): valid
 * replies of each kind the client checks, one file each, so the fuzzer
 * starts from messages that pass the framing and reach every check.
 * usage: dmfs-fuzz-client-seeds DIR */
#include <stdio.h>
#include <string.h>

#include "kernel_shim.h"

static unsigned char msg[8192];

static int put(const char *dir, const char *name, u16 op, const void *body,
	       u32 len)
{
	struct dmfs_hdr hdr = { .length = sizeof(hdr) + len, .opcode = op,
				.flags = DMFS_HF_REPLY, .req_id = 7 };
	char path[4096];
	FILE *f;

	memcpy(msg, &hdr, sizeof(hdr));
	memcpy(msg + sizeof(hdr), body, len);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(msg, 1, sizeof(hdr) + len, f) != sizeof(hdr) + len) {
		perror(path);
		return 1;
	}
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	unsigned char b[4096];
	struct dmfs_read_rep rr = { .size = 100, .count = 100 };
	struct dmfs_readdir_rep dr = { .count = 2, .flags = DMFS_READDIR_EOF };
	struct dmfs_dirent de = { .file_id = 9, .type = 8, .namelen = 5 };
	struct dmfs_lock_enqueue_rep gr = { .lock_handle = 3, .start = 0,
					    .end = DMFS_EOF, .mode = 1 };
	struct dmfs_revoke_cb rv = { .lock_handle = 3, .file_id = 9 };
	struct dmfs_hdr cb = { .length = sizeof(cb) + sizeof(rv),
			       .opcode = DMFS_OP_REVOKE,
			       .flags = DMFS_HF_CALLBACK, .req_id = 1 };
	u32 off = 0;
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	static unsigned char full[sizeof(rr) + DMFS_PAGE_SIZE];

	memset(b, 'x', sizeof(b));
	memcpy(b, &rr, sizeof(rr));
	err |= put(argv[1], "read", DMFS_OP_READ, b, sizeof(rr) + 100);
	rr.count = DMFS_PAGE_SIZE; /* a whole page: the largest allowed */
	memset(full, 'y', sizeof(full));
	memcpy(full, &rr, sizeof(rr));
	err |= put(argv[1], "read-page", DMFS_OP_READ, full, sizeof(full));
	memcpy(b, &dr, sizeof(dr));
	off = sizeof(dr);
	de.next_cookie = 1;
	memcpy(b + off, &de, sizeof(de));
	memcpy(b + off + sizeof(de), "hello\0\0\0", 8);
	off += DMFS_DIRENT_RECLEN(5);
	de.next_cookie = 2;
	memcpy(b + off, &de, sizeof(de));
	memcpy(b + off + sizeof(de), "world\0\0\0", 8);
	off += DMFS_DIRENT_RECLEN(5);
	err |= put(argv[1], "readdir", DMFS_OP_READDIR, b, off);
	/* a grant after the request it answers (the fuzz target's layout) */
	gr.attr.file_id = 9;
	memset(b, 0, sizeof(b));
	((struct dmfs_lock_enqueue_req *)b)->file_id = 9;
	((struct dmfs_lock_enqueue_req *)b)->end = 4096;
	((struct dmfs_lock_enqueue_req *)b)->mode = 1;
	memcpy(b + sizeof(struct dmfs_lock_enqueue_req), &gr, sizeof(gr));
	err |= put(argv[1], "grant", DMFS_OP_LOCK_ENQUEUE, b,
		   sizeof(struct dmfs_lock_enqueue_req) + sizeof(gr));
	memcpy(msg, &cb, sizeof(cb));
	memcpy(msg + sizeof(cb), &rv, sizeof(rv));
	{
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/revoke", argv[1]);
		f = fopen(path, "wb");
		if (!f || fwrite(msg, 1, sizeof(cb) + sizeof(rv), f) !=
			  sizeof(cb) + sizeof(rv) || fclose(f))
			err = 1;
	}
	return err;
}
