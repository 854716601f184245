// SPDX-License-Identifier: GPL-2.0
/*
 * dmfs: TCP transport. One connection per mount (= per client) at a time.
 *
 * Requests are numbered; a receive kthread reads every message, checks its
 * length against the protocol limits before looking at it, hands replies to
 * their waiters by request id, and queues server callbacks (REVOKE) to the
 * mount's workqueue. Waiters sleep with a timeout. A session is dead once
 * its connection broke, the server evicted it, or the server left a request
 * unanswered for request_timeout: every waiter and every later request of
 * it fails with -EIO at once, and the reconnect worker starts a new one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/utsname.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/net_namespace.h>

#include "dmfs.h"
#include "dmfs_check.h"

/* work on the mount's workqueue: a callback, or a request sent detached */
struct dmfs_cb_work {
	struct work_struct work;
	struct dmfs_conn *conn;     /* the session it belongs to */
	u16 opcode;
	u64 req_id;                 /* a callback's id */
	u64 queued_ns;              /* when the receive thread queued it */
	u32 len;
	union {
		struct dmfs_revoke_cb revoke;
		struct dmfs_glimpse_cb glimpse;
		struct dmfs_lock_cancel_req cancel;
		struct dmfs_close_req close;
		struct dmfs_plock_req plock;
	} body;
};

static void dmfs_req_release(struct kref *ref)
{
	struct dmfs_req *req = container_of(ref, struct dmfs_req, ref);

	kvfree(req->reply);
	kfree(req);
}

/*
 * Send a whole message. Half a message would corrupt the stream, so once
 * the first byte is out the rest goes too, or the session dies: a user
 * task's signals are blocked meanwhile (as cifs does), and SIGKILL, which
 * cannot be, only makes us poll for buffer space. The socket's send timeout
 * (request_timeout) bounds each wait.
 *
 * Return: 0; -ERESTARTSYS when a fatal signal came before the first byte
 * (the stream is intact); -ETIMEDOUT or another error otherwise.
 */
static int dmfs_sock_send(struct socket *sock, struct kvec *vec, int nvec,
			  size_t total)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	long timeo = sock->sk->sk_sndtimeo;
	bool user = !(current->flags & PF_KTHREAD);
	sigset_t all, saved;
	size_t sent = 0;
	int ret = 0;

	if (user) {
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &saved);
	}
	iov_iter_kvec(&msg.msg_iter, WRITE, vec, nvec, total);
	while (sent < total) {
		ret = sock_sendmsg(sock, &msg);
		if (ret > 0) {
			sent += ret;
			ret = 0;
			continue;
		}
		if (ret == -EAGAIN)
			ret = -ETIMEDOUT;
		if ((ret != -EINTR && ret != -ERESTARTSYS) || !sent)
			break;
		/* SIGKILL in the middle of the message: finish it */
		if (timeo <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		timeo -= HZ / 100 - schedule_timeout_uninterruptible(HZ / 100);
	}
	if (user)
		sigprocmask(SIG_SETMASK, &saved, NULL);
	if (ret == -EINTR)
		ret = -ERESTARTSYS;
	return ret;
}

/*
 * Receive exactly @len bytes. The receive thread's socket has no timeout;
 * it ends when dmfs_conn_kill() shuts the socket down. The handshake (in
 * the mounting task or the reconnect worker) is bounded by the socket's
 * receive timeout, ended by a signal to the mounting task, and by umount
 * shutting the socket down (dmfs_kill_sb()).
 */
