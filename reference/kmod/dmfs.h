/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmfs - distributed-mmap reference filesystem, kernel client.
 *
 * Lock ordering (outermost first), see docs/kmod.md:
 *   mmap_lock (held by the MM around .fault/.page_mkwrite)
 *     inode->i_rwsem (write(), setattr)
 *       dmfs extent-lock *reference* (dmfs_lock_get .. dmfs_lock_put)
 *         sbi->open_mutex (across OPEN requests) or folio lock
 *           dmfs_inode_info.lock_mutex (short, never across I/O or waits)
 *             dmfs_conn.lock, sbi->lru_lock (spinlocks), connect_mutex
 * No dmfs lock reference is ever held across a fault on user memory:
 * read()/write() copy with page faults disabled and, on a short copy,
 * drop their references, fault the buffer in, and retry.
 */
#ifndef DMFS_H
#define DMFS_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/kobject.h>
#include <linux/in.h>
#include <linux/net.h>
#include <linux/rbtree.h>

#include "dmfs_proto.h"

#define DMFS_SUPER_MAGIC 0x444d4653 /* statfs f_type, "DMFS" */

/* fault-injection switches (module parameters, all off by default) */
extern bool dmfs_fi_skip_fault_lock;
extern bool dmfs_fi_skip_mkwrite_pw;
extern bool dmfs_fi_skip_writeback;
extern bool dmfs_fi_even_cows;
extern bool dmfs_fi_skip_exec_check;
extern bool dmfs_reconnect;
extern bool dmfs_debug_ignore_revokes;
extern unsigned int dmfs_request_timeout; /* seconds */
extern unsigned int dmfs_lock_timeout;    /* seconds */
extern unsigned int dmfs_lock_cache_max;  /* unused locks per mount */

/* the most pages one READ or WRITE carries: the protocol's DMFS_MAX_IO;
 * a session's server may allow fewer (dmfs_conn.io_pages)
 */
#define DMFS_IO_PAGES (DMFS_MAX_IO / PAGE_SIZE)
extern unsigned int dmfs_lock_min_hold_us; /* see dmfs_lock_revoke_run() */
#define DMFS_HOLD_MAX_US 1000000U          /* the longest minimum hold */
extern bool dmfs_lock_hold_adaptive;       /* see dmfs_hold_ns() */
extern unsigned int dmfs_debug;

/**
 * dmfs_request_jiffies() - request_timeout in jiffies (0: no limit)
 *
 * Return: the timeout for a wait or a socket.
 */
static inline long dmfs_request_jiffies(void)
{
	return dmfs_request_timeout ? (long)dmfs_request_timeout * HZ :
				      MAX_SCHEDULE_TIMEOUT;
}

#define dmfs_dbg(fmt, ...) do { \
	if (unlikely(dmfs_debug)) \
		pr_info(fmt, ##__VA_ARGS__); \
} while (0)

struct dmfs_sb_info;

/* one outstanding request awaiting its reply */
struct dmfs_req {
	struct list_head list;
	u64 id;
	u16 expect_op;         /* reply opcode expected */
	int status;            /* <0: transport error / errno from server */
	bool done;
	void *reply;           /* kvmalloc'd reply body (after the header) */
	u32 reply_len;
	struct kref ref;
	/* a READ's data goes straight into these pages (dmfs_session_read()) */
	struct bio_vec *sink;
	unsigned int sink_pages;
	int sink_count;        /* data bytes put into @sink; -1 until then */
	bool filling;          /* the receive thread is writing into @sink */
};

struct dmfs_conn {
	struct dmfs_sb_info *sbi;
	struct socket *sock;
	struct mutex send_mutex;     /* one message at a time on the stream */
	spinlock_t lock;             /* pending list, dead, next_id */
	struct list_head pending;
	wait_queue_head_t waitq;     /* replies and connection death */
	u64 next_id;
	int dead;                    /* 0 or negative errno once broken */
	struct task_struct *rx_task;
	u64 client_id;
	u64 gen;                     /* sbi->generation this session has */
	struct list_head old_list;   /* sbi->old_conns once replaced */
	bool grant_pages;            /* DMFS_HELLO_GRANT_PAGES: intent enqueues */
	unsigned int io_pages;       /* pages a READ or WRITE may carry */
};

