/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * dmfs_proto.h - the dmfs wire protocol.
 *
 * ONE header shared by the Linux kernel client (C, Kbuild, __KERNEL__
 * defined) and by the userspace server / client library / tests (C or C++).
 * The authoritative prose description is docs/protocol.md; this file is the
 * authoritative layout.
 *
 * Rules that hold for every structure below:
 *   - every multi-byte integer is LITTLE-ENDIAN on the wire (kernel code uses
 *     le*_to_cpu / cpu_to_le*; the userspace code is little-endian-only and
 *     checks so at compile time);
 *   - every field is naturally aligned and every structure has explicit
 *     padding to a multiple of 8 bytes, so no packing attribute is needed and
 *     the layout is identical on every ABI; sizes are checked by static
 *     asserts at the end of this file;
 *   - reserved / padding fields MUST be sent as zero; receivers ignore them
 *     (so they can be given a meaning later without a version bump);
 *   - signed values (status) travel as the two's complement in a le32.
 *
 * Compatibility policy: fields and opcodes are only ever ADDED (in reserved
 * space, or at the end of a body guarded by a flag / the message length);
 * nothing is renamed or renumbered within DMFS_PROTO_VERSION 1.
 */
#ifndef DMFS_PROTO_H
#define DMFS_PROTO_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/types.h>
typedef __u8 dmfs_u8;
typedef __le16 dmfs_le16;
typedef __le32 dmfs_le32;
typedef __le64 dmfs_le64;
#else
#ifndef __cplusplus
#include <assert.h> /* static_assert */
#endif
#include <stdint.h>
/*
 * Plain integers (the userspace code is little-endian-only): uint8_t ..
 * uint64_t by the compiler's own names.
 */
#define dmfs_u8 __UINT8_TYPE__
#define dmfs_le16 __UINT16_TYPE__
#define dmfs_le32 __UINT32_TYPE__
#define dmfs_le64 __UINT64_TYPE__
#endif

/* ------------------------------------------------------------------------ */
/* Identity, versions, limits                                                */
/* ------------------------------------------------------------------------ */

#define DMFS_MAGIC 0x53464d44u        /* "DMFS" read as a le32 */
#define DMFS_PROTO_VERSION 1u         /* the version this header describes */
#define DMFS_PROTO_VERSION_MIN 1u     /* oldest version still understood */
#define DMFS_DEFAULT_PORT 7049u       /* dmfsd --listen default 127.0.0.1:7049 */

#define DMFS_PAGE_SIZE 4096u          /* protocol page, independent of the host */
#define DMFS_MAX_IO (256u * DMFS_PAGE_SIZE) /* 1 MiB: max data in one READ/WRITE */
/*
 * Largest message (header included) either side may send. Anything longer is
 * a protocol violation: the receiver closes the connection.
 */
#define DMFS_MAX_MSG (DMFS_MAX_IO + DMFS_PAGE_SIZE)
#define DMFS_MAX_NAME 255u            /* bytes in one path component, no NUL */
#define DMFS_MAX_SECRET 256u          /* bytes of shared secret used */
#define DMFS_NONCE_LEN 16u
#define DMFS_CLIENT_NAME_LEN 32u
/*
 * Maximum in-flight requests per connection the server promises to accept
 * (it may accept more; beyond this it may stop reading the socket until
 * replies drain - never an error).
 */
#define DMFS_MAX_INFLIGHT 256u

/* File offset meaning "to the end of any possible file" (lock extents). */
#define DMFS_EOF 0xffffffffffffffffull

/* ------------------------------------------------------------------------ */
/* Message header                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Every message, in both directions, is a dmfs_hdr immediately followed by
 * (length - sizeof(struct dmfs_hdr)) bytes of body. The body layout is given
 * by (opcode, direction): request body struct dmfs_<op>_req, reply body
 * struct dmfs_<op>_rep. A reply with status != 0 has an EMPTY body (except
 * HELLO, whose reply body is always present).
 */
struct dmfs_hdr {
	dmfs_le32 length;   /* whole message incl. this header, 24..DMFS_MAX_MSG */
	dmfs_le16 opcode;   /* DMFS_OP_* */
	dmfs_le16 flags;    /* DMFS_HF_* */
	dmfs_le64 req_id;   /* chosen by the originator; echoed by the reply */
	dmfs_le32 status;   /* replies: 0 or a negative Linux errno (s32). requests: 0 */
	dmfs_le32 reserved; /* 0 */
};

