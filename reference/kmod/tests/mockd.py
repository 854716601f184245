#!/usr/bin/env python3
"""Minimal dmfs protocol server for kernel-client development tests.

NOT dmfsd: a small independent implementation of docs/protocol.md (no auth,
no durability guarantees, no eviction timer) so the kernel client can be
exercised before/independently of dmfsd. Backing store: a directory.
usage: mockd.py ROOT PORT
Misbehaviour on demand, for the client's fault tests: MOCKD_BAD_GRANTS=N
makes the first N lock grants answer with the other mode (a grant that does
not answer the request); every LOCK_CANCEL is logged on stderr as
"cancel HANDLE STATUS". MOCKD_BAD_READS=N makes the first N READ replies
announce one data byte more than they carry (logged as "bad read").
"""
import asyncio, os, struct, sys, stat, itertools

HDR = struct.Struct('<IHHQiI')
ATTR = struct.Struct('<QQQQqqqIIIIIIIIII')
MAGIC = 0x53464d44
EOF = 0xffffffffffffffff
HF_REPLY, HF_CALLBACK = 1, 2
PR, PW = 1, 2
root = sys.argv[1]
ids = {}            # file_id -> path
versions = {}       # file_id -> data version
handles = itertools.count(1)
boot = int.from_bytes(os.urandom(8), 'little')
bad_grants = int(os.environ.get('MOCKD_BAD_GRANTS', '0'))
bad_reads = int(os.environ.get('MOCKD_BAD_READS', '0'))


def fid_of(path):
    st = os.lstat(path)
    ids[st.st_ino] = path
    return st.st_ino


def attr(path):
    st = os.lstat(path)
    ids[st.st_ino] = path
    v = versions.setdefault(st.st_ino, 1)
    return ATTR.pack(st.st_ino, st.st_size, st.st_blocks, v, int(st.st_atime),
                     int(st.st_mtime), int(st.st_ctime), st.st_atime_ns % 10**9,
                     st.st_mtime_ns % 10**9, st.st_ctime_ns % 10**9, st.st_mode,
                     st.st_nlink, st.st_uid, st.st_gid, 0, 0, 4096)


class Lock:
    def __init__(self, cl, fid, s, e, mode):
        self.cl, self.fid, self.s, self.e, self.mode = cl, fid, s, e, mode
        self.h = next(handles)
        self.revoking = False


granted = {}   # fid -> [Lock]
waiting = {}   # fid -> [(cl, reqid, s, e, mode)]


def conflicts(a_s, a_e, a_mode, b):
    return a_s < b.e and b.s < a_e and (a_mode == PW or b.mode == PW)


def scan(fid):
    global bad_grants
    q = waiting.get(fid, [])
    i = 0
    while i < len(q):
        cl, rid, s, e, mode = q[i]
        blockers = [l for l in granted.get(fid, []) if conflicts(s, e, mode, l)]
        ahead = [w for w in q[:i] if w[2] < e and s < w[3] and (mode == PW or w[4] == PW)]
        if not blockers and not ahead:
            q.pop(i)
            gs, ge = s, e
            others = granted.get(fid, []) + [Lock(*w[:1], fid, w[2], w[3], w[4]) for w in q]
            if not any(conflicts(0, EOF, mode, l) for l in others):
                gs, ge = 0, EOF
            l = Lock(cl, fid, gs, ge, mode)
            granted.setdefault(fid, []).append(l)
            cl.locks[l.h] = l
            a = attr(ids[fid])
            sent_mode = mode
            if bad_grants > 0:
                bad_grants -= 1
                sent_mode = PR + PW - mode
                print(f'bad grant {l.h}', file=sys.stderr, flush=True)
            cl.send(19, HF_REPLY, rid, 0,
                    struct.pack('<QQQII', l.h, gs, ge, sent_mode, 0) + a)
            continue
        for l in blockers:
            if not l.revoking:
                l.revoking = True
                l.cl.send(64, HF_CALLBACK, next(handles), 0,
                          struct.pack('<QQQQQQIIII', l.h, fid, l.s, l.e, s, e,
                                      l.mode, mode, 0, 0))
        i += 1


def drop_lock(l):
    granted[l.fid].remove(l)
    l.cl.locks.pop(l.h, None)
    scan(l.fid)


class Client:
    def __init__(self, w):
        self.w, self.locks = w, {}

    def send(self, op, flags, rid, status, body=b''):
        self.w.write(HDR.pack(HDR.size + len(body), op, flags, rid, status, 0) + body)


def name_at(body, off, n):
    nm = body[off:off + n].decode()
    if '/' in nm or nm in ('.', '..') or not nm:
        raise OSError(22, 'bad name')
    return nm