/* a lock held (granted) by this client */
enum dmfs_lock_state {
	DMFS_LK_GRANTED,
	DMFS_LK_REVOKING, /* no new users; being flushed and cancelled */
	DMFS_LK_DEAD,     /* cancelled, unlinked */
};

struct dmfs_lock {
	struct rb_node it_node;     /* dmfs_inode_info.locks, by extent */
	u64 it_subtree_last;        /* of the interval tree (lock.c) */
	struct list_head lru;       /* dmfs_sb_info.lru (see dmfs_lru_victim()) */
	bool referenced;            /* used since the LRU last looked */
	struct inode *inode;        /* pinned by igrab while the lock exists */
	u64 handle;                 /* server's lock id */
	u64 start, end;             /* byte range [start, end) */
	u32 mode;                   /* DMFS_LOCK_PR / DMFS_LOCK_PW */
	u64 data_version;           /* from the grant */
	struct dmfs_conn *conn;     /* the session that granted it */
	u64 seq;                    /* grant sequence number on this mount */
	int users;                  /* references of read/write/fault */
	enum dmfs_lock_state state;
	bool revoke_pending;        /* server asked; run when users drop to 0 */
	u64 last_used;              /* ktime_get_ns() of the grant or last put */
	u64 usable_until;           /* ns: a revoked lock serves till then */
	bool revoke_queued;         /* revoke_work (or a REVOKE) will run it */
	struct work_struct revoke_work;
};

struct dmfs_inode_info {
	struct inode vfs_inode;
	/* the locks and lists below, lock states, server size updates */
	struct mutex lock_mutex;
	struct rb_root_cached locks; /* granted locks, an interval tree */
	struct list_head early_revokes; /* REVOKEs that overtook their grant */
	struct list_head lost_locks; /* owners of locks lost at a reconnect */
	int enqueues;               /* LOCK_ENQUEUEs in flight */
	u64 size_dv;                /* data version of the last size applied */
	atomic64_t mod_seq;         /* modifications, for glimpses (glimpse.c) */
	atomic_t writes_unanswered; /* a revoke's WRITEs (dmfs_writeback_send()) */
	/* a smaller size that came while they were unanswered (inode.c) */
	bool size_held;
	loff_t held_size;
	u64 held_dv;
	/* the adaptive hold: hints, read and written without a lock */
	u64 hold_ns;                /* the minimum hold while raised (lock.c) */
	u64 hold_raised_ns;         /* ... since then */
	pgoff_t fault_index;        /* the last page faulted (dmfs_hold_fault()) */
	bool fault_write;           /* ... for a write */
	unsigned int fault_tries;   /* ... begun so often, unserved */
	u64 served_ns;              /* ... served then, or 0 */
	pgoff_t sent_back;          /* page + 1 .page_mkwrite sent back, or 0 */
};

/**
 * DMFS_I() - the dmfs inode around a VFS inode
 * @inode: an inode of a dmfs superblock
 *
 * Return: the &struct dmfs_inode_info that embeds @inode.
 */
static inline struct dmfs_inode_info *DMFS_I(struct inode *inode)
{
	return container_of(inode, struct dmfs_inode_info, vfs_inode);
}

/*
 * Where a mount's callbacks spend their time, for
 * /sys/fs/dmfs/<MAJ>:<MIN>/stats (sysfs.c): counts, and sums in ns.
 */
struct dmfs_stats {
	atomic64_t callbacks;       /* REVOKE and GLIMPSE_CB received */
	atomic64_t callback_queue_ns; /* receive thread -> workqueue start */
	atomic64_t revokes;         /* locks flushed and cancelled for a REVOKE */
	atomic64_t revoke_hold_ns;  /* waiting out the minimum hold */
	atomic64_t revoke_writeback_ns; /* unmapping, sending the WRITEs */
	atomic64_t revoke_evict_ns; /* evicting */
	atomic64_t revoke_cancel_ns; /* the CANCEL, the WRITEs' answers */
	atomic64_t hold_raises;     /* a lock lost before its use raised the hold */
	atomic64_t glimpses;        /* GLIMPSE_CB answered */
	atomic64_t grant_pages;     /* pages cached from a grant (intent enqueue) */
};