/* dmfs_hdr.flags */
#define DMFS_HF_REPLY    0x0001u /* this message answers req_id */
/* originated by the server (REVOKE, EVICTED); the answer has REPLY|CALLBACK */
#define DMFS_HF_CALLBACK 0x0002u
#define DMFS_HF_KNOWN    (DMFS_HF_REPLY | DMFS_HF_CALLBACK)

/*
 * Request ids: each originator numbers its own requests; the client's ids and
 * the server's callback ids are separate spaces (told apart by
 * DMFS_HF_CALLBACK). Any u64 is allowed, but a client must not reuse an id
 * that is still outstanding (the server answers a duplicate with -EBADMSG).
 * Replies may come in ANY order: the server answers a LOCK_ENQUEUE only when
 * the lock is granted, while other requests on the same connection proceed.
 */

/* ------------------------------------------------------------------------ */
/* Opcodes                                                                  */
/* ------------------------------------------------------------------------ */

/* client -> server requests (reply: same opcode, DMFS_HF_REPLY) */
#define DMFS_OP_HELLO         1
#define DMFS_OP_AUTH          2
#define DMFS_OP_PING          3
#define DMFS_OP_STATFS        4
#define DMFS_OP_LOOKUP        5
#define DMFS_OP_GETATTR       6
#define DMFS_OP_SETATTR       7
#define DMFS_OP_CREATE        8
#define DMFS_OP_MKDIR         9
#define DMFS_OP_UNLINK        10
#define DMFS_OP_RMDIR         11
#define DMFS_OP_RENAME        12
#define DMFS_OP_READDIR       13
#define DMFS_OP_OPEN          14
#define DMFS_OP_CLOSE         15
#define DMFS_OP_READ          16
#define DMFS_OP_WRITE         17
#define DMFS_OP_FSYNC         18
#define DMFS_OP_LOCK_ENQUEUE  19
#define DMFS_OP_LOCK_CANCEL   20
/* orderly goodbye: the server drops the client's locks and opens, replies,
 * then closes
 */
#define DMFS_OP_BYE           21
/* application locks: fcntl() record locks and flock(), cluster-wide (added
 * in v1)
 */
#define DMFS_OP_PLOCK         22
/* size and mtime as of now, asked of the PW holders instead of revoking
 * them (Lustre's glimpse; added in v1)
 */
#define DMFS_OP_GLIMPSE       23
#define DMFS_OP_CLIENT_MAX    23  /* highest client opcode (grows as ops are added) */

/* server -> client callbacks (DMFS_HF_CALLBACK) */
/* the client acks with REVOKE|REPLY|CALLBACK, then writes back, evicts and
 * LOCK_CANCELs
 */
#define DMFS_OP_REVOKE        64
#define DMFS_OP_EVICTED       65  /* notice, no answer; the server closes next */
/* the client answers GLIMPSE_CB|REPLY|CALLBACK with a dmfs_glimpse_rep */
#define DMFS_OP_GLIMPSE_CB    66

/* ------------------------------------------------------------------------ */
/* Common structures                                                        */
/* ------------------------------------------------------------------------ */

/*
 * File types in dmfs_attr.mode use the Linux S_IFMT values (S_IFREG 0100000,
 * S_IFDIR 0040000, S_IFLNK 0120000).
 */

/* dmfs_attr.flags */
#define DMFS_AF_EXEC_BUSY  0x1u /* some client has an exec open on the file */
#define DMFS_AF_WRITE_OPEN 0x2u /* some client has a write open on the file */

struct dmfs_attr {
	dmfs_le64 file_id;      /* server-chosen, opaque, never 0 */
	dmfs_le64 size;         /* bytes */
	dmfs_le64 blocks;       /* 512-byte units allocated */
	dmfs_le64 data_version; /* changes whenever the file's bytes or size change */
	dmfs_le64 atime_sec;    /* s64 */
	dmfs_le64 mtime_sec;    /* s64 */
	dmfs_le64 ctime_sec;    /* s64 */
	dmfs_le32 atime_nsec;
	dmfs_le32 mtime_nsec;
	dmfs_le32 ctime_nsec;
	dmfs_le32 mode;         /* S_IFMT | permission bits */
	dmfs_le32 nlink;
	dmfs_le32 uid;
	dmfs_le32 gid;
	dmfs_le32 generation;   /* backing inode generation, 0 if unknown */
	dmfs_le32 flags;        /* DMFS_AF_* */
	dmfs_le32 blksize;      /* preferred I/O size */
};