static int dmfs_sock_recv_iter(struct socket *sock, struct iov_iter *iter)
{
	struct msghdr msg = { .msg_flags = MSG_WAITALL | MSG_NOSIGNAL };
	int ret;

	msg.msg_iter = *iter;
	while (msg_data_left(&msg)) {
		ret = sock_recvmsg(sock, &msg, MSG_WAITALL | MSG_NOSIGNAL);
		if (ret == 0)
			return -ECONNRESET;
		if (ret == -EAGAIN)
			return -ETIMEDOUT;
		if (ret == -ERESTARTSYS)
			return -EINTR;
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int dmfs_sock_recv(struct socket *sock, void *buf, size_t len)
{
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	struct iov_iter iter;

	iov_iter_kvec(&iter, ITER_DEST, &vec, 1, len);
	return dmfs_sock_recv_iter(sock, &iter);
}

/* Mark the session dead, fail every waiter, shut the socket down. */
static void dmfs_conn_kill(struct dmfs_conn *c, int err)
{
	struct dmfs_sb_info *sbi = c->sbi;
	struct dmfs_req *req;
	bool first = false;

	spin_lock(&c->lock);
	if (!c->dead) {
		c->dead = err ?: -EIO;
		first = true;
	}
	list_for_each_entry(req, &c->pending, list) {
		if (!req->done) {
			req->status = -EIO;
			req->done = true;
		}
	}
	spin_unlock(&c->lock);
	wake_up_all(&c->waitq);
	if (c->sock)
		kernel_sock_shutdown(c->sock, SHUT_RDWR);
	if (first && err != -ESHUTDOWN && !READ_ONCE(sbi->closing)) {
		pr_warn("session %llu with %pI4:%u lost (%d): cached data dropped, I/O fails with EIO until a new session\n",
			c->client_id, &sbi->addr.sin_addr,
			ntohs(sbi->addr.sin_port), err);
		queue_work(sbi->wq, &sbi->dead_work);
	}
}

/**
 * dmfs_conn_error() - is the mount's current session usable?
 * @sbi: the mount
 *
 * Return: 0 while the current session is connected, -EIO while there is
 * none or it is dead (until a reconnect installs a new one).
 */
int dmfs_conn_error(struct dmfs_sb_info *sbi)
{
	struct dmfs_conn *c = READ_ONCE(sbi->conn);

	return (!c || READ_ONCE(c->dead)) ? -EIO : 0;
}

/**
 * dmfs_session_live() - is @c the mount's current session, alive?
 * @c: a session (sessions stay allocated until umount)
 *
 * Return: true if requests on @c may still succeed.
 */
bool dmfs_session_live(struct dmfs_conn *c)
{
	return c == READ_ONCE(c->sbi->conn) && !READ_ONCE(c->dead);
}

/* header + body + payload, the vectors for one message */
static int dmfs_msg_vec(struct kvec *vec, struct dmfs_hdr *hdr, u16 op,
			u16 flags, u64 id, s32 status, const void *body,
			u32 body_len, const void *payload, u32 payload_len)
{
	int nvec = 0;

	memset(hdr, 0, sizeof(*hdr));
	hdr->length = cpu_to_le32(sizeof(*hdr) + body_len + payload_len);
	hdr->opcode = cpu_to_le16(op);
	hdr->flags = cpu_to_le16(flags);
	hdr->req_id = cpu_to_le64(id);
	hdr->status = cpu_to_le32((u32)status);
	vec[nvec].iov_base = hdr;
	vec[nvec++].iov_len = sizeof(*hdr);
	if (body_len) {
		vec[nvec].iov_base = (void *)body;
		vec[nvec++].iov_len = body_len;
	}
	if (payload_len) {
		vec[nvec].iov_base = (void *)payload;
		vec[nvec++].iov_len = payload_len;
	}
	return nvec;
}

/*
 * Send one message on a live session. A message that cannot be sent whole
 * kills the session (the stream would be corrupt, or the server takes no
 * data for request_timeout).
 *
 * Return: 0; -ERESTARTSYS when a fatal signal came before the first byte
 * (nothing sent, the session lives); -EIO when the session is dead.
 */
static int dmfs_send_msg(struct dmfs_conn *c, u16 op, u16 flags, u64 id,
			 s32 status, const void *body, u32 body_len,
			 const void *payload, u32 payload_len)
{
	struct dmfs_hdr hdr;
	struct kvec vec[3];
	unsigned int nofs;
	int nvec, err;

	if (sizeof(hdr) + body_len + payload_len > DMFS_MAX_MSG)
		return -EINVAL;
	nvec = dmfs_msg_vec(vec, &hdr, op, flags, id, status, body, body_len,
			    payload, payload_len);
	nofs = memalloc_nofs_save();
	mutex_lock(&c->send_mutex);
	if (READ_ONCE(c->dead))
		err = -EIO;
	else
		err = dmfs_sock_send(c->sock, vec, nvec,
				     le32_to_cpu(hdr.length));
	mutex_unlock(&c->send_mutex);
	memalloc_nofs_restore(nofs);
	if (err == -ERESTARTSYS || err == -EIO || !err)
		return err;
	if (err == -ETIMEDOUT)
		pr_warn("server %pI4:%u took no data for %lus: session %llu declared dead\n",
			&c->sbi->addr.sin_addr, ntohs(c->sbi->addr.sin_port),
			c->sock->sk->sk_sndtimeo / HZ, c->client_id);
	dmfs_conn_kill(c, err);
	return -EIO;
}

/*
 * Register a request in the pending table; the caller sends it. A READ
 * may give @sink, @n pages its data goes to (dmfs_session_read()).
 */
static struct dmfs_req *dmfs_req_alloc(struct dmfs_conn *c, u16 op,
				       struct bio_vec *sink, unsigned int n)
{
	struct dmfs_req *req;

	req = kzalloc(sizeof(*req), GFP_NOFS);
	if (!req)
		return ERR_PTR(-ENOMEM);
	kref_init(&req->ref);
	req->expect_op = op;
	req->sink = sink;
	req->sink_pages = n;
	req->sink_count = -1;
	spin_lock(&c->lock);
	if (c->dead) {
		spin_unlock(&c->lock);
		kfree(req);
		return ERR_PTR(-EIO);
	}
	req->id = ++c->next_id;
	list_add_tail(&req->list, &c->pending);
	spin_unlock(&c->lock);
	return req;
}

/*
 * Unregister: a reply arriving later finds no waiter. While the receive
 * thread writes a READ's data into the request's pages, wait: they are the
 * caller's again only once it is done, which is at the end of the message
 * or when the session dies (killed here if that takes request_timeout).
 */
static void dmfs_req_unlink(struct dmfs_conn *c, struct dmfs_req *req)
{
	long timeout = dmfs_request_timeout ? dmfs_request_timeout * HZ
					    : MAX_SCHEDULE_TIMEOUT;

	spin_lock(&c->lock);
	list_del(&req->list);
	spin_unlock(&c->lock);
	if (!req->sink ||
	    wait_event_timeout(c->waitq, !READ_ONCE(req->filling), timeout))
		return;
	dmfs_conn_kill(c, -ETIMEDOUT);
	wait_event(c->waitq, !READ_ONCE(req->filling));
}

/* unregister and drop the request */
static void dmfs_req_free(struct dmfs_conn *c, struct dmfs_req *req)
{
	dmfs_req_unlink(c, req);
	kref_put(&req->ref, dmfs_req_release);
}

static int dmfs_detach(struct dmfs_conn *c, u16 op, const void *body,
		       u32 len);

/*
 * A grant that came for an enqueue nobody waits for any more: give it back
 * (the server would otherwise wait for its cancel at the next revoke, and
 * evict us).
 */
static void dmfs_req_orphan_grant(struct dmfs_conn *c, struct dmfs_req *req)
{
	struct dmfs_lock_enqueue_rep *rep = req->reply;
	struct dmfs_lock_cancel_req cr = {};

	if (req->expect_op != DMFS_OP_LOCK_ENQUEUE || !req->done ||
	    req->status || req->reply_len < sizeof(*rep))
		return;
	cr.lock_handle = rep->lock_handle;
	dmfs_detach(c, DMFS_OP_LOCK_CANCEL, &cr, sizeof(cr));
}

/*
 * Wait for a request's reply. Killable, not interruptible: a fault or a
 * write-back must not be aborted by an ordinary signal, but kill -9 always
 * works. A request the server leaves unanswered for @timeout_s means the
 * server is stalled: the session is declared dead, once, instead of
 * waiting that long for each of its requests. A lock grant may take longer
 * (@kill_on_timeout false): the caller withdraws the request instead.
 */
static int dmfs_req_wait(struct dmfs_conn *c, struct dmfs_req *req,
			 unsigned int timeout_s, bool kill_on_timeout)
{
	long left;

	left = wait_event_killable_timeout(c->waitq, READ_ONCE(req->done),
					   timeout_s ? timeout_s * HZ
						     : MAX_SCHEDULE_TIMEOUT);
	if (left < 0)
		return -EINTR; /* sent; a fatal signal ended the wait */
	if (left > 0)
		return req->status;
	if (!kill_on_timeout)
		return -ETIMEDOUT;
	pr_warn("server %pI4:%u left request %llu (op %u) unanswered for %us: session %llu declared dead\n",
		&c->sbi->addr.sin_addr, ntohs(c->sbi->addr.sin_port), req->id,
		req->expect_op, timeout_s, c->client_id);
	dmfs_conn_kill(c, -ETIMEDOUT);
	return -EIO;
}

/*
 * Wait for a request sent by dmfs_req_send() and drop it: the reply body
 * (at least @min_reply bytes) goes to *@reply, to be kvfree()d.
 */
static int dmfs_req_finish(struct dmfs_conn *c, struct dmfs_req *req,
			   u32 min_reply, void **reply, u32 *reply_len,
			   unsigned int timeout_s, bool kill_on_timeout)
{
	int err = dmfs_req_wait(c, req, timeout_s, kill_on_timeout);

	*reply = NULL;
	if (!err && req->reply_len < min_reply) {
		pr_warn_ratelimited("short reply op %u: %u < %u bytes\n",
				    req->expect_op, req->reply_len, min_reply);
		err = -EIO;
	}
	if (!err) {
		*reply = req->reply;
		*reply_len = req->reply_len;
		req->reply = NULL;
	}
	dmfs_req_unlink(c, req);
	if (err)
		dmfs_req_orphan_grant(c, req);
	kref_put(&req->ref, dmfs_req_release);
	return err;
}

/* register and send a request; its reply is awaited by dmfs_req_finish() */
static struct dmfs_req *dmfs_req_send(struct dmfs_conn *c, u16 op,
				      const void *body, u32 body_len,
				      const void *payload, u32 payload_len)
{
	struct dmfs_req *req = dmfs_req_alloc(c, op, NULL, 0);
	int err;

	if (IS_ERR(req))
		return req;
	err = dmfs_send_msg(c, op, 0, req->id, 0, body, body_len, payload,
			    payload_len);
	if (!err)
		return req;
	dmfs_req_free(c, req);
	return ERR_PTR(err);
}

static int dmfs_rpc_conn(struct dmfs_conn *c, u16 op, const void *body,
			 u32 body_len, const void *payload, u32 payload_len,
			 u32 min_reply, void **reply, u32 *reply_len,
			 unsigned int timeout_s, u64 *id_out)
{
	struct dmfs_req *req;

	*reply = NULL;
	req = dmfs_req_send(c, op, body, body_len, payload, payload_len);
	if (IS_ERR(req))
		return PTR_ERR(req);
	if (id_out)
		*id_out = req->id;
	return dmfs_req_finish(c, req, min_reply, reply, reply_len, timeout_s,
			       op != DMFS_OP_LOCK_ENQUEUE);
}

/**
 * dmfs_session_send() - send a request on a session, its reply awaited later
 * @c: the session
 * @op: DMFS_OP_* opcode
 * @body: fixed request body
 * @body_len: its size
 * @payload: bytes sent right after @body, or NULL
 * @payload_len: their number
 *
 * The server serves a session's requests in the order they arrive
 * (docs/protocol.md), so a caller may send several before it waits: a
 * revoke's WRITEs and its CANCEL travel together. @body and @payload are
 * the caller's again when this returns. Every request sent must be given
 * to dmfs_session_wait().
 *
 * Return: the request, or an ERR_PTR() as dmfs_session_rpc() returns.
 */
struct dmfs_req *dmfs_session_send(struct dmfs_conn *c, u16 op,
				   const void *body, u32 body_len,
				   const void *payload, u32 payload_len)
{
	if (!c)
		return ERR_PTR(-EIO);
	return dmfs_req_send(c, op, body, body_len, payload, payload_len);
}

/**
 * dmfs_session_wait() - wait for the reply of dmfs_session_send()'s request
 * @c: its session
 * @req: the request, dropped here
 * @min_reply: the shortest reply body accepted (shorter: -EIO)
 * @reply: set to a kvmalloc'd copy of the reply body (kvfree() it)
 * @reply_len: set to its size
 *
 * Return: as dmfs_session_rpc().
 */
int dmfs_session_wait(struct dmfs_conn *c, struct dmfs_req *req,
		      u32 min_reply, void **reply, u32 *reply_len)
{
	return dmfs_req_finish(c, req, min_reply, reply, reply_len,
			       dmfs_request_timeout, true);
}

/**
 * dmfs_session_rpc() - send a request on a session and wait for its reply
 * @c: the session
 * @op: DMFS_OP_* opcode
 * @body: fixed request body
 * @body_len: its size
 * @payload: bytes sent right after @body (a name, WRITE data), or NULL
 * @payload_len: their number
 * @min_reply: the shortest reply body accepted (shorter: -EIO)
 * @reply: set to a kvmalloc'd copy of the reply body, to be freed with
 *	kvfree(); NULL if the body is not wanted
 * @reply_len: set to the reply body's size (may be NULL with @reply)
 *
 * The wait is killable and bounded by request_timeout, after which the
 * session is declared dead.
 *
 * Return: 0, the server's negative errno, -EIO if the session is (now)
 * dead, -ERESTARTSYS if a fatal signal came before the request was sent,
 * -EINTR if it came after.
 */
int dmfs_session_rpc(struct dmfs_conn *c, u16 op, const void *body,
		     u32 body_len, const void *payload, u32 payload_len,
		     u32 min_reply, void **reply, u32 *reply_len)
{
	u32 dummy_len;
	void *dummy;
	int err;

	if (!c)
		return -EIO;
	err = dmfs_rpc_conn(c, op, body, body_len, payload, payload_len,
			    min_reply, reply ? reply : &dummy,
			    reply_len ? reply_len : &dummy_len,
			    dmfs_request_timeout, NULL);
	if (!reply && !err)
		kvfree(dummy);
	return err;
}

/**
 * dmfs_session_read() - READ on a session, the data straight into pages
 * @c: the session
 * @rq: the request, for at most @n pages
 * @pages: where the data goes, a page each (locked by the caller)
 * @n: their number
 *
 * The receive thread puts the data in place as it comes off the socket:
 * no buffer the size of the READ, which was allocated, zeroed
 * (init_on_alloc) and copied once more at every READ, a quarter of a TCG
 * guest's time in sequential mapped reads. Whatever the outcome, nothing
 * writes into @pages any more once this returns.
 *
 * Return: the number of bytes read (fewer at the end of the file: the
 * rest of the pages is left as it was), or an error as dmfs_session_rpc();
 * -EIO for a malformed reply.
 */
int dmfs_session_read(struct dmfs_conn *c, const struct dmfs_read_req *rq,
		      struct bio_vec *pages, unsigned int n)
{
	struct dmfs_req *req;
	int err;

	if (!c)
		return -EIO;
	req = dmfs_req_alloc(c, DMFS_OP_READ, pages, n);
	if (IS_ERR(req))
		return PTR_ERR(req);
	err = dmfs_send_msg(c, DMFS_OP_READ, 0, req->id, 0, rq, sizeof(*rq),
			    NULL, 0);
	if (!err)
		err = dmfs_req_wait(c, req, dmfs_request_timeout, true);
	dmfs_req_unlink(c, req);
	if (!err) /* a success too short to carry a dmfs_read_rep: -1 */
		err = req->sink_count < 0 ? -EIO : req->sink_count;
	kref_put(&req->ref, dmfs_req_release);
	return err;
}

/**
 * dmfs_rpc() - dmfs_session_rpc() on the mount's current session
 * @sbi: the mount
 * @op: DMFS_OP_* opcode
 * @body: fixed request body
 * @body_len: its size
 * @payload: bytes sent right after @body, or NULL
 * @payload_len: their number
 * @min_reply: the shortest reply body accepted
 * @reply: set to a kvmalloc'd copy of the reply body, or NULL
 * @reply_len: set to the reply body's size
 *
 * Return: as dmfs_session_rpc().
 */
int dmfs_rpc(struct dmfs_sb_info *sbi, u16 op, const void *body, u32 body_len,
	     const void *payload, u32 payload_len, u32 min_reply,
	     void **reply, u32 *reply_len)
{
	return dmfs_session_rpc(READ_ONCE(sbi->conn), op, body, body_len,
				payload, payload_len, min_reply, reply,
				reply_len);
}

/**
 * dmfs_session_call() - a request with fixed-size body and reply on a session
 * @c: the session
 * @op: DMFS_OP_* opcode
 * @body: request body, or NULL
 * @body_len: its size
 * @reply: where the reply body is copied, or NULL when none is expected
 * @reply_len: the reply struct's size; a shorter reply is -EIO
 *
 * Return: as dmfs_session_rpc().
 */
int dmfs_session_call(struct dmfs_conn *c, u16 op, const void *body,
		      u32 body_len, void *reply, u32 reply_len)
{
	void *r;
	int err;

	err = dmfs_session_rpc(c, op, body, body_len, NULL, 0, reply_len, &r,
			       NULL);
	if (err)
		return err;
	if (reply)
		memcpy(reply, r, reply_len);
	kvfree(r);
	return 0;
}

/**
 * dmfs_call() - dmfs_session_call() on the mount's current session
 * @sbi: the mount
 * @op: DMFS_OP_* opcode
 * @body: request body, or NULL
 * @body_len: its size
 * @reply: where the reply body is copied, or NULL when none is expected
 * @reply_len: the reply struct's size
 *
 * Return: as dmfs_session_rpc().
 */
int dmfs_call(struct dmfs_sb_info *sbi, u16 op, const void *body, u32 body_len,
	      void *reply, u32 reply_len)
{
	return dmfs_session_call(READ_ONCE(sbi->conn), op, body, body_len,
				 reply, reply_len);
}

/**
 * dmfs_session_release() - a request that gives something back
 * @c: the session that holds it
 * @op: DMFS_OP_LOCK_CANCEL, DMFS_OP_CLOSE or DMFS_OP_PLOCK (unlock)
 * @body: the request body (at most the size of &struct dmfs_plock_req)
 * @len: its size
 *
 * A lock or an open registration the server would keep after the caller
 * gave up on it is a leak every other client pays for (a revoke that ends
 * in our eviction, ETXTBSY, a lock wait that never ends). So a request a
 * fatal signal kept from being sent is sent from the workqueue instead.
 *
 * Return: 0 (sent, or handed to the workqueue), or an error from the
 * server or of the session.
 */
int dmfs_session_release(struct dmfs_conn *c, u16 op, const void *body,
			 u32 len)
{
	int err = dmfs_session_call(c, op, body, len, NULL, 0);

	if (err == -ERESTARTSYS)
		return dmfs_detach(c, op, body, len);
	return err == -EINTR ? 0 : err;
}

/**
 * dmfs_rpc_enqueue() - ask the server for an extent lock
 * @c: the session to ask
 * @rq: the LOCK_ENQUEUE request
 * @out: the grant
 * @page: with DMFS_LKF_WITH_PAGE, a page-sized buffer for the data the
 *	  grant carries, else NULL
 * @page_len: set to the data's length, -1 if the grant carries none
 *
 * Bounded by lock_timeout; an enqueue the caller stops waiting for is
 * withdrawn at the server (LOCK_CANCEL by request id), and a grant that
 * comes anyway is cancelled (dmfs_req_orphan_grant(), dmfs_rx_one()).
 *
 * Return: 0 with @out filled in, or a negative errno.
 */
int dmfs_rpc_enqueue(struct dmfs_conn *c,
		     const struct dmfs_lock_enqueue_req *rq,
		     struct dmfs_lock_enqueue_rep *out, void *page,
		     int *page_len)
{
	struct dmfs_lock_cancel_req cr = {
		.flags = cpu_to_le32(DMFS_LCF_BY_REQID),
	};
	u64 id = 0;
	u32 rlen;
	void *r;
	int err;

	err = dmfs_rpc_conn(c, DMFS_OP_LOCK_ENQUEUE, rq, sizeof(*rq), NULL, 0,
			    sizeof(*out), &r, &rlen, dmfs_lock_timeout, &id);
	if (err == -ETIMEDOUT || err == -EINTR) {
		/* the -ECANCELED reply finds no waiter and is dropped */
		cr.lock_handle = cpu_to_le64(id);
		dmfs_detach(c, DMFS_OP_LOCK_CANCEL, &cr, sizeof(cr));
		return err == -ETIMEDOUT ? -EIO : err;
	}
	if (err)
		return err;
	memcpy(out, r, sizeof(*out));
	*page_len = -1;
	if (page && (le32_to_cpu(out->flags) & DMFS_LGF_PAGE)) {
		if (rlen - sizeof(*out) <= PAGE_SIZE) {
			*page_len = rlen - sizeof(*out);
			memcpy(page, (char *)r + sizeof(*out), *page_len);
		} else {
			pr_warn_ratelimited("grant with %u bytes of data ignored\n",
					    rlen);
		}
	}
	kvfree(r);
	return 0;
}

/*
 * A waiting application lock (F_SETLKW, blocking flock). No time limit: it
 * waits for another application, like a local F_SETLKW, and any signal
 * interrupts it, as it does a local one. Then the wait is withdrawn with
 * LOCK_CANCEL + DMFS_LCF_BY_REQID, and the outcome is awaited, because the
 * server may have set the lock before it saw the cancel. It answers the
 * PLOCK before the cancel, on the same stream: -ECANCELED (withdrawn) or 0
 * (set first). A lock set first is kept and reported as set, as if the
 * signal had come just after it: the caller records it locally, so close()
 * releases it everywhere.
 */
static int dmfs_plock_wait(struct dmfs_conn *c, const struct dmfs_plock_req *rq)
{
	struct dmfs_lock_cancel_req cr = {
		.flags = cpu_to_le32(DMFS_LCF_BY_REQID),
	};
	struct dmfs_req *req;
	int err;

	req = dmfs_req_alloc(c, DMFS_OP_PLOCK, NULL, 0);
	if (IS_ERR(req))
		return PTR_ERR(req);
	err = dmfs_send_msg(c, DMFS_OP_PLOCK, 0, req->id, 0, rq, sizeof(*rq),
			    NULL, 0);
	if (err)
		goto out;
	err = wait_event_interruptible(c->waitq, READ_ONCE(req->done));
	if (err) {
		/* its own reply (-ENOLCK if the lock was set first) is dropped */
		cr.lock_handle = cpu_to_le64(req->id);
		dmfs_detach(c, DMFS_OP_LOCK_CANCEL, &cr, sizeof(cr));
		/* not interruptible: a pending signal would end it at once */
		if (!wait_event_timeout(c->waitq, READ_ONCE(req->done),
					dmfs_request_jiffies())) {
			/* end the session: its locks go with it */
			pr_warn("no answer to a withdrawn lock wait within %us: closing the session\n",
				dmfs_request_timeout);
			dmfs_conn_kill(c, -ETIMEDOUT);
		}
		dmfs_dbg("plock wait %llu interrupted: %s (%d)\n", req->id,
			 req->status ? "withdrawn" : "set first, kept",
			 req->status);
	}
	err = req->status;
	if (err == -ECANCELED)
		err = -ERESTARTSYS; /* EINTR, or restarted (SA_RESTART) */
out:
	dmfs_req_free(c, req);
	return err;
}

/**
 * dmfs_rpc_plock() - an application lock request (PLOCK)
 * @sbi: the mount
 * @rq: the request; with DMFS_PLKF_WAIT see dmfs_plock_wait()
 * @out: the reply body of a DMFS_PLKF_TEST request, else NULL
 *
 * An unlock is always delivered (dmfs_session_release()).
 *
 * Return: 0 (set, removed, or tested), -EAGAIN on a conflict, -ERESTARTSYS
 * for an interrupted wait, or another negative errno.
 */
int dmfs_rpc_plock(struct dmfs_sb_info *sbi, const struct dmfs_plock_req *rq,
		   struct dmfs_plock_rep *out)
{
	struct dmfs_conn *c = READ_ONCE(sbi->conn);

	if (!c)
		return -EIO;
	if (le32_to_cpu(rq->flags) & DMFS_PLKF_WAIT)
		return dmfs_plock_wait(c, rq);
	if (le32_to_cpu(rq->type) == DMFS_PLK_UNLCK)
		return dmfs_session_release(c, DMFS_OP_PLOCK, rq, sizeof(*rq));
	return dmfs_session_call(c, DMFS_OP_PLOCK, rq, sizeof(*rq), out,
				 out ? sizeof(*out) : 0);
}

/**
 * dmfs_send_reply() - answer a server callback
 * @c: the session the callback came on (a dead one drops the answer)
 * @op: the callback's opcode
 * @id: the callback's request id
 * @status: 0 or a negative errno
 *
 * Return: 0 or -EIO.
 */
int dmfs_send_reply(struct dmfs_conn *c, u16 op, u64 id, s32 status)
{
	return dmfs_send_answer(c, op, id, status, NULL, 0);
}

/**
 * dmfs_send_answer() - answer a server callback with a body
 * @c: the session the callback came on (a dead one drops the answer)
 * @op: the callback's opcode
 * @id: the callback's request id
 * @status: 0 or a negative errno
 * @body: the answer's body, or NULL
 * @len: its length
 *
 * Return: 0 or -EIO.
 */
int dmfs_send_answer(struct dmfs_conn *c, u16 op, u64 id, s32 status,
		     const void *body, u32 len)
{
	return dmfs_send_msg(c, op, DMFS_HF_REPLY | DMFS_HF_CALLBACK,
			     id, status, body, len, NULL, 0);
}

static void dmfs_cb_workfn(struct work_struct *work)
{
	struct dmfs_cb_work *w = container_of(work, struct dmfs_cb_work, work);

	/*
	 * Work of a session that has since died or been replaced is stale:
	 * its locks are gone, and its handles may collide with the new
	 * session's.
	 */
	if (!dmfs_session_live(w->conn)) {
		kfree(w);
		return;
	}
	if (w->req_id) {
		atomic64_inc(&w->conn->sbi->stats.callbacks);
		dmfs_stat_add(&w->conn->sbi->stats.callback_queue_ns,
			      w->queued_ns);
	}
	if (w->opcode == DMFS_OP_REVOKE)
		dmfs_lock_revoke_cb(w->conn, w->req_id, &w->body.revoke);
	else if (w->opcode == DMFS_OP_GLIMPSE_CB)
		dmfs_glimpse_cb(w->conn, w->req_id, &w->body.glimpse);
	else
		dmfs_session_call(w->conn, w->opcode, &w->body, w->len, NULL,
				  0);
	kfree(w);
}

static int dmfs_queue_work(struct dmfs_conn *c, u16 op, u64 id,
			   const void *body, u32 len)
{
	struct dmfs_cb_work *w;

	if (WARN_ON_ONCE(len > sizeof(w->body)))
		return -EINVAL;
	w = kzalloc(sizeof(*w), GFP_NOFS);
	if (!w)
		return -ENOMEM;
	INIT_WORK(&w->work, dmfs_cb_workfn);
	w->conn = c;
	w->opcode = op;
	w->req_id = id;
	w->queued_ns = ktime_get_ns();
	w->len = len;
	memcpy(&w->body, body, len);
	queue_work(c->sbi->wq, &w->work);
	return 0;
}

/* send a request from the workqueue, where no signal interrupts it */
static int dmfs_detach(struct dmfs_conn *c, u16 op, const void *body,
		       u32 len)
{
	int err = dmfs_queue_work(c, op, 0, body, len);

	if (err) /* nothing better: the session's locks end with it */
		dmfs_conn_kill(c, err);
	return err;
}

/* Process one received message; a negative return kills the connection. */
static int dmfs_rx_one(struct dmfs_conn *c, const struct dmfs_hdr *hdr,
		       void *body, u32 len)
{
	u16 op = le16_to_cpu(hdr->opcode);
	u64 id = le64_to_cpu(hdr->req_id);
	s32 status = (s32)le32_to_cpu(hdr->status);
	struct dmfs_req *req, *found = NULL;

	switch (dmfs_check_msg(hdr, len)) {
	case DMFS_MSG_REPLY:
		break;
	case DMFS_MSG_REVOKE:
		return dmfs_queue_work(c, op, id, body,
				       sizeof(struct dmfs_revoke_cb));
	case DMFS_MSG_GLIMPSE:
		return dmfs_queue_work(c, op, id, body,
				       sizeof(struct dmfs_glimpse_cb));
	case DMFS_MSG_EVICTED:
		pr_warn("evicted by server %pI4:%u (reason %u)\n",
			&c->sbi->addr.sin_addr, ntohs(c->sbi->addr.sin_port),
			len >= sizeof(struct dmfs_evicted_cb) ?
			le32_to_cpu(((struct dmfs_evicted_cb *)body)->reason) : 0);
		return -ECONNRESET;
	default:
		return -EPROTO;
	}

	spin_lock(&c->lock);
	list_for_each_entry(req, &c->pending, list) {
		if (req->id == id && !req->done) {
			found = req;
			break;
		}
	}
	if (found) {
		if (op != found->expect_op) {
			spin_unlock(&c->lock);
			return -EPROTO;
		}
		found->status = status;
		if (status == 0) {
			found->reply = body;
			found->reply_len = len;
			body = NULL;
		}
		WRITE_ONCE(found->done, true);
	}
	spin_unlock(&c->lock);
	if (found) {
		wake_up_all(&c->waitq);
	} else if (op == DMFS_OP_LOCK_ENQUEUE && status == 0 &&
		   len >= sizeof(struct dmfs_lock_enqueue_rep)) {
		/* a grant nobody waits for any more: cancel it */
		struct dmfs_lock_cancel_req cr = {
			.lock_handle =
			    ((struct dmfs_lock_enqueue_rep *)body)->lock_handle,
		};

		dmfs_detach(c, DMFS_OP_LOCK_CANCEL, &cr, sizeof(cr));
	}
	kvfree(body);
	return 0;
}

/* the request a READ reply is for, if it gave pages; marked as filling */
static struct dmfs_req *dmfs_rx_sink_req(struct dmfs_conn *c, u64 id)
{
	struct dmfs_req *req;

	spin_lock(&c->lock);
	list_for_each_entry(req, &c->pending, list) {
		if (req->id == id && !req->done && req->sink) {
			req->filling = true;
			spin_unlock(&c->lock);
			return req;
		}
	}
	spin_unlock(&c->lock);
	return NULL;
}

/*
 * A READ reply for dmfs_session_read(): the data goes from the socket into
 * the request's pages. A count the length contradicts fails the request
 * (the data is dropped, the stream stays in step).
 *
 * Return: 1 if it was one (received), 0 if not (the caller receives the
 * message), or a negative errno that ends the connection.
 */
static int dmfs_rx_read_sink(struct dmfs_conn *c, const struct dmfs_hdr *hdr,
			     u32 len)
{
	struct dmfs_read_rep rep;
	struct dmfs_req *req;
	struct iov_iter iter;
	int count, err;

	if (dmfs_check_msg(hdr, len) != DMFS_MSG_REPLY ||
	    le16_to_cpu(hdr->opcode) != DMFS_OP_READ || hdr->status ||
	    len < sizeof(rep))
		return 0;
	req = dmfs_rx_sink_req(c, le64_to_cpu(hdr->req_id));
	if (!req)
		return 0;
	err = dmfs_sock_recv(c->sock, &rep, sizeof(rep));
	count = err ? err : dmfs_check_read(&rep, len,
					    req->sink_pages * PAGE_SIZE);
	if (count >= 0) {
		iov_iter_bvec(&iter, ITER_DEST, req->sink, req->sink_pages,
			      count);
	} else if (!err) {
		pr_warn_ratelimited("malformed READ reply (%u bytes)\n", len);
		iov_iter_discard(&iter, ITER_DEST, len - sizeof(rep));
	}
	if (!err)
		err = dmfs_sock_recv_iter(c->sock, &iter);
	spin_lock(&c->lock);
	if (!err && !req->done) {
		req->status = count < 0 ? -EIO : 0;
		req->sink_count = count;
		WRITE_ONCE(req->done, true);
	}
	req->filling = false;
	spin_unlock(&c->lock);
	wake_up_all(&c->waitq);
	return err ? err : 1;
}

static int dmfs_rx_thread(void *data)
{
	struct dmfs_conn *c = data;
	struct dmfs_hdr hdr;
	unsigned int nofs = memalloc_nofs_save();
	void *body;
	u32 len;
	int err;

	for (;;) {
		err = dmfs_sock_recv(c->sock, &hdr, sizeof(hdr));
		if (err)
			break;
		err = dmfs_check_length(&hdr, &len);
		if (err) {
			pr_warn("bad message length %u from server\n",
				le32_to_cpu(hdr.length));
			break;
		}
		err = dmfs_rx_read_sink(c, &hdr, len);
		if (err > 0)
			continue;
		if (err < 0)
			break;
		body = NULL;
		if (len) {
			body = kvmalloc(len, GFP_KERNEL);
			if (!body) {
				err = -ENOMEM;
				break;
			}
			err = dmfs_sock_recv(c->sock, body, len);
			if (err) {
				kvfree(body);
				break;
			}
		}
		err = dmfs_rx_one(c, &hdr, body, len);
		if (err) {
			if (err == -EPROTO)
				pr_warn("protocol violation by server (op %u flags %#x len %u)\n",
					le16_to_cpu(hdr.opcode),
					le16_to_cpu(hdr.flags), len);
			break;
		}
	}
	memalloc_nofs_restore(nofs);
	dmfs_conn_kill(c, err);
	/* wait to be reaped by dmfs_conn_shutdown() */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static void dmfs_auth_keys(const struct dmfs_sb_info *sbi, siphash_key_t *k)
{
	siphash_key_t kdf0 = { .key = { DMFS_KDF_K0, DMFS_KDF_K1 } };
	siphash_key_t kdf1 = { .key = { DMFS_KDF_K1, DMFS_KDF_K0 } };

	k->key[0] = siphash(sbi->secret, sbi->secret_len, &kdf0);
	k->key[1] = siphash(sbi->secret, sbi->secret_len, &kdf1);
}

static u64 dmfs_auth_proof(const siphash_key_t *k, const char *label,
			   const u8 *n1, const u8 *n2)
{
	u8 m[8 + 2 * DMFS_NONCE_LEN];

	memcpy(m, label, 8);
	memcpy(m + 8, n1, DMFS_NONCE_LEN);
	memcpy(m + 8 + DMFS_NONCE_LEN, n2, DMFS_NONCE_LEN);
	return siphash(m, sizeof(m), k);
}

/*
 * A synchronous exchange of the handshake (no receive thread yet): bounded
 * by the socket's timeouts, ended by a signal to the mounting task or by
 * umount (dmfs_conn_stop_connecting()).
 */
static int dmfs_hs_call(struct dmfs_conn *c, u16 op, const void *body,
			u32 blen, void *rep, u32 rlen, s32 *status)
{
	struct dmfs_hdr hdr;
	struct kvec vec[2];
	int nvec, err;
	u32 len;
	void *buf;

	nvec = dmfs_msg_vec(vec, &hdr, op, 0, ++c->next_id, 0, body, blen,
			    NULL, 0);
	err = dmfs_sock_send(c->sock, vec, nvec, le32_to_cpu(hdr.length));
	if (err)
		return err == -ERESTARTSYS ? -EINTR : err;
	err = dmfs_sock_recv(c->sock, &hdr, sizeof(hdr));
	if (err)
		return err;
	len = le32_to_cpu(hdr.length);
	if (len < sizeof(hdr) || len > DMFS_PAGE_SIZE ||
	    le16_to_cpu(hdr.opcode) != op ||
	    !(le16_to_cpu(hdr.flags) & DMFS_HF_REPLY) ||
	    le64_to_cpu(hdr.req_id) != c->next_id)
		return -EPROTO;
	len -= sizeof(hdr);
	buf = kzalloc(len + 1, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = dmfs_sock_recv(c->sock, buf, len);
	if (!err) {
		*status = (s32)le32_to_cpu(hdr.status);
		memset(rep, 0, rlen);
		if (len < rlen && *status == 0)
			err = -EPROTO;
		else
			memcpy(rep, buf, min(len, rlen));
	}
	kfree(buf);
	return err;
}

/*
 * Pages one READ or WRITE of a session may carry: the server's max_io (the
 * protocol allows any multiple of the page size up to DMFS_MAX_IO), within
 * its max_msg, within ours; at least one.
 */
static unsigned int dmfs_io_pages(const struct dmfs_hello_rep *hr)
{
	u32 io = min_t(u32, le32_to_cpu(hr->max_io), DMFS_MAX_IO);
	u32 msg = le32_to_cpu(hr->max_msg);

	if (msg < DMFS_PAGE_SIZE * 2)
		return 1;
	io = min(io, msg - DMFS_PAGE_SIZE);
	return max(io / (u32)PAGE_SIZE, 1U);
}

static int dmfs_handshake(struct dmfs_sb_info *sbi, struct dmfs_conn *c)
{
	struct dmfs_hello_req hq;
	struct dmfs_hello_rep hr;
	s32 status;
	int err;

	memset(&hq, 0, sizeof(hq));
	hq.magic = cpu_to_le32(DMFS_MAGIC);
	hq.version_min = cpu_to_le16(DMFS_PROTO_VERSION_MIN);
	hq.version_max = cpu_to_le16(DMFS_PROTO_VERSION);
	hq.flags = cpu_to_le32(DMFS_HELLO_ANSWERS_GLIMPSE);
	hq.prev_client_id = cpu_to_le64(sbi->prev_client_id);
	get_random_bytes(hq.client_nonce, sizeof(hq.client_nonce));
	snprintf(hq.client_name, sizeof(hq.client_name), "dmfs-%.20s",
		 utsname()->nodename);
	err = dmfs_hs_call(c, DMFS_OP_HELLO, &hq, sizeof(hq), &hr, sizeof(hr),
			   &status);
	if (err)
		return err;
	if (le32_to_cpu(hr.magic) != DMFS_MAGIC) {
		pr_err("server is not a dmfs server (bad magic)\n");
		return -EPROTO;
	}
	if (status) {
		pr_err("HELLO refused (%d), server speaks %u..%u, we %u..%u\n",
		       status, le16_to_cpu(hr.version_min),
		       le16_to_cpu(hr.version_max), DMFS_PROTO_VERSION_MIN,
		       DMFS_PROTO_VERSION);
		return status < 0 && status >= -4095 ? status : -EPROTO;
	}
	if (le16_to_cpu(hr.version) < DMFS_PROTO_VERSION_MIN ||
	    le16_to_cpu(hr.version) > DMFS_PROTO_VERSION ||
	    !le64_to_cpu(hr.root_id))
		return -EPROTO;
	c->grant_pages = le32_to_cpu(hr.flags) & DMFS_HELLO_GRANT_PAGES;
	c->io_pages = dmfs_io_pages(&hr);
	if (le32_to_cpu(hr.flags) & DMFS_HELLO_AUTH_REQUIRED) {
		struct dmfs_auth_req aq;
		struct dmfs_auth_rep ar;
		siphash_key_t k;
		u64 proof;

		if (!sbi->secret) {
			pr_err("server requires a secret (mount -o secret=FILE)\n");
			return -EACCES;
		}
		dmfs_auth_keys(sbi, &k);
		proof = dmfs_auth_proof(&k, "dmfs-cli", hq.client_nonce,
					hr.server_nonce);
		aq.client_proof = cpu_to_le64(proof);
		err = dmfs_hs_call(c, DMFS_OP_AUTH, &aq, sizeof(aq), &ar,
				   sizeof(ar), &status);
		if (err)
			return err;
		if (status) {
			pr_err("authentication refused (%d)\n", status);
			return -EACCES;
		}
		if (le64_to_cpu(ar.server_proof) !=
		    dmfs_auth_proof(&k, "dmfs-srv", hr.server_nonce,
				    hq.client_nonce)) {
			pr_err("server failed to prove the shared secret\n");
			return -EACCES;
		}
		memzero_explicit(&k, sizeof(k));
	}
	c->client_id = le64_to_cpu(hr.client_id);
	sbi->root_id = le64_to_cpu(hr.root_id);
	if (sbi->server_boot_id && sbi->server_boot_id != le64_to_cpu(hr.server_boot_id))
		pr_warn("server restarted since the last session\n");
	sbi->server_boot_id = le64_to_cpu(hr.server_boot_id);
	return 0;
}

/*
 * The socket a connect or handshake runs on, so that umount can end it
 * (dmfs_conn_stop_connecting()); none once the mount is closing.
 */
static bool dmfs_set_connecting(struct dmfs_sb_info *sbi, struct socket *sock)
{
	bool ok;

	mutex_lock(&sbi->connect_mutex);
	ok = !sock || !sbi->closing;
	sbi->connecting = ok ? sock : NULL;
	mutex_unlock(&sbi->connect_mutex);
	return ok;
}

/**
 * dmfs_conn_stop_connecting() - umount: no new session from now on
 * @sbi: the mount
 *
 * Sets sbi->closing and ends a connect or handshake in progress (the
 * reconnect worker's), so that the worker returns promptly.
 */
void dmfs_conn_stop_connecting(struct dmfs_sb_info *sbi)
{
	mutex_lock(&sbi->connect_mutex);
	WRITE_ONCE(sbi->closing, true);
	if (sbi->connecting)
		kernel_sock_shutdown(sbi->connecting, SHUT_RDWR);
	mutex_unlock(&sbi->connect_mutex);
}

static struct dmfs_conn *dmfs_conn_create(struct dmfs_sb_info *sbi)
{
	struct dmfs_conn *c;
	int err;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&c->old_list);
	c->sbi = sbi;
	mutex_init(&c->send_mutex);
	spin_lock_init(&c->lock);
	INIT_LIST_HEAD(&c->pending);
	init_waitqueue_head(&c->waitq);

	/* kernel sockets do not pin a namespace: always use init_net */
	err = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &c->sock);
	if (err)
		goto out_free;
	c->sock->sk->sk_allocation = GFP_NOFS;
	c->sock->sk->sk_sndtimeo = dmfs_request_jiffies();
	c->sock->sk->sk_rcvtimeo = dmfs_request_jiffies(); /* handshake */
	tcp_sock_set_nodelay(c->sock->sk);
	if (!dmfs_set_connecting(sbi, c->sock)) {
		err = -ESHUTDOWN;
		goto out_sock;
	}
	err = kernel_connect(c->sock, (struct sockaddr *)&sbi->addr,
			     sizeof(sbi->addr), 0);
	if (!err)
		err = dmfs_handshake(sbi, c);
	dmfs_set_connecting(sbi, NULL);
	if (err == -ERESTARTSYS)
		err = -EINTR;
	if (err)
		goto out_sock;
	c->sock->sk->sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT;
	c->rx_task = kthread_run(dmfs_rx_thread, c, "dmfs_rx/%llu",
				 c->client_id);
	if (IS_ERR(c->rx_task)) {
		err = PTR_ERR(c->rx_task);
		goto out_sock;
	}
	get_task_struct(c->rx_task);
	sbi->prev_client_id = c->client_id;
	pr_info("connected to %pI4:%u as client %llu\n",
		&sbi->addr.sin_addr, ntohs(sbi->addr.sin_port), c->client_id);
	return c;

out_sock:
	sock_release(c->sock);
out_free:
	kfree(c);
	return ERR_PTR(err);
}

/**
 * dmfs_conn_open() - connect the mount's first session
 * @sbi: the mount (mount time: no other user yet)
 *
 * Return: 0, or a negative errno from the connect or the handshake
 * (-ETIMEDOUT: no answer within request_timeout; -EINTR: a signal).
 */
int dmfs_conn_open(struct dmfs_sb_info *sbi)
{
	struct dmfs_conn *c = dmfs_conn_create(sbi);

	if (IS_ERR(c))
		return PTR_ERR(c);
	c->gen = sbi->generation;
	sbi->conn = c;
	return 0;
}

/**
 * dmfs_conn_reconnect() - replace a dead session by a new one
 * @sbi: the mount; dmfs_lock_conn_lost() has dropped every lock and cached
 *	page of the old session
 *
 * Handshakes again as a new client (HLD recovery). Runs only on the
 * reconnect work item, so there is one writer of sbi->conn; the old session
 * is kept, dead, until umount because other threads may still hold its
 * pointer. What the old session held is not set again here: the caller
 * replays open registrations and application locks on the new session
 * (dmfs_open_replay(), dmfs_plock_replay()) while sbi->replaying holds
 * lock requests back.
 *
 * Return: 0 (also when the current session is alive), or a negative errno.
 */
int dmfs_conn_reconnect(struct dmfs_sb_info *sbi)
{
	struct dmfs_conn *old = sbi->conn, *c;

	if (old && !READ_ONCE(old->dead))
		return 0;
	c = dmfs_conn_create(sbi);
	if (IS_ERR(c))
		return PTR_ERR(c);
	c->gen = sbi->generation + 1;
	WRITE_ONCE(sbi->generation, c->gen);
	if (old)
		list_add_tail(&old->old_list, &sbi->old_conns);
	WRITE_ONCE(sbi->replaying, true); /* until super.c has replayed */
	WRITE_ONCE(sbi->conn, c);
	wake_up_all(&c->waitq);
	return 0;
}

static void dmfs_conn_stop(struct dmfs_conn *c)
{
	dmfs_conn_kill(c, -ESHUTDOWN);
	if (c->rx_task) {
		kthread_stop(c->rx_task);
		put_task_struct(c->rx_task);
		c->rx_task = NULL;
	}
}

/**
 * dmfs_conn_shutdown() - umount: say BYE, end every session's receive thread
 * @sbi: the mount; no request runs any more, no lock is left
 *
 * After this no callback is queued to the mount's workqueue.
 */
void dmfs_conn_shutdown(struct dmfs_sb_info *sbi)
{
	struct dmfs_conn *c = sbi->conn;
	void *r;
	u32 rlen;

	if (c && !READ_ONCE(c->dead) &&
	    !dmfs_rpc_conn(c, DMFS_OP_BYE, NULL, 0, NULL, 0, 0, &r, &rlen, 5,
			   NULL))
		kvfree(r);
	if (c)
		dmfs_conn_stop(c);
	list_for_each_entry(c, &sbi->old_conns, old_list)
		dmfs_conn_stop(c);
}

/**
 * dmfs_conn_free_all() - free every session of the mount
 * @sbi: the mount, after dmfs_conn_shutdown() and after its workqueue,
 *	whose work items point to sessions, is destroyed
 */
void dmfs_conn_free_all(struct dmfs_sb_info *sbi)
{
	struct dmfs_conn *c;

	if (sbi->conn)
		list_add(&sbi->conn->old_list, &sbi->old_conns);
	sbi->conn = NULL;
	while (!list_empty(&sbi->old_conns)) {
		c = list_first_entry(&sbi->old_conns, struct dmfs_conn,
				     old_list);
		list_del(&c->old_list);
		sock_release(c->sock);
		WARN_ON(!list_empty(&c->pending));
		kfree(c);
	}
}