/**
 * dmfs_stat_add() - add the time since @since_ns to a sum of &struct dmfs_stats
 * @sum: the sum, in ns
 * @since_ns: a ktime_get_ns() of the start
 */
static inline void dmfs_stat_add(atomic64_t *sum, u64 since_ns)
{
	atomic64_add(ktime_get_ns() - since_ns, sum);
}

struct dmfs_sb_info {
	struct super_block *sb;
	struct sockaddr_in addr;
	char *secret;
	size_t secret_len;
	struct dmfs_conn *conn;
	struct workqueue_struct *wq; /* revoke callbacks */
	spinlock_t lru_lock;
	struct list_head lru;        /* unused locks, oldest first */
	unsigned int lru_count;
	atomic64_t grant_seq;
	struct work_struct shrink_work;
	struct work_struct dead_work;
	u64 generation;              /* bumped on reconnect */
	u64 owner_key;               /* hides kernel pointers in PLOCK owners */
	struct list_head old_conns;  /* dead sessions, freed at umount */
	struct mutex open_mutex;     /* open_files, and their replay */
	struct list_head open_files; /* open registrations (struct dmfs_file) */
	struct delayed_work reconnect_work;
	wait_queue_head_t reconnect_wq; /* woken by a reconnect or umount */
	unsigned int reconnect_delay; /* seconds, doubles up to 30 */
	u64 root_id;
	u64 prev_client_id;
	u64 server_boot_id;
	struct mutex connect_mutex;  /* closing, connecting */
	struct socket *connecting;   /* a connect or handshake in progress */
	bool closing;                /* umount in progress */
	bool replaying;              /* a new session's replay is under way */
	bool ignore_revokes;         /* sysfs test knob, this mount only */
	bool kobj_registered;
	struct kobject kobj;         /* /sys/fs/dmfs/<MAJ>:<MIN> */
	struct completion kobj_unregister;
	struct dmfs_stats stats;
};

/**
 * DMFS_SB() - the mount's private data
 * @sb: a dmfs superblock
 *
 * Return: the &struct dmfs_sb_info of @sb.
 */
static inline struct dmfs_sb_info *DMFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

/* super.c */
void dmfs_walk_inodes(struct super_block *sb, bool (*want)(struct inode *),
		      void (*fn)(struct inode *, void *), void *arg);

/* conn.c */
int dmfs_conn_open(struct dmfs_sb_info *sbi);
int dmfs_conn_reconnect(struct dmfs_sb_info *sbi);
void dmfs_conn_stop_connecting(struct dmfs_sb_info *sbi);
void dmfs_conn_shutdown(struct dmfs_sb_info *sbi);
void dmfs_conn_free_all(struct dmfs_sb_info *sbi);
int dmfs_conn_error(struct dmfs_sb_info *sbi);
bool dmfs_session_live(struct dmfs_conn *c);
int dmfs_session_rpc(struct dmfs_conn *c, u16 op, const void *body,
		     u32 body_len, const void *payload, u32 payload_len,
		     u32 min_reply, void **reply, u32 *reply_len);
int dmfs_session_call(struct dmfs_conn *c, u16 op, const void *body,
		      u32 body_len, void *reply, u32 reply_len);
int dmfs_session_read(struct dmfs_conn *c, const struct dmfs_read_req *rq,
		      struct bio_vec *pages, unsigned int n);
struct dmfs_req *dmfs_session_send(struct dmfs_conn *c, u16 op,
				   const void *body, u32 body_len,
				   const void *payload, u32 payload_len);
int dmfs_session_wait(struct dmfs_conn *c, struct dmfs_req *req,
		      u32 min_reply, void **reply, u32 *reply_len);
int dmfs_session_release(struct dmfs_conn *c, u16 op, const void *body,
			 u32 len);
int dmfs_rpc(struct dmfs_sb_info *sbi, u16 op, const void *body, u32 body_len,
	     const void *payload, u32 payload_len, u32 min_reply,
	     void **reply, u32 *reply_len);
int dmfs_call(struct dmfs_sb_info *sbi, u16 op, const void *body, u32 body_len,
	      void *reply, u32 reply_len);
int dmfs_rpc_enqueue(struct dmfs_conn *c,
		     const struct dmfs_lock_enqueue_req *rq,
		     struct dmfs_lock_enqueue_rep *out, void *page,
		     int *page_len);