/*
 * A name travels as raw bytes (no NUL, no '/', not "." or "..", 1..255 bytes)
 * right after the fixed request struct; its length is in the struct.
 */

/* ------------------------------------------------------------------------ */
/* Handshake                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * The first message on a connection MUST be HELLO; if the HELLO reply has
 * DMFS_HELLO_AUTH_REQUIRED, the next message MUST be AUTH. Anything else
 * before the handshake completes is answered with -EPROTO and the connection
 * is closed.
 *
 * Shared-secret proof (only when dmfsd runs with --secret-file):
 *   secret  = the file's bytes, trailing '\n'/'\r' stripped, at most
 *             DMFS_MAX_SECRET bytes used;
 *   SH(k0,k1; m) = SipHash-2-4 with 128-bit key (k0,k1) over bytes m, the
 *             64-bit result (the kernel's siphash() from <linux/siphash.h>
 *             with siphash_key_t .key = {k0, k1});
 *   K0 = SH(DMFS_KDF_K0, DMFS_KDF_K1; secret)
 *   K1 = SH(DMFS_KDF_K1, DMFS_KDF_K0; secret)
 *   client_proof = SH(K0,K1; "dmfs-cli" || client_nonce || server_nonce)
 *   server_proof = SH(K0,K1; "dmfs-srv" || server_nonce || client_nonce)
 *   (labels are the 8 ASCII bytes, nonces the 16 raw bytes each: 40 bytes.)
 * The client sends client_proof in AUTH; the server answers -EACCES and
 * closes on mismatch, else sends server_proof, which a client may check.
 * This guards against accidental or casual connections; it is no defence
 * against an attacker on the path (traffic is not encrypted).
 */
#define DMFS_KDF_K0 0x3030666b2d73666dull /* le64 of the ASCII bytes "mfs-kf00" */
#define DMFS_KDF_K1 0x3130666b2d73666dull /* le64 of the ASCII bytes "mfs-kf01" */

/* dmfs_hello_req.flags */
/* the client answers GLIMPSE_CB: the server asks it instead of failing a
 * GLIMPSE with -EOPNOTSUPP (added in v1; older clients send 0)
 */
#define DMFS_HELLO_ANSWERS_GLIMPSE 0x1u
struct dmfs_hello_req {
	dmfs_le32 magic;         /* DMFS_MAGIC */
	dmfs_le16 version_min;   /* range of versions the client speaks */
	dmfs_le16 version_max;
	dmfs_le32 flags;
	dmfs_le32 reserved;
	dmfs_le64 prev_client_id; /* id of a previous session (log only), or 0 */
	dmfs_u8 client_nonce[DMFS_NONCE_LEN]; /* random; used only for AUTH */
	dmfs_u8 client_name[DMFS_CLIENT_NAME_LEN]; /* NUL-padded, for logs */
};

/* dmfs_hello_rep.flags */
#define DMFS_HELLO_AUTH_REQUIRED 0x1u
/* the server honours DMFS_LKF_WITH_PAGE (added in v1) */
#define DMFS_HELLO_GRANT_PAGES   0x2u

/*
 * The HELLO reply always carries this body. status -EPROTONOSUPPORT: no
 * common version (version_min/max tell the server's range); -EPROTO: bad
 * magic. On success `version` is the version to speak.
 */
struct dmfs_hello_rep {
	dmfs_le32 magic;          /* DMFS_MAGIC */
	dmfs_le16 version;        /* chosen version */
	dmfs_le16 version_min;    /* server's range */
	dmfs_le16 version_max;
	dmfs_le16 reserved0;
	dmfs_le32 flags;          /* DMFS_HELLO_* */
	dmfs_le32 max_msg;        /* server's DMFS_MAX_MSG */
	dmfs_le32 max_io;         /* server's DMFS_MAX_IO */
	dmfs_le32 revoke_timeout_ms; /* cancel a revoked lock within this */
	dmfs_le32 reserved1;
	dmfs_le64 client_id;      /* this session's id (new on every connection) */
	/* random per dmfsd start: changed => all locks and opens of earlier
	 * sessions are gone
	 */
	dmfs_le64 server_boot_id;
	dmfs_le64 root_id;        /* file id of the root directory */
	dmfs_u8 server_nonce[DMFS_NONCE_LEN];
};