def handle(cl, op, rid, body):
    if op == 1:
        rep = struct.pack('<IHHHHIIIIIQQQ', MAGIC, 1, 1, 1, 0, 0, 1 << 20 | 4096,
                          1 << 20, 30000, 0, id(cl) & 0xffffffff, boot,
                          fid_of(root)) + bytes(16)
        return rep
    if op == 3:
        return b''
    if op == 4:
        s = os.statvfs(root)
        return struct.pack('<QQQQQII', s.f_blocks, s.f_bfree, s.f_bavail,
                           s.f_files, s.f_ffree, s.f_bsize, 255)
    if op in (5, 10, 11):
        pid, n = struct.unpack_from('<QH', body)
        p = os.path.join(ids[pid], name_at(body, 16, n))
        if op == 5:
            return attr(p)
        if op == 10:
            os.unlink(p)
        else:
            os.rmdir(p)
        return b''
    if op == 6:
        (fid,) = struct.unpack_from('<Q', body)
        return attr(ids[fid])
    if op == 7:
        fid, valid, mode, uid, gid, size = struct.unpack_from('<QIIIIQ', body)
        p = ids[fid]
        if valid & 8:
            os.truncate(p, size)
            versions[fid] = versions.get(fid, 1) + 1
        if valid & 1:
            os.chmod(p, mode & 0o7777)
        return attr(p)
    if op in (8, 9):
        pid, mode, uid, gid, flags, n = struct.unpack_from('<QIIIIH', body)
        p = os.path.join(ids[pid], name_at(body, 32, n))
        if op == 9:
            os.mkdir(p, mode & 0o7777)
        else:
            fl = os.O_CREAT | os.O_WRONLY | (os.O_EXCL if flags & 1 else 0)
            os.close(os.open(p, fl, mode & 0o7777))
        return attr(p)
    if op == 12:
        op_, np_, flags, on, nn = struct.unpack_from('<QQIHH', body)
        a = os.path.join(ids[op_], name_at(body, 24, on))
        b = os.path.join(ids[np_], name_at(body, 24 + on, nn))
        if flags & 1 and os.path.lexists(b):
            raise OSError(17, 'exists')
        os.rename(a, b)
        return b''
    if op == 13:
        did, cookie, maxb = struct.unpack_from('<QQI', body)
        names = sorted(os.listdir(ids[did]))
        out, cnt = b'', 0
        for i in range(cookie, len(names)):
            nm = names[i].encode()
            p = os.path.join(ids[did], names[i])
            st = os.lstat(p)
            ids[st.st_ino] = p
            t = 4 if stat.S_ISDIR(st.st_mode) else 8
            rec = struct.pack('<QQBBHI', st.st_ino, i + 1, t, 0, len(nm), 0) + nm
            rec += bytes((-len(rec)) % 8)
            if len(out) + len(rec) > maxb and cnt:
                return struct.pack('<II', cnt, 0) + out
            out += rec
            cnt += 1
        return struct.pack('<II', cnt, 1) + out
    if op == 14:
        fid, flags = struct.unpack_from('<QI', body)
        return struct.pack('<Q', next(handles)) + attr(ids[fid])
    if op == 15 or op == 18 or op == 21:
        return b''
    if op == 16:
        fid, off, ln = struct.unpack_from('<QQI', body)
        with open(ids[fid], 'rb') as f:
            f.seek(off)
            data = f.read(ln)
        st = os.stat(ids[fid])
        count = len(data)
        global bad_reads
        if bad_reads > 0:
            bad_reads -= 1
            count += 1
            print('bad read', file=sys.stderr, flush=True)
        return struct.pack('<QQII', st.st_size, versions.setdefault(fid, 1),
                           count, 0) + data
    if op == 17:
        fid, off, ln, fl = struct.unpack_from('<QQII', body)
        with open(ids[fid], 'r+b') as f:
            f.seek(off)
            f.write(body[24:24 + ln])
        versions[fid] = versions.get(fid, 1) + 1
        return struct.pack('<QQ', os.stat(ids[fid]).st_size, versions[fid])
    if op == 19:
        fid, s, e, mode, fl = struct.unpack_from('<QQQII', body)
        if fid not in ids:
            raise OSError(116, 'stale')
        waiting.setdefault(fid, []).append((cl, rid, s, e, mode))
        scan(fid)
        return None
    if op == 20:
        h, fl = struct.unpack_from('<QI', body)
        l = cl.locks.get(h)
        print(f'cancel {h} {"ok" if l else "nolck"}', file=sys.stderr,
              flush=True)
        if not l:
            raise OSError(37, 'nolck')
        drop_lock(l)
        return b''
    raise OSError(95, 'unknown opcode')  # docs/protocol.md: -EOPNOTSUPP


async def serve(r, w):
    cl = Client(w)
    try:
        while True:
            h = await r.readexactly(HDR.size)
            ln, op, flags, rid, st, _ = HDR.unpack(h)
            body = await r.readexactly(ln - HDR.size)
            if flags & HF_CALLBACK:
                continue  # revoke acks
            try:
                rep = handle(cl, op, rid, body)
                if rep is not None:
                    cl.send(op, HF_REPLY, rid, 0, rep)
            except OSError as e:
                cl.send(op, HF_REPLY, rid, -(e.errno or 5))
            except (KeyError, struct.error):
                cl.send(op, HF_REPLY, rid, -116)
            if op == 21:
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    for l in list(cl.locks.values()):
        drop_lock(l)
    for fid, q in waiting.items():
        q[:] = [x for x in q if x[0] is not cl]
        scan(fid)
    w.close()


async def main():
    srv = await asyncio.start_server(serve, '127.0.0.1', int(sys.argv[2]))
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