int dmfs_rpc_plock(struct dmfs_sb_info *sbi, const struct dmfs_plock_req *rq,
		   struct dmfs_plock_rep *out);
int dmfs_send_reply(struct dmfs_conn *c, u16 op, u64 id, s32 status);
int dmfs_send_answer(struct dmfs_conn *c, u16 op, u64 id, s32 status,
		     const void *body, u32 len);

/* lock.c */
struct dmfs_lock *dmfs_lock_get(struct inode *inode, u32 mode, u64 start,
				u64 end);
struct dmfs_lock *dmfs_lock_get_cached(struct inode *inode, u32 mode,
				       u64 start, u64 end);
struct dmfs_lock *dmfs_lock_get_sized(struct inode *inode, u32 mode,
				      u64 start, u64 end);
struct dmfs_lock *dmfs_lock_get_page(struct inode *inode, u32 mode,
				     loff_t pos);
void dmfs_lock_put(struct dmfs_lock *lk);
void dmfs_hold_fault(struct inode *inode, pgoff_t index, bool write,
		     bool served);
bool dmfs_write_fault_begun(struct inode *inode, pgoff_t index);
bool dmfs_store_send_back(struct inode *inode, pgoff_t index);
bool dmfs_store_sent_back(struct inode *inode, pgoff_t index);
void dmfs_lock_revoke_cb(struct dmfs_conn *c, u64 cb_id,
			 const struct dmfs_revoke_cb *cb);
void dmfs_lock_conn_lost(struct dmfs_sb_info *sbi);
void dmfs_lock_drop_inode(struct inode *inode, bool busy_too);
void dmfs_lock_drop_all(struct dmfs_sb_info *sbi);
void dmfs_lock_shrink(struct dmfs_sb_info *sbi);
struct dmfs_conn *dmfs_page_session(struct inode *inode, loff_t pos, u32 mode,
				    u64 *end);
bool dmfs_lock_pw_granted(struct inode *inode);
int dmfs_lock_init(void);
void dmfs_lock_exit(void);

/* inode.c */
extern const struct inode_operations dmfs_dir_iops;
extern const struct inode_operations dmfs_file_iops;
extern const struct file_operations dmfs_dir_fops;
extern const struct dentry_operations dmfs_dentry_ops;
struct inode *dmfs_iget(struct super_block *sb, const struct dmfs_attr *attr);
void dmfs_update_inode(struct inode *inode, const struct dmfs_attr *attr);
void dmfs_apply_server_size(struct inode *inode, const struct dmfs_attr *attr);
void dmfs_release_held_size(struct inode *inode);
int dmfs_fetch_attr(struct inode *inode, struct dmfs_attr *attr);
int dmfs_refresh_attr_sync(struct inode *inode, loff_t *size);
int dmfs_getattr_root(struct dmfs_sb_info *sbi, struct dmfs_attr *attr);

/* file.c */
extern const struct file_operations dmfs_file_fops;
extern const struct address_space_operations dmfs_aops;
void dmfs_open_replay(struct dmfs_sb_info *sbi, struct dmfs_conn *c);
void dmfs_writeback_send(struct inode *inode, loff_t start, loff_t end,
			 struct list_head *sent);
void dmfs_writeback_wait(struct inode *inode, struct list_head *sent);

/* glimpse.c */
void dmfs_note_modified(struct inode *inode);
void dmfs_glimpse_cb(struct dmfs_conn *c, u64 cb_id,
		     const struct dmfs_glimpse_cb *cb);
int dmfs_glimpse_attr(struct inode *inode, struct dmfs_attr *attr);

/* plock.c */
int dmfs_lock(struct file *file, int cmd, struct file_lock *fl);
int dmfs_flock(struct file *file, int cmd, struct file_lock *fl);
int dmfs_plock_check(struct file *file);
void dmfs_plock_replay(struct dmfs_sb_info *sbi, struct dmfs_conn *c);
void dmfs_plock_evict(struct inode *inode);

/* sysfs.c */
int dmfs_sysfs_register(struct dmfs_sb_info *sbi);
void dmfs_sysfs_unregister(struct dmfs_sb_info *sbi);
int dmfs_sysfs_init(void);
void dmfs_sysfs_exit(void);

#endif /* DMFS_H */