struct dmfs_auth_req {
	dmfs_le64 client_proof;
};

struct dmfs_auth_rep {
	dmfs_le64 server_proof;
};

/* ------------------------------------------------------------------------ */
/* Namespace                                                                */
/* ------------------------------------------------------------------------ */

/* PING: empty request, empty reply. STATFS: empty request. */
struct dmfs_statfs_rep {
	dmfs_le64 blocks;   /* in units of bsize */
	dmfs_le64 bfree;
	dmfs_le64 bavail;
	dmfs_le64 files;
	dmfs_le64 ffree;
	dmfs_le32 bsize;
	dmfs_le32 namelen;  /* DMFS_MAX_NAME */
};

/*
 * LOOKUP, UNLINK, RMDIR: a parent directory and a name (name follows).
 * Replies: LOOKUP -> dmfs_attr_rep; UNLINK/RMDIR -> empty.
 */
struct dmfs_name_req {
	dmfs_le64 parent_id;
	dmfs_le16 namelen;
	dmfs_le16 reserved0;
	dmfs_le32 reserved1;
};

/* GETATTR request; also the body of most file-only requests. */
struct dmfs_fid_req {
	dmfs_le64 file_id;
};

/* Reply of LOOKUP, GETATTR, SETATTR, CREATE, MKDIR. */
struct dmfs_attr_rep {
	struct dmfs_attr attr;
};

/* dmfs_setattr_req.valid */
#define DMFS_SA_MODE      0x01u /* permission bits only; the type is kept */
#define DMFS_SA_UID       0x02u
#define DMFS_SA_GID       0x04u
#define DMFS_SA_SIZE      0x08u /* truncate/extend; -ETXTBSY while exec-busy */
#define DMFS_SA_ATIME     0x10u /* set atime to the given value */
#define DMFS_SA_MTIME     0x20u
#define DMFS_SA_ATIME_NOW 0x40u /* set atime to the server's clock */
#define DMFS_SA_MTIME_NOW 0x80u

struct dmfs_setattr_req {
	dmfs_le64 file_id;
	dmfs_le32 valid;    /* DMFS_SA_* */
	dmfs_le32 mode;
	dmfs_le32 uid;
	dmfs_le32 gid;
	dmfs_le64 size;
	dmfs_le64 atime_sec;
	dmfs_le64 mtime_sec;
	dmfs_le32 atime_nsec;
	dmfs_le32 mtime_nsec;
};

/* dmfs_create_req.flags */
#define DMFS_CREATE_EXCL 0x1u /* -EEXIST if the name exists (O_EXCL) */

/*
 * CREATE (regular file) and MKDIR: name follows. Without EXCL, CREATE of an
 * existing regular file returns its attributes (open(O_CREAT) semantics).
 */
struct dmfs_create_req {
	dmfs_le64 parent_id;
	dmfs_le32 mode;     /* permission bits (the type is implied by the op) */
	dmfs_le32 uid;
	dmfs_le32 gid;
	dmfs_le32 flags;    /* DMFS_CREATE_* */
	dmfs_le16 namelen;
	dmfs_le16 reserved0;
	dmfs_le32 reserved1;
};

/* dmfs_rename_req.flags: Linux renameat2 values */
#define DMFS_RENAME_NOREPLACE 0x1u

/* RENAME: old name then new name follow, back to back. Empty reply. */
struct dmfs_rename_req {
	dmfs_le64 old_parent_id;
	dmfs_le64 new_parent_id;
	dmfs_le32 flags;
	dmfs_le16 old_namelen;
	dmfs_le16 new_namelen;
};

/*
 * READDIR: returns entries after `cookie` (0 = from the start), at most
 * max_bytes of entry records (clamped to what fits in DMFS_MAX_MSG). "." and
 * ".." are not returned. The reply is dmfs_readdir_rep followed by `count`
 * records; each record is a dmfs_dirent, then namelen name bytes, then zero
 * padding to a multiple of 8. The next call passes the last record's
 * next_cookie.
 */
struct dmfs_readdir_req {
	dmfs_le64 dir_id;
	dmfs_le64 cookie;
	dmfs_le32 max_bytes;
	dmfs_le32 reserved;
};

#define DMFS_READDIR_EOF 0x1u

struct dmfs_readdir_rep {
	dmfs_le32 count;
	dmfs_le32 flags;   /* DMFS_READDIR_EOF: no entries after the last one */
};

struct dmfs_dirent {
	dmfs_le64 file_id;
	dmfs_le64 next_cookie;
	dmfs_u8 type;      /* Linux DT_* (DT_REG 8, DT_DIR 4, DT_LNK 10) */
	dmfs_u8 reserved0;
	dmfs_le16 namelen;
	dmfs_le32 reserved1;
};

#define DMFS_DIRENT_RECLEN(namelen) \
	((sizeof(struct dmfs_dirent) + (namelen) + 7u) & ~7ul)

/* ------------------------------------------------------------------------ */
/* Opens (cluster-wide deny-write for running binaries)                     */
/* ------------------------------------------------------------------------ */

/* dmfs_open_req.flags */
#define DMFS_OPEN_READ  0x1u
#define DMFS_OPEN_WRITE 0x2u /* -ETXTBSY while any client has an EXEC open */
/* -ETXTBSY while any client has a WRITE open; while registered, WRITE opens,
 * TRUNC opens and SETATTR(SIZE) from every client get -ETXTBSY
 */
#define DMFS_OPEN_EXEC  0x4u
#define DMFS_OPEN_TRUNC 0x8u /* truncate to 0 (needs WRITE) */

/*
 * Opens are advisory bookkeeping for deny-write; READ/WRITE/FSYNC do not need
 * an open handle (write-back may happen after close). A client's opens end
 * with CLOSE, BYE, disconnect or eviction.
 */
struct dmfs_open_req {
	dmfs_le64 file_id;
	dmfs_le32 flags;   /* DMFS_OPEN_* */
	dmfs_le32 reserved;
};

struct dmfs_open_rep {
	dmfs_le64 open_handle; /* for CLOSE */
	struct dmfs_attr attr;
};

struct dmfs_close_req {
	dmfs_le64 open_handle;
};

/* ------------------------------------------------------------------------ */
/* Data                                                                     */
/* ------------------------------------------------------------------------ */

/*
 * READ: offset must be a multiple of DMFS_PAGE_SIZE, length a multiple of
 * DMFS_PAGE_SIZE, 0 < length <= max_io. The reply is dmfs_read_rep followed
 * by `count` bytes; count < length only at end of file (the client zero-fills
 * the rest of its pages). -EINVAL for misaligned or oversized ranges.
 */
struct dmfs_read_req {
	dmfs_le64 file_id;
	dmfs_le64 offset;
	dmfs_le32 length;
	dmfs_le32 reserved;
};

struct dmfs_read_rep {
	dmfs_le64 size;          /* file size when read */
	dmfs_le64 data_version;
	dmfs_le32 count;         /* data bytes following */
	dmfs_le32 reserved;
};

/*
 * WRITE: `length` data bytes follow. offset must be a multiple of
 * DMFS_PAGE_SIZE, 0 < length <= max_io; length need not be a page multiple
 * (the last page of a file is written only up to the client's EOF). The file
 * grows to offset+length if shorter. Bumps the data version.
 */
struct dmfs_write_req {
	dmfs_le64 file_id;
	dmfs_le64 offset;
	dmfs_le32 length;
	dmfs_le32 flags;   /* DMFS_WRITE_* */
};

#define DMFS_WRITE_SYNC 0x1u /* make it durable before replying (as FSYNC) */

struct dmfs_write_rep {
	dmfs_le64 size;          /* file size after the write */
	dmfs_le64 data_version;  /* after the write */
};

#define DMFS_FSYNC_DATASYNC 0x1u

/*
 * FSYNC: everything acknowledged before the reply survives a dmfsd restart
 * or crash (file data, size, and the directory entry). Empty reply.
 */
struct dmfs_fsync_req {
	dmfs_le64 file_id;
	dmfs_le32 flags;   /* DMFS_FSYNC_* */
	dmfs_le32 reserved;
};

/* ------------------------------------------------------------------------ */
/* Extent locks                                                             */
/* ------------------------------------------------------------------------ */

#define DMFS_LOCK_PR 1u /* protected read: shared with other PR holders */
#define DMFS_LOCK_PW 2u /* protected write: exclusive */

/* dmfs_lock_enqueue_req.flags */
#define DMFS_LKF_NOEXPAND 0x1u /* grant exactly [start,end) */
#define DMFS_LKF_NOWAIT   0x2u /* -EAGAIN instead of waiting/revoking */
/* the grant carries the page at start (only to a server announcing
 * DMFS_HELLO_GRANT_PAGES; older servers refuse the flag with -EINVAL)
 */
#define DMFS_LKF_WITH_PAGE 0x4u

/*
 * LOCK_ENQUEUE: ask for [start, end) in `mode`. start must be page-aligned;
 * end must be page-aligned or DMFS_EOF; start < end. The reply comes when the
 * lock is granted - possibly much later, after conflicting holders have been
 * revoked; other requests on the connection are served meanwhile.
 */
struct dmfs_lock_enqueue_req {
	dmfs_le64 file_id;
	dmfs_le64 start;
	dmfs_le64 end;     /* exclusive; DMFS_EOF = to infinity */
	dmfs_le32 mode;    /* DMFS_LOCK_PR / DMFS_LOCK_PW */
	dmfs_le32 flags;   /* DMFS_LKF_* */
};

/* dmfs_lock_enqueue_rep.flags */
#define DMFS_LGF_EXPANDED 0x1u /* granted extent is larger than requested */
#define DMFS_LGF_PAGE     0x2u /* the page data follows (DMFS_LKF_WITH_PAGE) */

/*
 * The granted extent always contains the requested one. attr.size and
 * attr.data_version are taken at grant time, after every conflicting holder
 * has written back and cancelled. With DMFS_LGF_PAGE the reply body goes on
 * with the file's bytes [start, min(start + DMFS_PAGE_SIZE, attr.size)),
 * read at that same time (none when start >= attr.size): an uncached fault
 * costs one round trip, not a grant and a READ in series (an intent lock,
 * as Lustre's ldlm intents carry their operation's result).
 */
struct dmfs_lock_enqueue_rep {
	dmfs_le64 lock_handle; /* nonzero, unique for the server's lifetime */
	dmfs_le64 start;
	dmfs_le64 end;
	dmfs_le32 mode;
	dmfs_le32 flags;       /* DMFS_LGF_* */
	struct dmfs_attr attr;
};

/*
 * dmfs_lock_cancel_req.flags: DMFS_LCF_BY_REQID - lock_handle is the req_id
 * of this client's still-waiting LOCK_ENQUEUE (or PLOCK with WAIT): withdraw
 * it; that request is answered -ECANCELED (or normally, if it was granted
 * first - then cancel the granted lock by handle, or UNLCK the application
 * lock).
 */
#define DMFS_LCF_BY_REQID 0x1u

/*
 * LOCK_CANCEL: release a granted lock (whole extent). Empty reply; -ENOLCK if
 * the handle is unknown to this session (already cancelled, or from an
 * evicted/earlier session).
 */
struct dmfs_lock_cancel_req {
	dmfs_le64 lock_handle;
	dmfs_le32 flags;   /* DMFS_LCF_* */
	dmfs_le32 reserved;
};

/*
 * dmfs_revoke_cb.flags: DMFS_RVF_DISCARD - the server does not want dirty
 * data written back (only under a fault-injection switch)
 */
#define DMFS_RVF_DISCARD 0x1u

/*
 * REVOKE (server -> client, DMFS_HF_CALLBACK): another request conflicts with
 * lock `lock_handle`. The client acknowledges at once (empty reply with
 * REPLY|CALLBACK; status 0, or -ENOLCK if it no longer has the lock), then:
 * writes back its dirty pages in [start, end) with WRITE (unless
 * DMFS_RVF_DISCARD), unmaps and evicts its cached pages in that range, and
 * sends LOCK_CANCEL for the handle. The whole lock is revoked; conflict_* tell
 * which request caused it (informational). If the cancel does not arrive
 * within revoke_timeout_ms the client is evicted; each WRITE/FSYNC the client
 * sends on that file meanwhile restarts the timer (write-back in progress).
 * A REVOKE for a lock always follows the ENQUEUE reply that granted it.
 */
struct dmfs_revoke_cb {
	dmfs_le64 lock_handle;
	dmfs_le64 file_id;
	dmfs_le64 start;          /* the revoked lock's extent */
	dmfs_le64 end;
	dmfs_le64 conflict_start; /* the conflicting request's extent */
	dmfs_le64 conflict_end;
	dmfs_le32 mode;           /* the revoked lock's mode */
	dmfs_le32 conflict_mode;
	dmfs_le32 flags;          /* DMFS_RVF_* */
	dmfs_le32 reserved;
};

/*
 * EVICTED (server -> client, DMFS_HF_CALLBACK, never answered): the session
 * is over; the server closes the connection. Reconnect with a new HELLO.
 */
#define DMFS_EVICT_REVOKE_TIMEOUT 1u
#define DMFS_EVICT_PROTOCOL_ERROR 2u
#define DMFS_EVICT_SHUTDOWN       3u

struct dmfs_evicted_cb {
	dmfs_le64 client_id;
	dmfs_le32 reason;   /* DMFS_EVICT_* */
	dmfs_le32 reserved;
};

/*
 * GLIMPSE (client -> server, body dmfs_fid_req, reply dmfs_attr_rep): the
 * file's attributes with what other clients hold unwritten under PW locks.
 * The server sends GLIMPSE_CB to every other session holding a granted PW
 * lock on the file (-EOPNOTSUPP at once if one of them did not announce
 * DMFS_HELLO_ANSWERS_GLIMPSE: the requester then takes a PR lock on the
 * whole file and GETATTRs, as before GLIMPSE existed) and replies once
 * each has answered (or was evicted for not answering within
 * revoke_timeout_ms, or went away): size is the
 * largest of the server's and the answers' sizes; when an answer reports a
 * modification the server has not seen before (a new mod_seq of that
 * session), mtime and ctime become the server's clock at that answer, and
 * stay so for later glimpses until a newer write-back time replaces them.
 * No lock is revoked, no data moves.
 */
struct dmfs_glimpse_cb {
	dmfs_le64 file_id;
};

/*
 * A client's answer to GLIMPSE_CB (status 0; -ENOENT with an empty body if
 * it knows nothing of the file): size, the file size its unwritten data
 * makes (its own extension not yet written back; 0 if none), and mod_seq,
 * a counter of its modifications of the file (mapped stores that made a
 * page writable, write()s), or 0 when it holds nothing unwritten.
 */
struct dmfs_glimpse_rep {
	dmfs_le64 size;
	dmfs_le64 mod_seq;
};

/* ------------------------------------------------------------------------ */
/* Application locks (fcntl record locks, flock)                            */
/* ------------------------------------------------------------------------ */

/*
 * PLOCK: cluster-wide POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW) and
 * BSD flock() locks, with Linux semantics: a lock belongs to an owner (the
 * client's `owner` value within its session: e.g. fl_owner for fcntl, the
 * struct file for flock); an owner's locks never conflict with each other and
 * a new lock replaces the owner's locks over its range (splitting them); RD
 * locks share, WR locks exclude; fcntl locks and flock locks are independent
 * (DMFS_PLKF_FLOCK selects the flock space, whose locks cover the whole file
 * whatever start/end say). UNLCK releases the owner's locks over the range.
 * Extent locks (LOCK_ENQUEUE) and application locks never interact.
 *
 * Replies: 0 (body empty) when the lock is set; -EAGAIN on a conflict
 * without DMFS_PLKF_WAIT; with WAIT the reply comes when the lock is set
 * (other requests are served meanwhile), -EDEADLK if waiting would
 * deadlock, or -ECANCELED once withdrawn by LOCK_CANCEL with
 * DMFS_LCF_BY_REQID (a signal interrupted F_SETLKW). With DMFS_PLKF_TEST
 * nothing changes and the body is a dmfs_plock_rep: the first conflicting
 * lock, or type DMFS_PLK_UNLCK if the lock could be set. A session's locks
 * are released by UNLCK, BYE, disconnect and eviction (the VFS sends UNLCK on
 * close(), so a client just forwards it).
 */
#define DMFS_PLK_UNLCK 0u
#define DMFS_PLK_RDLCK 1u
#define DMFS_PLK_WRLCK 2u

#define DMFS_PLKF_WAIT  0x1u /* F_SETLKW, flock() without LOCK_NB */
#define DMFS_PLKF_TEST  0x2u /* F_GETLK */
#define DMFS_PLKF_FLOCK 0x4u /* flock() lock space (whole file) */

struct dmfs_plock_req {
	dmfs_le64 file_id;
	dmfs_le64 owner;   /* lock owner, chosen by the client */
	dmfs_le64 start;   /* byte range [start, end), start < end */
	dmfs_le64 end;     /* exclusive; DMFS_EOF = to the end of any file */
	dmfs_le32 type;    /* DMFS_PLK_* */
	dmfs_le32 flags;   /* DMFS_PLKF_* */
	dmfs_le32 pid;     /* reported to F_GETLK callers (informational) */
	dmfs_le32 reserved;
};

/* Reply body of a DMFS_PLKF_TEST request. */
struct dmfs_plock_rep {
	dmfs_le64 start;
	dmfs_le64 end;
	dmfs_le64 owner;   /* the conflicting owner (another session's value) */
	dmfs_le32 type;    /* DMFS_PLK_RDLCK/WRLCK, or UNLCK: no conflict */
	dmfs_le32 pid;
};

/* ------------------------------------------------------------------------ */
/* Layout checks                                                            */
/* ------------------------------------------------------------------------ */

static_assert(sizeof(struct dmfs_hdr) == 24, "dmfs_hdr");
static_assert(sizeof(struct dmfs_attr) == 96, "dmfs_attr");
static_assert(sizeof(struct dmfs_hello_req) == 72, "dmfs_hello_req");
static_assert(sizeof(struct dmfs_hello_rep) == 72, "dmfs_hello_rep");
static_assert(sizeof(struct dmfs_auth_req) == 8, "dmfs_auth_req");
static_assert(sizeof(struct dmfs_auth_rep) == 8, "dmfs_auth_rep");
static_assert(sizeof(struct dmfs_statfs_rep) == 48, "dmfs_statfs_rep");
static_assert(sizeof(struct dmfs_name_req) == 16, "dmfs_name_req");
static_assert(sizeof(struct dmfs_fid_req) == 8, "dmfs_fid_req");
static_assert(sizeof(struct dmfs_attr_rep) == 96, "dmfs_attr_rep");
static_assert(sizeof(struct dmfs_setattr_req) == 56, "dmfs_setattr_req");
static_assert(sizeof(struct dmfs_create_req) == 32, "dmfs_create_req");
static_assert(sizeof(struct dmfs_rename_req) == 24, "dmfs_rename_req");
static_assert(sizeof(struct dmfs_readdir_req) == 24, "dmfs_readdir_req");
static_assert(sizeof(struct dmfs_readdir_rep) == 8, "dmfs_readdir_rep");
static_assert(sizeof(struct dmfs_dirent) == 24, "dmfs_dirent");
static_assert(sizeof(struct dmfs_open_req) == 16, "dmfs_open_req");
static_assert(sizeof(struct dmfs_open_rep) == 104, "dmfs_open_rep");
static_assert(sizeof(struct dmfs_close_req) == 8, "dmfs_close_req");
static_assert(sizeof(struct dmfs_read_req) == 24, "dmfs_read_req");
static_assert(sizeof(struct dmfs_read_rep) == 24, "dmfs_read_rep");
static_assert(sizeof(struct dmfs_write_req) == 24, "dmfs_write_req");
static_assert(sizeof(struct dmfs_write_rep) == 16, "dmfs_write_rep");
static_assert(sizeof(struct dmfs_fsync_req) == 16, "dmfs_fsync_req");
static_assert(sizeof(struct dmfs_lock_enqueue_req) == 32, "dmfs_lock_enqueue_req");
static_assert(sizeof(struct dmfs_lock_enqueue_rep) == 128, "dmfs_lock_enqueue_rep");
static_assert(sizeof(struct dmfs_lock_cancel_req) == 16, "dmfs_lock_cancel_req");
static_assert(sizeof(struct dmfs_revoke_cb) == 64, "dmfs_revoke_cb");
static_assert(sizeof(struct dmfs_evicted_cb) == 16, "dmfs_evicted_cb");
static_assert(sizeof(struct dmfs_glimpse_cb) == 8, "dmfs_glimpse_cb");
static_assert(sizeof(struct dmfs_glimpse_rep) == 16, "dmfs_glimpse_rep");
static_assert(sizeof(struct dmfs_plock_req) == 48, "dmfs_plock_req");
static_assert(sizeof(struct dmfs_plock_rep) == 32, "dmfs_plock_rep");
static_assert(DMFS_MAX_IO % DMFS_PAGE_SIZE == 0, "max io is whole pages");

#endif /* DMFS_PROTO_H */
